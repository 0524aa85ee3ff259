// Form-encoded bodies (the token endpoint and the sign-in form), parsed so that a repeated parameter
// is seen and refused instead of one of its values being picked silently (RFC 6749 §3.1, §3.2).
import { OAuthError } from './errors.ts';

export type FormBody = Record<string, string | string[]>;

export const FORM = 'application/x-www-form-urlencoded';

export function parseForm(text: string): FormBody {
  const out: FormBody = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    const prior = out[name];
    out[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

export function single(body: FormBody, name: string): string | undefined {
  const value = body[name];
  if (Array.isArray(value)) throw new OAuthError('invalid_request', `parameter ${name} must not be repeated`);
  return value;
}
