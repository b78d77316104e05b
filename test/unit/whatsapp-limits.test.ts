/**
 * WhatsApp's media rules (nodes/Insider/whatsappLimits.ts): every documented type at its limit and
 * one byte over, types WhatsApp refuses, sticker animation from the WebP header or the option, and
 * the wording of a rejection (item, file, type, size, limit).
 */
import {
	checkMedia,
	fileNameFor,
	formatBytes,
	isAnimatedWebp,
	KB,
	MB,
	needsWebpHeader,
	normaliseMimeType,
	WHATSAPP_MEDIA_RULES,
} from '../../nodes/Insider/whatsappLimits';
import type { MediaFacts } from '../../nodes/Insider/whatsappLimits';

const facts = (mimeType: string, size: number, extra: Partial<MediaFacts> = {}): MediaFacts => ({ mimeType, size, fileName: 'f', itemIndex: 0, ...extra });

/** A WebP file's first bytes: simple (VP8), or extended (VP8X) with or without the animation flag and ANIM chunk. */
function webp(kind: 'simple' | 'extended-static' | 'animated-flag' | 'anim-chunk-only'): Buffer {
	const riff = Buffer.from('RIFF\0\0\0\0WEBP', 'latin1');
	if (kind === 'simple') return Buffer.concat([riff, Buffer.from('VP8 ', 'latin1'), Buffer.alloc(40)]);
	const flags = kind === 'animated-flag' ? 0x12 : 0x10;
	const vp8x = Buffer.concat([Buffer.from('VP8X', 'latin1'), Buffer.from([10, 0, 0, 0, flags, 0, 0, 0]), Buffer.alloc(6)]);
	const next = kind === 'anim-chunk-only' || kind === 'animated-flag' ? Buffer.from('ANIM\x06\0\0\0', 'latin1') : Buffer.from('VP8 \0\0\0\0', 'latin1');
	return Buffer.concat([riff, vp8x, next, Buffer.alloc(20)]);
}

describe('WhatsApp media limits', () => {
	it.each<[string, string, number]>([
		['image', 'image/jpeg', 5 * MB],
		['image', 'image/png', 5 * MB],
		['video', 'video/mp4', 16 * MB],
		['video', 'video/3gpp', 16 * MB],
		['video', 'video/3gp', 16 * MB],
		['audio', 'audio/aac', 16 * MB],
		['audio', 'audio/amr', 16 * MB],
		['audio', 'audio/mpeg', 16 * MB],
		['audio', 'audio/mp4', 16 * MB],
		['audio', 'audio/ogg', 16 * MB],
		['document', 'text/plain', 100 * MB],
		['document', 'application/pdf', 100 * MB],
		['document', 'application/msword', 100 * MB],
		['document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 100 * MB],
		['document', 'application/vnd.ms-excel', 100 * MB],
		['document', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 100 * MB],
		['document', 'application/vnd.ms-powerpoint', 100 * MB],
		['document', 'application/vnd.openxmlformats-officedocument.presentationml.presentation', 100 * MB],
		['sticker', 'image/webp', 100 * KB],
	])('%s %s: accepted at %i bytes, refused one byte over', (kind, mimeType, limit) => {
		expect(checkMedia(facts(mimeType, limit))).toEqual({ ok: true, media: expect.objectContaining({ mimeType, mediaType: kind, maxBytes: limit }) });
		const over = checkMedia(facts(mimeType, limit + 1, { stickerAnimation: 'static' }));
		expect(over.ok).toBe(false);
	});

	it('uses binary megabytes: 5 MB is 5,242,880 bytes', () => {
		expect(MB).toBe(1_048_576);
		expect(WHATSAPP_MEDIA_RULES['image/jpeg'].maxBytes).toBe(5_242_880);
		expect(checkMedia(facts('image/jpeg', 5_100_000)).ok).toBe(true);
	});

	it('a rejection names the item, the file, the type, the size and the limit', () => {
		const result = checkMedia(facts('image/jpeg', 6 * MB, { itemIndex: 3, fileName: 'banner.jpg' }));
		expect(result).toEqual({
			ok: false,
			message: `Item 3: "banner.jpg" (image/jpeg, 6 MB (6,291,456 bytes)) is over WhatsApp's image limit of 5 MB (5,242,880 bytes); nothing was uploaded`,
			description: 'WhatsApp accepts image files (image/jpeg) up to 5 MB.',
		});
	});

	it.each(['image/gif', 'image/svg+xml', 'video/quicktime', 'audio/wav', 'application/zip', 'application/octet-stream', ''])('refuses %j, listing what WhatsApp accepts', (mimeType) => {
		const result = checkMedia(facts(mimeType, 2000, { fileName: 'x' }));
		if (result.ok) throw new Error('accepted');
		expect(result.message).toContain(`(${mimeType || 'no MIME type'}, 2 KB (2,000 bytes))`);
		expect(result.message).toContain('is not a type WhatsApp accepts');
		expect(result.description).toContain('image: image/jpeg, image/png');
		expect(result.description).toContain('MIME Type');
	});

	it('refuses an empty file', () => {
		expect(checkMedia(facts('application/pdf', 0))).toMatchObject({ ok: false, message: expect.stringContaining('is empty') });
	});

	it('reads MIME types case-insensitively and without parameters', () => {
		expect(normaliseMimeType(' Audio/OGG; codecs=opus ')).toBe('audio/ogg');
		expect(checkMedia(facts('Text/Plain; charset=utf-8', 10))).toEqual({ ok: true, media: expect.objectContaining({ mimeType: 'text/plain', mediaType: 'document' }) });
	});

	describe('stickers', () => {
		it('detects animation from the WebP header: VP8X animation flag or ANIM chunk', () => {
			expect(isAnimatedWebp(webp('simple'))).toBe(false);
			expect(isAnimatedWebp(webp('extended-static'))).toBe(false);
			expect(isAnimatedWebp(webp('animated-flag'))).toBe(true);
			expect(isAnimatedWebp(webp('anim-chunk-only'))).toBe(true);
			expect(isAnimatedWebp(Buffer.from('not a webp file at all, just text'))).toBeUndefined();
		});

		it('asks for the header only when the size lies above the static limit and detection is on', () => {
			expect(needsWebpHeader('image/webp', 100 * KB, 'detect')).toBe(false);
			expect(needsWebpHeader('image/webp', 200 * KB, 'detect')).toBe(true);
			expect(needsWebpHeader('image/webp', 200 * KB, 'static')).toBe(false);
			expect(needsWebpHeader('image/jpeg', 200 * KB, 'detect')).toBe(false);
		});

		it('a 200 KB static sticker is refused (100 KB), an animated one accepted (500 KB)', () => {
			const refused = checkMedia(facts('image/webp', 200 * KB, { webpHeader: webp('extended-static'), fileName: 's.webp' }));
			expect(refused).toEqual({
				ok: false,
				message: `Item 0: "s.webp" (image/webp, 200 KB (204,800 bytes)) is over WhatsApp's static sticker limit of 100 KB (102,400 bytes); nothing was uploaded`,
				description: expect.stringContaining('static (its WebP header has no animation)'),
			});
			expect(checkMedia(facts('image/webp', 200 * KB, { webpHeader: webp('animated-flag') }))).toEqual({
				ok: true,
				media: { mimeType: 'image/webp', mediaType: 'sticker', maxBytes: 500 * KB, animated: true },
			});
		});

		it('the Sticker Animation option overrides detection', () => {
			expect(checkMedia(facts('image/webp', 200 * KB, { stickerAnimation: 'animated' })).ok).toBe(true);
			expect(checkMedia(facts('image/webp', 200 * KB, { stickerAnimation: 'static', webpHeader: webp('animated-flag') })).ok).toBe(false);
		});

		it('over 500 KB even an animated sticker is refused; without a header a sticker is judged static', () => {
			const big = checkMedia(facts('image/webp', 501 * KB, { webpHeader: webp('animated-flag') }));
			expect(big).toMatchObject({ ok: false, message: expect.stringContaining('animated sticker limit of 500 KB') });
			expect(checkMedia(facts('image/webp', 101 * KB, { webpHeader: Buffer.from('garbage-garbage-garbage') }))).toMatchObject({
				ok: false,
				description: expect.stringContaining('not a WebP header'),
			});
		});
	});

	it('formats sizes in the units of the limits', () => {
		expect(formatBytes(900)).toBe('900 bytes');
		expect(formatBytes(1536)).toBe('1.5 KB');
		expect(formatBytes(16 * MB + 1)).toBe('16 MB');
		expect(formatBytes(101 * MB)).toBe('101 MB');
	});

	it('names a file by its type', () => {
		expect(fileNameFor('123', 'image/jpeg')).toBe('123.jpg');
		expect(fileNameFor('123', 'application/vnd.openxmlformats-officedocument.presentationml.presentation')).toBe('123.pptx');
		expect(fileNameFor('123', 'application/x-unknown')).toBe('123');
	});
});
