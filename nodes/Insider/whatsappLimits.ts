/**
 * WhatsApp's media rules (WhatsApp Cloud API "Supported media types"): the one place
 * that knows which MIME types WhatsApp accepts and how large each may be. Everything here is pure,
 * so the rules are unit-tested apart from n8n (test/unit/whatsapp-limits.test.ts).
 *
 * Sizes: WhatsApp writes "5 MB", "16 MB", "100 MB", "100 KB", "500 KB" without saying which MB it
 * means. We read them as binary units (1 MB = 1024 * 1024 bytes, 1 KB = 1024 bytes), the reading
 * the issue asks for unless the docs say otherwise; a file between the decimal and the binary value
 * (e.g. 5,100,000 bytes for an image) passes our check and WhatsApp is the final judge.
 */

export const KB = 1024;
export const MB = 1024 * 1024;

export type WhatsAppMediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export interface MediaRule {
	mediaType: WhatsAppMediaType;
	/** Largest accepted size in bytes. For stickers: the static limit (see ANIMATED_STICKER_MAX_BYTES). */
	maxBytes: number;
	/** Extension for a file name when none is known. */
	extension: string;
}

export const ANIMATED_STICKER_MAX_BYTES = 500 * KB;
export const STATIC_STICKER_MAX_BYTES = 100 * KB;

/** Keyed by MIME type, lower case, without parameters. */
export const WHATSAPP_MEDIA_RULES: Readonly<Record<string, MediaRule>> = Object.freeze({
	'image/jpeg': { mediaType: 'image', maxBytes: 5 * MB, extension: 'jpg' },
	'image/png': { mediaType: 'image', maxBytes: 5 * MB, extension: 'png' },
	'video/mp4': { mediaType: 'video', maxBytes: 16 * MB, extension: 'mp4' },
	// IANA registers video/3gpp; WhatsApp's table spells it video/3gp. Both are accepted and sent as given.
	'video/3gpp': { mediaType: 'video', maxBytes: 16 * MB, extension: '3gp' },
	'video/3gp': { mediaType: 'video', maxBytes: 16 * MB, extension: '3gp' },
	'audio/aac': { mediaType: 'audio', maxBytes: 16 * MB, extension: 'aac' },
	'audio/amr': { mediaType: 'audio', maxBytes: 16 * MB, extension: 'amr' },
	'audio/mpeg': { mediaType: 'audio', maxBytes: 16 * MB, extension: 'mp3' },
	'audio/mp4': { mediaType: 'audio', maxBytes: 16 * MB, extension: 'm4a' },
	// WhatsApp plays only the OPUS codec in ogg; the container type is all a check before upload can see.
	'audio/ogg': { mediaType: 'audio', maxBytes: 16 * MB, extension: 'ogg' },
	'text/plain': { mediaType: 'document', maxBytes: 100 * MB, extension: 'txt' },
	'application/pdf': { mediaType: 'document', maxBytes: 100 * MB, extension: 'pdf' },
	'application/msword': { mediaType: 'document', maxBytes: 100 * MB, extension: 'doc' },
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { mediaType: 'document', maxBytes: 100 * MB, extension: 'docx' },
	'application/vnd.ms-excel': { mediaType: 'document', maxBytes: 100 * MB, extension: 'xls' },
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { mediaType: 'document', maxBytes: 100 * MB, extension: 'xlsx' },
	'application/vnd.ms-powerpoint': { mediaType: 'document', maxBytes: 100 * MB, extension: 'ppt' },
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': { mediaType: 'document', maxBytes: 100 * MB, extension: 'pptx' },
	'image/webp': { mediaType: 'sticker', maxBytes: STATIC_STICKER_MAX_BYTES, extension: 'webp' },
});

/** `Image/JPEG; charset=x` → `image/jpeg`. */
export function normaliseMimeType(mimeType: string | undefined): string {
	return String(mimeType ?? '')
		.split(';')[0]
		.trim()
		.toLowerCase();
}

/** 6291456 → "6 MB", 204800 → "200 KB", 1536 → "1.5 KB", 900 → "900 bytes" (binary units, as the limits). */
export function formatBytes(bytes: number): string {
	const one = (value: number) => String(Math.round(value * 10) / 10);
	if (bytes >= MB) return `${one(bytes / MB)} MB`;
	if (bytes >= KB) return `${one(bytes / KB)} KB`;
	return `${bytes} bytes`;
}

const exact = (bytes: number) => (bytes < KB ? `${bytes} bytes` : `${formatBytes(bytes)} (${bytes.toLocaleString('en-US')} bytes)`);

function acceptedTypesText(): string {
	const byKind = new Map<WhatsAppMediaType, string[]>();
	for (const [mime, rule] of Object.entries(WHATSAPP_MEDIA_RULES)) byKind.set(rule.mediaType, [...(byKind.get(rule.mediaType) ?? []), mime]);
	return [...byKind.entries()].map(([kind, types]) => `${kind}: ${types.join(', ')}`).join('; ');
}

export type StickerAnimation = 'detect' | 'static' | 'animated';

/**
 * What a WebP file's header says about animation: an extended (VP8X) header with its animation
 * flag set, or an ANIM chunk. `undefined` when the bytes are not a WebP header at all.
 */
export function isAnimatedWebp(header: Buffer): boolean | undefined {
	if (header.length < 16 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WEBP') return undefined;
	// Simple WebP (a VP8 or VP8L first chunk) holds one frame.
	if (header.toString('latin1', 12, 16) !== 'VP8X') return false;
	// VP8X flags byte: bit 1 (0x02) is "animation" (RFC 9649 §2.7); an animated file also carries an
	// ANIM chunk after VP8X (and an optional ICC profile), seen here when no profile pushes it further.
	if (header.length >= 21 && (header[20] & 0x02) !== 0) return true;
	return header.includes('ANIM', 30, 'latin1');
}

/** Bytes of a WebP file to read for isAnimatedWebp: the VP8X header, and room for an ICC profile chunk header before ANIM. */
export const WEBP_HEADER_BYTES = 64;

export interface MediaFacts {
	/** As the user gave it (binary metadata or the MIME Type option). */
	mimeType: string;
	size: number;
	fileName: string;
	/** 0-based, as n8n counts items. */
	itemIndex: number;
	/** For stickers between the static and the animated limit: how animation is known. */
	stickerAnimation?: StickerAnimation;
	/** First WEBP_HEADER_BYTES bytes, read only when detection needs them. */
	webpHeader?: Buffer;
}

export interface AcceptedMedia {
	/** Normalised MIME type, sent as the form's `type`. */
	mimeType: string;
	mediaType: WhatsAppMediaType;
	maxBytes: number;
	/** Set for stickers: whether the animated limit applied. */
	animated?: boolean;
}

export type MediaCheck = { ok: true; media: AcceptedMedia } | { ok: false; message: string; description: string };

/** Whether checkMedia needs the first bytes of the file: a sticker over the static limit whose animation is to be detected. */
export function needsWebpHeader(mimeType: string, size: number, animation: StickerAnimation = 'detect'): boolean {
	return normaliseMimeType(mimeType) === 'image/webp' && animation === 'detect' && size > STATIC_STICKER_MAX_BYTES;
}

/** Checks a file against WhatsApp's rules before anything is sent; a failure names item, file, type, size and limit. */
export function checkMedia(facts: MediaFacts): MediaCheck {
	const mimeType = normaliseMimeType(facts.mimeType);
	const subject = `Item ${facts.itemIndex}: "${facts.fileName}" (${mimeType || 'no MIME type'}, ${exact(facts.size)})`;
	const rule = WHATSAPP_MEDIA_RULES[mimeType];
	if (!rule) {
		return {
			ok: false,
			message: `${subject} is not a type WhatsApp accepts; nothing was uploaded`,
			description: `WhatsApp accepts ${acceptedTypesText()}. If the file's MIME type is wrong, set it in Options → MIME Type.`,
		};
	}
	if (facts.size <= 0) {
		return { ok: false, message: `${subject} is empty; nothing was uploaded`, description: 'WhatsApp needs the file\'s bytes.' };
	}
	if (rule.mediaType !== 'sticker') {
		if (facts.size <= rule.maxBytes) return { ok: true, media: { mimeType, mediaType: rule.mediaType, maxBytes: rule.maxBytes } };
		return {
			ok: false,
			message: `${subject} is over WhatsApp's ${rule.mediaType} limit of ${exact(rule.maxBytes)}; nothing was uploaded`,
			description: `WhatsApp accepts ${rule.mediaType} files (${mimeType}) up to ${formatBytes(rule.maxBytes)}.`,
		};
	}
	const animation = facts.stickerAnimation ?? 'detect';
	let animated: boolean;
	let how: string;
	if (animation === 'detect') {
		const detected = facts.webpHeader ? isAnimatedWebp(facts.webpHeader) : undefined;
		// Without a WebP header to read the file is judged static: the stricter limit.
		animated = detected === true;
		if (detected === undefined) how = facts.webpHeader ? 'judged static (its first bytes are not a WebP header)' : 'judged static';
		else how = detected ? 'animated (its WebP header has the animation flag or an ANIM chunk)' : 'static (its WebP header has no animation)';
	} else {
		animated = animation === 'animated';
		how = `${animation} (Sticker Animation option)`;
	}
	const maxBytes = animated ? ANIMATED_STICKER_MAX_BYTES : STATIC_STICKER_MAX_BYTES;
	if (facts.size <= maxBytes) return { ok: true, media: { mimeType, mediaType: 'sticker', maxBytes, animated } };
	return {
		ok: false,
		message: `${subject} is over WhatsApp's ${animated ? 'animated' : 'static'} sticker limit of ${exact(maxBytes)}; nothing was uploaded`,
		description: `The sticker is ${how}. WhatsApp accepts WebP stickers up to ${formatBytes(STATIC_STICKER_MAX_BYTES)} static and ${formatBytes(ANIMATED_STICKER_MAX_BYTES)} animated.`,
	};
}

/** A file name for media that came without one: `<base>.<extension of its type>`. */
export function fileNameFor(base: string, mimeType: string | undefined): string {
	const extension = WHATSAPP_MEDIA_RULES[normaliseMimeType(mimeType)]?.extension;
	return extension ? `${base}.${extension}` : base;
}
