import type { S3Drop } from './s3Drop';

/**
 * How the task body names the uploaded ZIP in `file-path`: the S3 key (what Whilter documents),
 * `s3://bucket/key`, or the object's https URL at the drop's endpoint. The same forms name a task's
 * results file in the status answer, where each is read back.
 */
export type FilePathForm = 'key' | 's3' | 'https';

export const FILE_PATH_FORMS: readonly FilePathForm[] = ['key', 's3', 'https'];

function encodedKey(key: string): string {
	return key.split('/').map(encodeURIComponent).join('/');
}

/** The two URL bases of the drop's bucket: path-style (`<endpoint>/<bucket>/`) and virtual-hosted (`<bucket>.<host>/`). */
function bucketBases(drop: Pick<S3Drop, 'bucket' | 'region' | 'endpoint'>): { path: string; virtual: string } {
	const endpoint = new URL(drop.endpoint ?? `https://s3.${drop.region}.amazonaws.com`);
	const basePath = endpoint.pathname.replace(/\/+$/, '');
	const port = endpoint.port ? `:${endpoint.port}` : '';
	return {
		path: `${endpoint.protocol}//${endpoint.hostname}${port}${basePath}/${encodeURIComponent(drop.bucket)}/`,
		virtual: `${endpoint.protocol}//${drop.bucket}.${endpoint.hostname}${port}${basePath}/`,
	};
}

/** The object's URL: path-style when the credential's Force Path Style is on, virtual-hosted otherwise (as the S3 client addresses it). */
export function objectUrl(drop: Pick<S3Drop, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle'>, key: string): string {
	const bases = bucketBases(drop);
	return `${drop.forcePathStyle ? bases.path : bases.virtual}${encodedKey(key)}`;
}

/** The key of a URL in the drop's bucket (either style), or undefined for any other URL. */
export function dropKeyOfUrl(drop: Pick<S3Drop, 'bucket' | 'region' | 'endpoint'>, url: string): string | undefined {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return undefined;
	}
	if (parsed.search || parsed.username || parsed.password) return undefined;
	const address = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
	for (const base of Object.values(bucketBases(drop))) {
		if (!address.toLowerCase().startsWith(base.toLowerCase())) continue;
		try {
			const key = address.slice(base.length).split('/').map(decodeURIComponent).join('/');
			return key || undefined;
		} catch {
			return undefined;
		}
	}
	return undefined;
}

/** The uploaded ZIP's `file-path` in the form asked for. */
export function taskFilePath(drop: S3Drop, key: string, form: FilePathForm): string {
	if (form === 's3') return `s3://${drop.bucket}/${key}`;
	if (form === 'https') return objectUrl(drop, key);
	return key;
}
