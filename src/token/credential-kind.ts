/** The credentials the token store keeps per appid: the access_token, and the JS-SDK's jsapi_ticket. */
export const CREDENTIAL_KINDS = ['access_token', 'jsapi_ticket'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** The topic of token and ticket changes on the change feed: `key` is `<kind>:<appid>`, `detail` the new hash or `dropped`. */
export const CREDENTIAL_TOPIC = 'token';
/** `detail` of a credential change that only expired the stored one (compare-and-expire). */
export const DROPPED = 'dropped';

export const credentialKey = (kind: CredentialKind, appid: string): string => `${kind}:${appid}`;
