// The authority's own pages at /authorize: sign in, choose a tenant, or read why a request was
// refused. Plain HTML forms that work without JavaScript, every value escaped, and a CSP that lets
// nothing run: the one style sheet is allowed by its hash.
import { createHash } from 'node:crypto';
import type { AuthorizationRequest } from './codes.ts';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:24rem;margin:8vh auto;padding:2rem;background:#fff;border:1px solid #d5d9e0;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #8a93a3;border-radius:4px}
fieldset{border:0;padding:0;margin:0}fieldset label{font-weight:400;display:flex;gap:.5rem}
button{margin-top:1.2rem;padding:.55rem 1.2rem;font:inherit;background:#1f5fbf;color:#fff;border:0;border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.alert{background:#fdecea;border:1px solid #d93025;padding:.6rem;border-radius:4px}
.muted{color:#596273;font-size:.9rem}`;

/**
 * The Content-Security-Policy of every page here. A form may post only to this server, and the answer
 * to a sign-in may redirect only to the client's redirect URI (Chromium holds form redirects to
 * form-action too), whose origin is allowed when the page carries one.
 */
export function signInCsp(redirectUri?: string): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
    `form-action 'self'${redirectUri ? ` ${new URL(redirectUri).origin}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · stella</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** The authorization request, carried through the form so the POST can check it again. */
function hiddenRequest(request: AuthorizationRequest): string {
  const fields: Record<string, string> = {
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    state: request.state,
  };
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
    .join('');
}

function alert(message: string | undefined): string {
  return message ? `<p class="alert" role="alert">${escapeHtml(message)}</p>` : '';
}

export function signInPage(request: AuthorizationRequest, options: { username?: string; error?: string } = {}): string {
  return page(
    'Sign in',
    `<h1>Sign in to stella</h1>${alert(options.error)}
<form method="post" action="/authorize">${hiddenRequest(request)}${
      request.tenant ? `<input type="hidden" name="tenant" value="${escapeHtml(request.tenant)}">` : ''
    }
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function tenantPage(
  request: AuthorizationRequest,
  user: string,
  roles: Record<string, string>,
  error?: string,
): string {
  const options = Object.entries(roles)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
      ([tenant, role], n) =>
        `<label><input type="radio" name="tenant" value="${escapeHtml(tenant)}"${n === 0 ? ' checked' : ''}> ${escapeHtml(tenant)} <span class="muted">(${escapeHtml(role)})</span></label>`,
    )
    .join('\n');
  return page(
    'Choose a tenant',
    `<h1>Choose a tenant</h1><p class="muted">Signed in as ${escapeHtml(user)}.</p>${alert(error)}
<form method="post" action="/authorize">${hiddenRequest(request)}
<fieldset><legend>Tenant</legend>
${options}
</fieldset>
<button type="submit">Continue</button>
</form>`,
  );
}

export function refusedPage(message: string): string {
  return page(
    'Sign-in refused',
    `<h1>This sign-in cannot go on</h1>${alert(message)}<p><a href="/console/">Back to the console</a></p>`,
  );
}
