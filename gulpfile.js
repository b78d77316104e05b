// After tsc: copy what n8n loads beside the compiled nodes (icons and codex files) into dist/.
const { src, dest, parallel } = require('gulp');

function copyIcons() {
	return src('icons/**/*.svg', { encoding: false }).pipe(dest('dist/icons'));
}

function copyCodex() {
	return src('nodes/**/*.node.json').pipe(dest('dist/nodes'));
}

// The package's main file: npm always packs "main", so it lives in dist/ with the rest.
function copyIndex() {
	return src('index.js').pipe(dest('dist'));
}

exports.default = parallel(copyIcons, copyCodex, copyIndex);
exports['build:assets'] = exports.default;
