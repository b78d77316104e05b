import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * A CSV file (`phone,blob`) of random hex, which compresses to about half: the default 120 000 rows
 * (24 MB) make a ZIP of two 5 MiB parts and a tail, so Whilter Batch uploads it as a multipart upload.
 */
export async function writeRandomCsv(dir: string, rows = 120_000): Promise<string> {
	const path = join(dir, `random-${rows}.csv`);
	const out = createWriteStream(path);
	out.write('phone,blob\n');
	for (let i = 0; i < rows; i++) {
		if (!out.write(`${i},${randomBytes(100).toString('hex')}\n`)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	return path;
}
