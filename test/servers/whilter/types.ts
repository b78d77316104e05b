/** The Whilter contract server's public shapes: its options, the records tests assert on, and its handle. */
import type { ContractServer } from '../http';

export interface WhilterServerOptions {
	/** The `<client>` path segment of the batch API, e.g. 'acme'. */
	client: string;
	clientId: string;
	clientSecret: string;
	/** When set, the real-time endpoints also require this `x-api-key`. */
	apiKey?: string;
	/** The client's S3 drop: the server reads the uploaded ZIPs and writes the output CSVs here. */
	s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
	/** Lifetime of an issued token, the `expires_in` of the token answer (default 3600); can also be changed at runtime on the server. */
	tokenTtlSeconds?: number;
	/**
	 * What a call with an expired or used-up token gets: 401 (default) or 403, which Whilter's
	 * integration guide also names as the answer to a token to renew. A missing or never-issued token
	 * always gets 401. Can also be changed at runtime on the server.
	 */
	expiredTokenStatus?: 401 | 403;
	/** Every n-th output row fails (empty media-url, an error text); default 5, 0 never. */
	failRowEvery?: number;
	/** Status polls a real-time request answers PROCESSING before SUCCESS (default 2). */
	realtimeReadyAfterPolls?: number;
	/** How long each real-time call (request or status) takes to answer; can also be changed at runtime on the server. */
	realtimeDelayMs?: RealtimeDelay;
	/**
	 * Answers each real-time call its delay after the request arrived, to within a fraction of a
	 * millisecond (a timer for all but the last 2 ms, then polled), so the server's own reading and
	 * checking of the request is inside the delay, not added to it. A plain timer fires 1–2 ms late
	 * and starts only after that work, which a bench that counts the configured latency would charge
	 * to the client. Off by default: tests that hold calls by intercepting the server's timer need the
	 * plain one.
	 */
	realtimeExactDelay?: boolean;
	/**
	 * Where the made media live: 'self' serves them from this server under /media (the sandbox, so a
	 * workflow can download a row's video); default https://media.example.test (not reachable).
	 */
	mediaBaseUrl?: 'self' | string;
	/** Tasks move one step every so many ms by themselves (the sandbox); tests call advance(). */
	autoAdvanceMs?: number;
	/** The status answer's shape; can also be changed at runtime on the server. */
	statusVariant?: StatusVariant;
	/**
	 * Whether POST /task reads the ZIP and refuses a `row-count` that is not its number of data rows
	 * (default true). It reads the whole CSV into memory: a test measuring a huge file's memory, or a
	 * benchmark, turns it off. Can also be changed at runtime on the server.
	 */
	checkRowCount?: boolean;
	/**
	 * The task body's field for the callback URL (default 'callback-url'). The server refuses the
	 * others: each contract variant below takes one form and answers 400 saying which, so a client
	 * that guessed wrong fails at once.
	 */
	callbackField?: string;
	/**
	 * How the body's `file-path` names the uploaded ZIP: 'key' (default) the S3 key, 's3'
	 * `s3://<bucket>/<key>`, 'https' the object's path-style URL at the S3 endpoint.
	 */
	filePathForm?: ContractPathForm;
	/** The only `client-id` the server accepts; default any non-empty string. */
	expectedClientId?: string;
	/** `priority` as a JSON integer ('number', default), as its digits in a string ('text'), or refused ('omit'). */
	priorityForm?: 'number' | 'text' | 'omit';
	/** The output file as stored: a CSV (default), a ZIP with one CSV entry, or a gzipped CSV. */
	resultsFormat?: 'csv' | 'zip' | 'gzip';
	/** How the status answer and the callback name the output file in `file-path`: as filePathForm does (default 'key'). */
	resultsLocation?: ContractPathForm;
	/** The output's added columns as `media-url`/`error` ('lower', default) or `MEDIA-URL`/`ERROR` ('upper'). */
	resultColumnsCase?: 'lower' | 'upper';
	/** Fixed port (the sandbox); default random. */
	port?: number;
}

/**
 * Whilter answers the task status in two shapes, and the nodes must read both. 'lower': lower-case
 * statuses and `count`; 'upper': the public variant, PENDING/IN_PROGRESS/COMPLETED with `total-count`
 * and `processed`; 'synonyms': the lower shape with other words for the same states in mixed case
 * (Queued, Running, Succeeded or COMPLETED_WITH_ERRORS, Canceled; `finished` in the callback), see
 * statusWords.ts. The callback's word follows the variant too.
 */
export type StatusVariant = 'lower' | 'upper' | 'synonyms';

/** How a file in the drop is named: its key, `s3://<bucket>/<key>`, or its path-style URL at the S3 endpoint. */
export type ContractPathForm = 'key' | 's3' | 'https';

export type TaskState = 'pending' | 'in-progress' | 'completed' | 'cancelled';

export interface Task {
	id: string;
	/** The body the task was created with, as sent. */
	body: Record<string, unknown>;
	state: TaskState;
	inputKey: string;
	createdAt: number;
	updatedAt: number;
	/** Set once completed: where the output CSV is (outputKeyFor(inputKey, id)). */
	outputKey?: string;
	/** outputKey in the resultsLocation form when that is not 'key': the `file-path` of the status answer and the callback. */
	outputLocation?: string;
	/** Data rows in the output, and how many of them failed. */
	rows?: number;
	failedRows?: number;
	/** Why completing failed (bad ZIP, missing file): the task then stays in progress. */
	error?: string;
	callback?: { status: number } | { error: string };
}

export interface CallbackRecord {
	taskId: string;
	url: string;
	body: Record<string, unknown>;
	/** The receiver's answer, or the network error when there was none. */
	status?: number;
	/** The receiver's answer body as text. */
	responseText?: string;
	error?: string;
	time: number;
}

export type RealtimeStatus = 'PROCESSING' | 'SUCCESS' | 'FAILURE';

/**
 * Milliseconds a real-time call takes, fixed or per call: the function sees the request's body (for a
 * status call, the body the request was created with), so a test can make later items finish first.
 */
export type RealtimeDelay = number | ((body: Record<string, unknown>, call: 'request' | 'status') => number);

export interface RealtimeRequest {
	id: string;
	body: Record<string, unknown>;
	polls: number;
	status: RealtimeStatus;
	createdAt: number;
}

export interface WhilterServer extends ContractServer {
	tasks: Map<string, Task>;
	realtime: Map<string, RealtimeRequest>;
	/** See WhilterServerOptions.realtimeDelayMs; undefined answers at once. */
	realtimeDelayMs: RealtimeDelay | undefined;
	/** Real-time calls (request or status, past the token check) being handled right now. */
	readonly realtimeInFlight: number;
	/** The most real-time calls handled at once since the start or the last resetRealtimeStats(). */
	readonly realtimeMaxInFlight: number;
	resetRealtimeStats(): void;
	callbacks: CallbackRecord[];
	tokensIssued: number;
	/** See WhilterServerOptions.tokenTtlSeconds: applies to the tokens issued from now on. */
	tokenTtlSeconds: number;
	/** See WhilterServerOptions.expiredTokenStatus. */
	expiredTokenStatus: 401 | 403;
	statusVariant: StatusVariant;
	/** See WhilterServerOptions.checkRowCount. */
	checkRowCount: boolean;
	/** Every token issued so far stops working (the next call with one gets expiredTokenStatus). */
	expireTokens(): void;
	/** Every token (issued and to come) stops working after `uses` more authenticated calls. */
	expireTokenAfterUses(uses: number): void;
	/**
	 * Moves one task (or every open task) one step: pending → in-progress → completed. Completing
	 * writes the output CSV and POSTs the callback; the promise resolves once both are done.
	 */
	advance(taskId?: string): Promise<void>;
	/** Where a task's output CSV is (or will be) written. */
	outputKeyOf(taskId: string): string;
	/** A task whose input ZIP is uploaded, created as the API would (for tests of other nodes). */
	seedTask(options: { rows: number; campaign?: string; callbackUrl?: string }): Promise<string>;
	/** A valid token, for tests that call the API themselves. */
	issueToken(): string;
	/**
	 * POSTs a task's callback now, to any URL (tests of the Whilter Trigger): the payload the server
	 * sends on completion (or `body` instead), with extra `headers` (e.g. a shared secret or basic
	 * auth); recorded in `callbacks` like the completion's own.
	 */
	sendCallback(options: { taskId: string; url: string; headers?: Record<string, string>; body?: Record<string, unknown> }): Promise<CallbackRecord>;
	/**
	 * POSTs the documented real-time callback `{client-request-id, user-id, video-url}` of a real-time
	 * request, with `whilter-request-id` added when asked (the documented payload lacks it).
	 */
	sendRealtimeCallback(options: { whilterRequestId: string; url: string; headers?: Record<string, string>; includeWhilterRequestId?: boolean }): Promise<CallbackRecord>;
}
