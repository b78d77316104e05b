import yauzl from 'yauzl';

/** Reads each entry of a ZIP held in memory through `read` (its uncompressed bytes, chunk by chunk); the entries' results in order. */
async function eachZipEntry<T>(zip: Buffer, read: (name: string) => { chunk(bytes: Buffer): void; end(): T }): Promise<T[]> {
	const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
		yauzl.fromBuffer(zip, { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))),
	);
	const entries: T[] = [];
	await new Promise<void>((resolve, reject) => {
		file.on('entry', (entry: yauzl.Entry) => {
			file.openReadStream(entry, (error, stream) => {
				if (error) return reject(error);
				const reader = read(entry.fileName);
				stream.on('data', (c: Buffer) => reader.chunk(c));
				stream.on('error', reject);
				stream.on('end', () => {
					entries.push(reader.end());
					file.readEntry();
				});
			});
		});
		file.on('end', resolve);
		file.on('error', reject);
		file.readEntry();
	});
	return entries;
}

/** Every entry of a ZIP held in memory, as text: the contract server and the tests read batch files this way. */
export async function readZipEntries(zip: Buffer): Promise<Array<{ name: string; text: string }>> {
	return await eachZipEntry(zip, (name) => {
		const chunks: Buffer[] = [];
		return { chunk: (bytes) => chunks.push(bytes), end: () => ({ name, text: Buffer.concat(chunks).toString('utf8') }) };
	});
}

/** Every entry's count of line feeds, its text never held: for files larger than a JavaScript string. */
export async function countZipLineFeeds(zip: Buffer): Promise<Array<{ name: string; lineFeeds: number }>> {
	return await eachZipEntry(zip, (name) => {
		let lineFeeds = 0;
		return {
			chunk: (bytes) => {
				for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lineFeeds++;
			},
			end: () => ({ name, lineFeeds }),
		};
	});
}
