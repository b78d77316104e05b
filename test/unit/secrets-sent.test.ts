/**
 * The credential values a failed request carried: read from the request config that axios keeps on
 * its error (n8n-core passes it on as the cause), so a token fetched during the call is redacted too.
 */
import type { INode } from 'n8n-workflow';

import { redact, secretsSentWith, vendorApiError } from '../../nodes/shared/errors';

const node: INode = { id: '1', name: 'Node', type: 'test', typeVersion: 1, position: [0, 0], parameters: {} };

function refused(headers: Record<string, unknown>, message: string): Error {
	const axiosError = Object.assign(new Error('Request failed with status code 400'), {
		config: { headers },
		response: { status: 400, headers: {}, data: { message } },
	});
	return Object.assign(new Error('wrapped by n8n-core'), { cause: axiosError });
}

describe('secretsSentWith', () => {
	it('finds the bearer token, API keys and auth headers of the request, not its other headers', () => {
		const error = refused(
			{ Authorization: 'Bearer fresh-token-123', 'x-api-key': 'api-key-456', 'x-ins-auth-key': 'ins-789', Accept: 'application/json', 'Content-Type': 'application/json' },
			'',
		);
		expect(secretsSentWith(error).sort()).toEqual(['Bearer fresh-token-123', 'api-key-456', 'fresh-token-123', 'ins-789'].sort());
		expect(redact('token fresh-token-123 and key api-key-456', secretsSentWith(error))).toBe('token *** and key ***');
	});

	it('finds nothing on an error without a request config', () => {
		expect(secretsSentWith(new Error('socket hang up'))).toEqual([]);
		expect(secretsSentWith(undefined)).toEqual([]);
	});

	it("vendorApiError redacts them from the vendor's words, though the caller did not know them", () => {
		const error = refused({ authorization: 'Bearer fresh-token-123' }, 'No session for token fresh-token-123');
		const apiError = vendorApiError(node, error, { vendor: 'Whilter', operation: 'GET /acme/task/status/1', secrets: ['old-token-000'] });
		expect(apiError.message).toBe('Whilter answered HTTP 400 to GET /acme/task/status/1: No session for token ***');
		expect(apiError.description).toBe('No session for token ***');
		expect(JSON.stringify(apiError)).not.toContain('fresh-token-123');
	});
});
