/**
 * Insider's documentation names the size field `file_size` in its field list but spells it
 * `File_size` in its example answer: the node reads either. And Get URL takes the media ID from the
 * item by default, as an upload's output gives it.
 */
import { CredentialStore, runChain, shutdownN8nCore } from '../harness/run';
import { startInsiderServer } from '../servers/insider';

type Insider = Awaited<ReturnType<typeof startInsiderServer>>;

const KEY = 'INS.variant-auth-key';
const servers: Insider[] = [];
const store = new CredentialStore();

afterAll(async () => {
	for (const server of servers) await server.close();
	await shutdownN8nCore();
});

/** A server in the given variant with one uploaded PDF; its credential and the media's ID. */
async function serverWithMedia(sizeKey: 'file_size' | 'File_size') {
	const insider = await startInsiderServer({ authKey: KEY, sizeKey });
	servers.push(insider);
	const form = new FormData();
	form.append('file', new Blob([Buffer.from('%PDF-1.4 variant')], { type: 'application/pdf' }), 'offer.pdf');
	form.append('type', 'application/pdf');
	form.append('messaging_product', 'whatsapp');
	const response = await fetch(`${insider.url}/v1/media/upload`, { method: 'POST', body: form, headers: { 'x-ins-auth-key': KEY } });
	const { id } = (await response.json()) as { id: string };
	return { credential: store.add('insiderApi', { authKey: KEY, baseUrl: insider.url }), id };
}

describe.each(['file_size', 'File_size'] as const)('Insider answering its size as %s', (sizeKey) => {
	it('Get URL outputs file_size, with the Media ID taken from the item by default', async () => {
		const { credential, id } = await serverWithMedia(sizeKey);
		const result = await runChain({
			items: [{ json: { id } }],
			nodes: [{ name: 'Insider', type: 'insiderWhatsAppMedia', parameters: { operation: 'getUrl' }, credentials: { insiderApi: credential } }],
			credentials: store,
		});
		expect(result.error).toBeUndefined();
		expect(result.output('Insider')[0].json).toMatchObject({ id, file_size: 16, mime_type: 'application/pdf' });
	});
});
