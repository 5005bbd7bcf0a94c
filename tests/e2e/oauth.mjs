// Helpers for the OAuth 2.0 end-to-end tests: registering apps, a loopback callback server,
// driving the login and consent pages with plain fetch, the token endpoint by hand (for the
// requests a strict client library refuses to send), and checking every access token with jose
// against the server's JWKS.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import * as jose from 'jose';
import { random_suffix } from './harness.mjs';

/// What every access token's header is (docs/oauth.md "Signing keys").
export const access_token_header_members = ['alg', 'kid', 'typ'];

/// POST /v1/oauth/clients with the bootstrap admin key. Resolves the answer's JSON (with
/// `client_secret` for a confidential app).
export async function register_client(stack, fields = {}) {
  const r = await stack.api.post('/v1/oauth/clients', {
    key: stack.admin_key,
    json: {
      type: 'confidential',
      name: `E2E app ${random_suffix(4)}`,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      allowed_scopes: ['leads:read', 'leads:write'],
      ...fields,
    },
  });
  assert.equal(r.status, 201, `register client: ${r.status} ${r.text}`);
  assert.match(r.json.id, /^cli_[0-9A-Za-z]{22}$/);
  if (r.json.type === 'confidential') assert.match(r.json.client_secret, /^klcs_[A-Za-z0-9_-]{43}$/);
  return r.json;
}

/// A tiny HTTP server on 127.0.0.1 that records every request's URL (the app's redirect URI).
/// `url` is its /cb address; `next()` resolves the next recorded URL (a URL object), waiting
/// at most `deadline_ms`.
export async function callback_server() {
  const seen = [];
  const waiters = [];
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${srv.address().port}`);
    if (url.pathname !== '/cb') {
      // Not the redirect URI (a browser's /favicon.ico, say): not recorded, and no error for
      // the browser's console.
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>callback</title><p>done</p>');
    const w = waiters.shift();
    if (w) w(url);
    else seen.push(url);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  return {
    port,
    url: `http://127.0.0.1:${port}/cb`,
    next(deadline_ms = 10_000) {
      if (seen.length > 0) return Promise.resolve(seen.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no callback within ${deadline_ms} ms`)), deadline_ms);
        waiters.push((u) => {
          clearTimeout(timer);
          resolve(u);
        });
      });
    },
    async close() {
      srv.closeAllConnections();
      srv.close();
      await once(srv, 'close');
    },
  };
}

const html_entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };

function html_unescape(s) {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => html_entities[e]);
}

/// The hidden inputs of an HTML page: { name: value }.
export function hidden_inputs(html) {
  const out = {};
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0];
    if (!/\btype="hidden"/.test(tag)) continue;
    const name = /\bname="([^"]*)"/.exec(tag);
    const value = /\bvalue="([^"]*)"/.exec(tag);
    if (name) out[html_unescape(name[1])] = value ? html_unescape(value[1]) : '';
  }
  return out;
}

/// One request that is never followed (redirect: 'manual'): { status, headers, text }.
export async function raw_fetch(url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/// Asserts the security headers every OAuth page carries (docs/oauth.md, pages.cpp).
export function assert_page_headers(headers, what = '') {
  const csp = headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP ${csp}`);
  assert.match(csp, /default-src 'none'/, `${what}: CSP ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${what}: CSP ${csp}`);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  assert.equal(headers.get('cache-control'), 'no-store', what);
  assert.match(headers.get('content-type') ?? '', /^text\/html/, what);
}

/// Drives the authorization endpoint the way a person's browser would, with plain fetch: the
/// login page (when `cookie` is not given) and the consent page, answering `decision`.
/// Resolves { location (a URL), cookie, pages: [{ status, headers, text }] }. The form posts
/// carry the issuer's Origin, as a browser's do.
export async function authorize_with_pages(issuer, authorize_url, { email, password, cookie, decision = 'allow' }) {
  const pages = [];
  let r = await raw_fetch(authorize_url, cookie ? { headers: { cookie } } : {});
  pages.push(r);
  if (!cookie) {
    assert.equal(r.status, 200, `the login page: ${r.status} ${r.text}`);
    assert_page_headers(r.headers, 'login page');
    assert.match(r.text, /action="\/oauth\/login"/);
    const fields = hidden_inputs(r.text);
    assert.ok(fields.interaction, 'the login page carries the sealed interaction');
    r = await raw_fetch(`${issuer}/oauth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
      body: new URLSearchParams({ interaction: fields.interaction, email, password }).toString(),
    });
    pages.push(r);
    assert.equal(r.status, 303, `login: ${r.status} ${r.text}`);
    const set = r.headers.getSetCookie().find((c) => c.startsWith('keyledger_session='));
    assert.ok(set, 'login sets the session cookie');
    cookie = set.split(';')[0];
    const back = new URL(r.headers.get('location'), issuer);
    assert.equal(back.origin + back.pathname, `${issuer}/oauth/authorize`);
    r = await raw_fetch(back.href, { headers: { cookie } });
    pages.push(r);
  }
  if (r.status === 200) {
    // The consent page.
    assert_page_headers(r.headers, 'consent page');
    assert.match(r.text, /action="\/oauth\/authorize"/);
    const fields = hidden_inputs(r.text);
    for (const f of ['interaction', 'csrf_token', 'workspace_id']) assert.ok(fields[f], `consent page lacks ${f}`);
    r = await raw_fetch(`${issuer}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer, cookie },
      body: new URLSearchParams({ ...fields, decision }).toString(),
    });
    pages.push(r);
  }
  assert.equal(r.status, 303, `the answer to the client: ${r.status} ${r.text}`);
  return { location: new URL(r.headers.get('location')), cookie, pages };
}

/// POST to an OAuth endpoint with a form body; `auth`: { id, secret } for client_secret_basic
/// (RFC 6749 2.3.1 form-encodes both), or `post: true` to put them in the body.
export async function post_form(issuer, path, params, { auth, post = false, headers = {} } = {}) {
  const h = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  const body = new URLSearchParams(params);
  if (auth && post) {
    body.set('client_id', auth.id);
    body.set('client_secret', auth.secret);
  } else if (auth) {
    const enc = (s) => encodeURIComponent(s);
    h.authorization = `Basic ${Buffer.from(`${enc(auth.id)}:${enc(auth.secret)}`).toString('base64')}`;
  }
  const res = await fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: h,
    body: body.toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/// POST /oauth/introspect as `auth` (a client { id, secret }) or with `key` (an API key with
/// oauth:introspect). Resolves the JSON answer, asserting 200.
export async function introspect(issuer, token, { auth, key }) {
  const r = await post_form(issuer, '/oauth/introspect', { token }, {
    auth,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  assert.equal(r.status, 200, `introspect: ${r.status} ${r.text}`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return r.json;
}

/// Asserts an RFC 6749 5.2 error answer: status, JSON { error }, no-store.
export function assert_oauth_error(r, status, error, what = '') {
  const ctx = `${what}: ${r.status} ${r.text}`;
  assert.equal(r.status, status, ctx);
  assert.equal(r.json?.error, error, ctx);
  assert.equal(typeof r.json.error_description ?? 'string', 'string', ctx);
}

/// A verifier of access tokens against the server's JWKS (jose's remote set caches the keys
/// and refetches on an unknown kid, as a resource server would).
export function token_verifier(issuer) {
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oauth/jwks`));
  let verified = 0;
  return {
    jwks,
    get count() {
      return verified;
    },
    /// jwtVerify with the strict options, then the RFC 9068 claims. `expect`: { sub,
    /// client_id, scope, workspace_id, sid (true: present; false: absent), audience }.
    async verify(token, expect = {}) {
      const audience = expect.audience ?? issuer;
      const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
        issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
      });
      assert.deepEqual(Object.keys(protectedHeader).sort(), access_token_header_members);
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.match(protectedHeader.kid, /^sig_[0-9A-Za-z]{22}$/);
      // RFC 9068 2.2: iss, exp, aud, sub, client_id, iat, jti; scope for a scoped token.
      assert.equal(payload.iss, issuer);
      assert.ok(payload.aud === audience || (Array.isArray(payload.aud) && payload.aud.includes(audience)));
      for (const c of ['exp', 'iat', 'nbf']) assert.ok(Number.isInteger(payload[c]), `${c}: ${JSON.stringify(payload)}`);
      assert.ok(payload.nbf <= payload.iat + 1 && payload.iat < payload.exp, JSON.stringify(payload));
      assert.ok(payload.exp - payload.iat <= 86_400, 'at most 24 hours');
      assert.equal(typeof payload.jti, 'string');
      assert.ok(payload.jti.length >= 16, payload.jti);
      assert.equal(typeof payload.scope, 'string');
      assert.match(payload.workspace_id, /^ws_[0-9A-Za-z]{22}$/);
      if (expect.sub !== undefined) assert.equal(payload.sub, expect.sub);
      if (expect.client_id !== undefined) assert.equal(payload.client_id, expect.client_id);
      if (expect.scope !== undefined) assert.equal(payload.scope, expect.scope);
      if (expect.workspace_id !== undefined) assert.equal(payload.workspace_id, expect.workspace_id);
      if (expect.sid === true) assert.match(payload.sid, /^rtf_[0-9A-Za-z]{22}$/);
      if (expect.sid === false) assert.equal(payload.sid, undefined);
      verified++;
      return { payload, protectedHeader };
    },
  };
}
