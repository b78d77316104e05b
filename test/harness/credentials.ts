import type {
	ICredentialDataDecryptedObject,
	ICredentials,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeProperties,
	IRequestOptionsSimplified,
	IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';
import { ICredentialsHelper } from 'n8n-workflow';

/** One stored credential, as n8n's database would hold it once decrypted. */
export interface StoredCredential {
	id: string;
	name: string;
	type: string;
	data: ICredentialDataDecryptedObject;
}

/**
 * The host side of credentials for in-process runs. In n8n this is the `n8n` package's
 * CredentialsHelper (not part of n8n-core); this one follows the same rules so the credential
 * types' own `preAuthentication` and `authenticate` run as they do in n8n:
 * - the hidden `expirable` field empty, or the request answered 401 → preAuthentication → the
 *   result is stored (updateCredentials) and used;
 * - a function `authenticate` is called as is; a generic one has its `{{$credentials.x}}`
 *   expressions resolved.
 * The same flows are also shown in a real n8n process (test/e2e).
 */
export class TestCredentialsHelper extends ICredentialsHelper {
	readonly updates: Array<{ id: string; type: string; data: ICredentialDataDecryptedObject }> = [];

	constructor(
		private readonly types: Map<string, ICredentialType>,
		private readonly store: Map<string, StoredCredential>,
	) {
		super();
	}

	getParentTypes(name: string): string[] {
		const type = this.types.get(name);
		return type?.extends ?? [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	private stored(details: INodeCredentialsDetails, type: string): StoredCredential {
		const found = details.id ? this.store.get(details.id) : undefined;
		if (!found || found.type !== type) throw new Error(`Credential "${details.name}" of type ${type} is not in the test store`);
		return found;
	}

	async getCredentials(details: INodeCredentialsDetails, type: string): Promise<ICredentials> {
		const found = this.stored(details, type);
		return {
			id: found.id,
			name: found.name,
			type: found.type,
			data: undefined,
			getData: () => ({ ...found.data }),
			getDataToSave: () => ({ id: found.id, name: found.name, type: found.type, data: '' }),
			setData: (data: ICredentialDataDecryptedObject) => {
				found.data = { ...data };
			},
		} as unknown as ICredentials;
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		details: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const found = this.stored(details, type);
		const withDefaults: ICredentialDataDecryptedObject = {};
		for (const property of this.getCredentialsProperties(type)) {
			if (property.default !== undefined && typeof property.default !== 'object') {
				withDefaults[property.name] = property.default as string | number | boolean;
			}
		}
		return { ...withDefaults, ...found.data };
	}

	async updateCredentials(details: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		const found = this.stored(details, type);
		found.data = { ...data };
		this.updates.push({ id: found.id, type, data: { ...data } });
	}

	async updateCredentialsOauthTokenData(details: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		await this.updateCredentials(details, type, data);
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		return this.types.get(type)?.properties ?? [];
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
	): Promise<IHttpRequestOptions> {
		const type = this.types.get(typeName);
		const options = requestOptions as IHttpRequestOptions;
		if (!type?.authenticate) return options;
		if (typeof type.authenticate === 'function') return await type.authenticate(credentials, options);
		const resolve = (value: string) =>
			value
				.replace(/^=/, '')
				.replace(/\{\{\s*\$credentials\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) => String(credentials[key] ?? ''));
		const merged: IHttpRequestOptions = { ...options };
		const { headers, qs, body } = type.authenticate.properties as { headers?: IDataObject; qs?: IDataObject; body?: IDataObject };
		if (headers) merged.headers = { ...(options.headers ?? {}), ...mapStrings(headers, resolve) };
		if (qs) merged.qs = { ...(options.qs ?? {}), ...mapStrings(qs, resolve) };
		if (body) merged.body = { ...((options.body as IDataObject) ?? {}), ...mapStrings(body, resolve) };
		return merged;
	}

	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.types.get(typeName);
		const expirable = type?.properties.find((p) => p.type === 'hidden' && p.typeOptions?.expirable === true);
		if (!type?.preAuthentication || !expirable) return undefined;
		if (!credentialsExpired && credentials[expirable.name] !== '' && credentials[expirable.name] !== undefined) return undefined;
		const output = (await type.preAuthentication.call(helpers, credentials)) as ICredentialDataDecryptedObject;
		if (output[expirable.name] === undefined) return undefined;
		const details = node.credentials?.[typeName];
		if (details) await this.updateCredentials(details, typeName, { ...credentials, ...output });
		return output;
	}

	async runPreAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		return (await this.types.get(typeName)?.preAuthentication?.call(helpers, credentials)) as ICredentialDataDecryptedObject | undefined;
	}
}

function mapStrings(values: IDataObject, resolve: (value: string) => string): IDataObject {
	return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? resolve(v) : v]));
}
