// Helpers for the users, roles and sessions end-to-end tests (API4_SPEC): logging in, reading
// the session cookie, inviting a user all the way to a logged-in session, keys owned by users.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { http_request, iso_timestamp, random_suffix, session_cookie, unique_email } from './harness.mjs';

export const roles = ['owner', 'admin', 'member', 'auditor'];

/// A password nobody will guess and the server accepts (12-1024 bytes).
export function strong_password() {
  return `pw-${randomBytes(18).toString('base64url')}`;
}

/// Parses one Set-Cookie header: { name, value, attributes } with attribute names lowercased
/// (a flag attribute such as HttpOnly maps to true).
export function parse_set_cookie(header) {
  const [pair, ...attrs] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = {};
  for (const a of attrs) {
    const t = a.trim();
    if (t === '') continue;
    const i = t.indexOf('=');
    if (i < 0) attributes[t.toLowerCase()] = true;
    else attributes[t.slice(0, i).trim().toLowerCase()] = t.slice(i + 1).trim();
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/// Every Set-Cookie header of a response from the harness client (fetch Headers) or from
/// http_request (a plain object).
export function set_cookie_headers(res) {
  const h = res.headers;
  if (typeof h?.getSetCookie === 'function') return h.getSetCookie();
  const v = h?.['set-cookie'];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/// The session cookie a response sets (parsed), or undefined.
export function session_set_cookie(res) {
  return set_cookie_headers(res)
    .map(parse_set_cookie)
    .find((c) => c.name === session_cookie);
}

/// POST /v1/sessions. `from`: a local (source) address such as 127.0.0.7, to log in as
/// another client IP (login failures are throttled per IP). Resolves the response, plus
/// `session` ({ id, csrf, user_id, workspace_id, role, expires_at }) when it is 201.
export async function login(api, srv, { email, password, workspace, from } = {}) {
  const body = { email, password };
  if (workspace !== undefined) body.workspace = workspace;
  let res;
  if (from === undefined) {
    res = await api.post('/v1/sessions', { json: body });
  } else {
    const raw = await http_request(srv.port, {
      method: 'POST',
      path: '/v1/sessions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      local_address: from,
    });
    // The same shape as the fetch client's answers (a Headers object).
    const headers = new Headers();
    for (const [name, value] of Object.entries(raw.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    res = { ...raw, headers };
  }
  if (res.status === 201) {
    const cookie = session_set_cookie(res);
    assert.ok(cookie, `login answered 201 without a ${session_cookie} cookie`);
    res.session = { id: cookie.value, csrf: res.json?.csrf_token, ...res.json };
  }
  return res;
}

/// login, asserting 201: resolves the session.
export async function login_ok(api, srv, credentials) {
  const r = await login(api, srv, credentials);
  assert.equal(r.status, 201, `login of ${credentials.email}: ${r.status} ${r.text}`);
  return r.session;
}

/// Logs in a bootstrap's owner (its one-time password).
export function login_owner(api, srv, ws) {
  return login_ok(api, srv, { email: ws.owner_email, password: ws.owner_password });
}

/// `actor` ({ session } or { key }) invites a new person with `role`; they set a password with
/// the token and log in. Resolves { id, email, password, role, session, invitation }.
export async function add_user(api, srv, actor, { role, email = unique_email(role), display_name = `E2E ${role} ${random_suffix(4)}` }) {
  const inv = await api.post('/v1/users', { ...actor, json: { email, display_name, role } });
  assert.equal(inv.status, 201, `invite ${role}: ${inv.text}`);
  const password = strong_password();
  const sp = await api.post('/v1/users/set-password', { json: { token: inv.json.invitation_token, password } });
  assert.equal(sp.status, 204, `set-password: ${sp.text}`);
  const session = await login_ok(api, srv, { email, password });
  assert.equal(session.role, role);
  return { id: inv.json.id, email, password, role, session, invitation: inv.json };
}

/// A key created by `actor` (so owned by the actor's user). Resolves the create answer's JSON.
export async function create_owned_key(api, actor, fields = {}) {
  const r = await api.post('/v1/keys', {
    ...actor,
    json: { name: `owned-${random_suffix(6)}`, environment: 'test', scopes: [], ...fields },
  });
  assert.equal(r.status, 201, `create key: ${r.text}`);
  return r.json;
}

/// Changes a member's role (actor: { session } or { key }), asserting 200.
export async function set_role(api, actor, user_id, role) {
  const r = await api.patch(`/v1/users/${user_id}`, { ...actor, json: { role } });
  assert.equal(r.status, 200, `role of ${user_id} -> ${role}: ${r.text}`);
  assert.equal(r.json.role, role);
  return r.json;
}

/// Asserts the user object's exact members (API4_SPEC "Users").
export function assert_user_object(u, what = '') {
  const ctx = `${what}: ${JSON.stringify(u)}`;
  assert.deepEqual(Object.keys(u).sort(), ['display_name', 'email', 'id', 'password_set', 'role'], ctx);
  assert.match(u.id, /^usr_[0-9A-Za-z]{22}$/, ctx);
  assert.equal(typeof u.email, 'string', ctx);
  assert.equal(typeof u.display_name, 'string', ctx);
  assert.ok(roles.includes(u.role), ctx);
  assert.equal(typeof u.password_set, 'boolean', ctx);
}

/// Asserts the login answer's exact members.
export function assert_login_answer(body, what = '') {
  const ctx = `${what}: ${JSON.stringify(body)}`;
  assert.deepEqual(Object.keys(body).sort(), ['csrf_token', 'expires_at', 'role', 'user_id', 'workspace_id'], ctx);
  assert.match(body.user_id, /^usr_[0-9A-Za-z]{22}$/, ctx);
  assert.ok(roles.includes(body.role), ctx);
  assert.equal(typeof body.csrf_token, 'string', ctx);
  assert.ok(body.csrf_token.length >= 16, ctx);
  assert.match(body.expires_at, iso_timestamp, ctx);
}
