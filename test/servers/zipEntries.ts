import yauzl from 'yauzl';

/** Every entry of a ZIP held in memory, as text: the contract server and the tests read batch files this way. */
export async function readZipEntries(zip: Buffer): Promise<Array<{ name: string; text: string }>> {
	const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
		yauzl.fromBuffer(zip, { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))),
	);
	const entries: Array<{ name: string; text: string }> = [];
	await new Promise<void>((resolve, reject) => {
		file.on('entry', (entry: yauzl.Entry) => {
			file.openReadStream(entry, (error, stream) => {
				if (error) return reject(error);
				const chunks: Buffer[] = [];
				stream.on('data', (c: Buffer) => chunks.push(c));
				stream.on('error', reject);
				stream.on('end', () => {
					entries.push({ name: entry.fileName, text: Buffer.concat(chunks).toString('utf8') });
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
