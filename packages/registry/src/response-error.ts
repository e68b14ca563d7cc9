import { readBody } from './read-body.js';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError, type RegistryErrorCode } from './registry-error.js';
import type { HttpResponse } from './send-request.js';

/**
 * Turns an unexpected response into a RegistryError: the body's distribution-spec errors
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}`) become `manifest unknown: ...`
 * parts of the message and `serverCodes`; 5xx and 429 are retryable, honouring Retry-After.
 * Consumes the response body.
 */
export async function responseError(res: HttpResponse, what: string): Promise<RegistryError> {
  const text = await readBody(res.body, 64 * 1024, 'error response')
    .then((b) => b.toString('utf8'))
    .catch(() => '');
  const serverErrors = parseErrors(text);
  const detail =
    serverErrors.length > 0
      ? serverErrors.map((e) => `${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message}`).join('; ')
      : (STATUS_TEXT[res.status] ?? `HTTP ${res.status}`) +
        (text.trim() && text.length < 300 ? ` (${text.trim()})` : '');
  const code = codeOf(res.status);
  return new RegistryError(code, redactSecrets(`${what}: ${detail}`), {
    status: res.status,
    serverCodes: serverErrors.map((e) => e.code),
    retryable: res.status >= 500 || res.status === 429,
    retryAfterMs: retryAfter(res.headers['retry-after']),
    hint:
      code === 'UNAUTHORIZED'
        ? "log in with `kiln login HOST` (kiln reads docker's config.json and its credential helpers)"
        : undefined,
  });
}

/** What docker prints when a response has no error body (HEAD requests never have one). */
const STATUS_TEXT: Readonly<Record<number, string>> = {
  401: 'unauthorized: authentication required',
  403: 'denied: requested access to the resource is denied',
  404: 'not found',
  429: 'toomanyrequests: too many requests',
};

function codeOf(status: number): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'TOO_MANY_REQUESTS';
  if (status >= 500) return 'SERVER_ERROR';
  return 'PROTOCOL';
}

function parseErrors(text: string): { code: string; message: string }[] {
  try {
    const doc: unknown = JSON.parse(text);
    const errors = (doc as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.flatMap((e: unknown) => {
      const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
      return typeof code === 'string' ? [{ code, message: typeof message === 'string' ? message : '' }] : [];
    });
  } catch {
    return [];
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
