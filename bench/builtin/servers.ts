/**
 * The S3 server and the Whilter contract server of the built-in comparison, in a child process of
 * their own so their memory is not counted with n8n's. `startServers()` spawns this file, which
 * prints one JSON line with the addresses and stops when its standard input closes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { serveUntilStdinEnds, startServerProcess } from '../lib/processes';
import { BUCKET, CLIENT, CLIENT_ID, CLIENT_SECRET } from './config';

export interface ServerAddresses {
	/** What n8n uploads to (s3rver behind the S3 proxy and the ListParts shim). */
	s3Endpoint: string;
	/** The S3 server itself (its Signature V4 front, with the keys below), not the shim: for reading the ZIPs back. */
	s3Direct: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	whilter: string;
}

const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function listPartsXml(bucket: string, key: string, uploadId: string, listed: Array<[number, string]>): string {
	return (
		'<?xml version="1.0" encoding="UTF-8"?>' +
		`<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket)}</Bucket><Key>${xml(key)}</Key>` +
		`<UploadId>${xml(uploadId)}</UploadId><IsTruncated>false</IsTruncated>` +
		listed.map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${xml(etag)}</ETag></Part>`).join('') +
		'</ListPartsResult>'
	);
}

/**
 * n8n's AWS S3 node uploads a file it holds on disk (n8n 2.x's default binary data mode) as a
 * multipart upload and asks ListParts for the ETags before completing it. s3rver answers ListParts
 * with 405, so this shim in front of it answers ListParts from the ETags of the parts it forwarded;
 * every other request passes through unchanged.
 */
async function startListPartsShim(upstream: string): Promise<{ url: string; close: () => Promise<void> }> {
	const target = new URL(upstream);
	const parts = new Map<string, Map<number, string>>();
	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://shim');
		const uploadId = url.searchParams.get('uploadId');
		if (req.method === 'GET' && uploadId !== null) {
			req.resume();
			const [, bucket = '', ...key] = decodeURIComponent(url.pathname).split('/');
			const listed = [...(parts.get(uploadId) ?? new Map<number, string>())].sort((a, b) => a[0] - b[0]);
			res.writeHead(200, { 'content-type': 'application/xml' });
			res.end(listPartsXml(bucket, key.join('/'), uploadId, listed));
			return;
		}
		const upstreamReq = http.request(
			{ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
			(upstreamRes) => {
				const partNumber = Number(url.searchParams.get('partNumber'));
				const etag = upstreamRes.headers.etag;
				if (req.method === 'PUT' && uploadId && partNumber && upstreamRes.statusCode === 200 && etag) {
					if (!parts.has(uploadId)) parts.set(uploadId, new Map());
					parts.get(uploadId)!.set(partNumber, etag);
				}
				if (req.method === 'POST' && uploadId && upstreamRes.statusCode === 200) parts.delete(uploadId);
				res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
				upstreamRes.pipe(res);
			},
		);
		upstreamReq.on('error', () => res.destroy());
		req.pipe(upstreamReq);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

/** The child process's side: starts the servers, prints their addresses, stops when stdin closes. */
async function serveSandbox(): Promise<void> {
	const { startS3Server } = await import('../../test/servers/s3');
	const { startWhilterServer } = await import('../../test/servers/whilter');
	const s3 = await startS3Server({ buckets: [BUCKET] });
	const shim = await startListPartsShim(s3.endpoint);
	const whilter = await startWhilterServer({
		client: CLIENT,
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		// The bench reads every ZIP back and counts its rows itself (runs.ts), streamed for the 10M-row
		// file; the server's own count holds the whole CSV as one string, more than 10M rows allow.
		checkRowCount: false,
		s3: { endpoint: s3.endpoint, bucket: BUCKET, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
	});
	const addresses: ServerAddresses = {
		s3Endpoint: shim.url,
		s3Direct: s3.endpoint,
		region: s3.region,
		accessKeyId: s3.accessKeyId,
		secretAccessKey: s3.secretAccessKey,
		whilter: whilter.url,
	};
	serveUntilStdinEnds(JSON.stringify(addresses), async () => {
		await Promise.all([whilter.close(), shim.close()]);
		await s3.close();
	});
}

/** Starts the servers' process; `stop()` closes its stdin and waits for it to exit. */
export async function startServers(): Promise<{ addresses: ServerAddresses; stop: () => Promise<void> }> {
	const { line, stop } = await startServerProcess(__filename);
	return { addresses: JSON.parse(line) as ServerAddresses, stop };
}

if (require.main === module) {
	serveSandbox().catch((error: unknown) => {
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
}
