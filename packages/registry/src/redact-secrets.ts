const AUTH_VALUE = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi;
const USERINFO = /\/\/[^/@\s:]+(?::[^/@\s]*)?@/g;
const SECRET_PARAM =
  /([?&](?:[^=&\s]*(?:token|signature|sig|credential|password|secret|key|auth)[^=&\s]*)=)[^&\s#]*/gi;
const JSON_SECRET = /("(?:token|access_token|refresh_token|password|auth|identitytoken)"\s*:\s*")[^"]*"/gi;

/**
 * Removes credentials from text meant for users: `Basic`/`Bearer` header values, `user:pass@` in
 * URLs, query parameters that look like tokens or signatures (pre-signed blob URLs), and secret
 * fields of JSON bodies. Idempotent.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(AUTH_VALUE, '$1 ***')
    .replace(USERINFO, '//***@')
    .replace(SECRET_PARAM, '$1***')
    .replace(JSON_SECRET, '$1***"');
}
