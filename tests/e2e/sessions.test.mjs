// Sessions for people (API4_SPEC "Principals", "Sessions"): login and logout, the cookie's
// attributes (HttpOnly, SameSite=Lax, Path=/, no Secure on loopback), CSRF on cookie writes
// (403 CSRF_FAILED without or with a wrong X-CSRF-Token), key-authenticated writes without
// CSRF, the Authorization header winning over a cookie, failed logins counted (LOGIN_FAILED)
// and throttled (429 after 10 per account and per IP).
//
// Logins that must fail come from their own loopback addresses (127.0.0.x), so that the
// per-IP throttle of one test never touches another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assert_error,
  command_event_count,
  iso_timestamp,
  poll,
  session_cookie,
  start_stack,
  unique_email,
} from './harness.mjs';
import {
  add_user,
  assert_login_answer,
  login,
  login_ok,
  login_owner,
  session_set_cookie,
  set_cookie_headers,
  strong_password,
} from './people.mjs';

let stack;
let api;
let owner;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  owner = await login_owner(api, stack.server, stack.workspace);
});

after(async () => {
  if (stack) await stack.close();
});

const owner_credentials = () => ({ email: stack.workspace.owner_email, password: stack.workspace.owner_password });
const new_key = (name = 'session-key') => ({ name, environment: 'test', scopes: ['leads:read'] });

describe('login', () => {
  test('201 with the session cookie: HttpOnly, SameSite=Lax, Path=/, not Secure on loopback', async () => {
    const r = await login(api, stack.server, owner_credentials());
    assert.equal(r.status, 201, r.text);
    assert_login_answer(r.json, 'login');
    assert.equal(r.json.role, 'owner');
    const all = set_cookie_headers(r);
    assert.equal(all.length, 1, `one Set-Cookie: ${JSON.stringify(all)}`);
    const c = session_set_cookie(r);
    assert.equal(c.name, session_cookie);
    assert.match(c.value, /^[A-Za-z0-9_-]{43}$/, 'the cookie is 32 random bytes, base64url');
    assert.equal(c.attributes.httponly, true, `HttpOnly: ${all[0]}`);
    assert.equal(String(c.attributes.samesite).toLowerCase(), 'lax', `SameSite=Lax: ${all[0]}`);
    assert.equal(c.attributes.path, '/', `Path=/: ${all[0]}`);
    assert.ok(!('secure' in c.attributes), `no Secure on a loopback listener: ${all[0]}`);
    assert.ok(!('domain' in c.attributes), `a host-only cookie: ${all[0]}`);
    if ('max-age' in c.attributes) {
      const max_age = Number(c.attributes['max-age']);
      assert.ok(max_age > 0 && max_age <= 12 * 3600, `Max-Age within the absolute limit: ${all[0]}`);
    }
    // The body never carries the cookie; the CSRF token is something else.
    assert.ok(!r.text.includes(c.value), 'the session id is in the body');
    assert.notEqual(r.json.csrf_token, c.value);
    const expires = Date.parse(r.json.expires_at);
    assert.ok(expires > Date.now() && expires <= Date.now() + 12 * 3600_000 + 60_000, `expires_at ${r.json.expires_at}`);
    // Two logins are two sessions with their own CSRF tokens.
    const again = await login_ok(api, stack.server, owner_credentials());
    assert.notEqual(again.id, c.value);
    assert.notEqual(again.csrf, r.json.csrf_token);
  });

  test('GET /v1/sessions/current with the cookie; 401 without or with a bad one', async () => {
    const r = await api.get('/v1/sessions/current', { session: owner });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['csrf_token', 'email', 'expires_at', 'role', 'user_id', 'workspace_id']);
    assert.equal(r.json.csrf_token, owner.csrf, 'the same CSRF token as the login answer (a reloaded page needs it)');
    assert.deepEqual(
      { user_id: r.json.user_id, workspace_id: r.json.workspace_id, role: r.json.role, email: r.json.email },
      { user_id: stack.workspace.owner_user_id, workspace_id: stack.workspace.workspace_id, role: 'owner', email: stack.workspace.owner_email },
    );
    assert.match(r.json.expires_at, iso_timestamp);
    assert_error(await api.get('/v1/sessions/current'), 401, 'UNAUTHORIZED', 'no cookie');
    for (const bad of ['', 'x', 'A'.repeat(43), `${owner.id}x`, owner.id.slice(1), owner.csrf, '%00'.repeat(20)]) {
      const res = await api.get('/v1/sessions/current', { headers: { cookie: `${session_cookie}=${bad}` } });
      assert_error(res, 401, 'UNAUTHORIZED', `cookie ${JSON.stringify(bad.slice(0, 10))}`);
    }
    // Other cookies beside ours are ignored; ours is found among them.
    const mixed = await api.get('/v1/sessions/current', { headers: { cookie: `theme=dark; ${session_cookie}=${owner.id}; x=1` } });
    assert.equal(mixed.status, 200, mixed.text);
  });

  test('wrong email or wrong password: the same 401 INVALID_CREDENTIALS, no cookie', async () => {
    const from = '127.0.0.2';
    const wrong_password = await login(api, stack.server, { email: stack.workspace.owner_email, password: 'not-the-password', from });
    const no_such_user = await login(api, stack.server, { email: unique_email('nobody'), password: 'not-the-password', from });
    for (const [r, what] of [[wrong_password, 'wrong password'], [no_such_user, 'unknown email']]) {
      assert_error(r, 401, 'INVALID_CREDENTIALS', what);
      assert.equal(set_cookie_headers(r).length, 0, `${what}: no Set-Cookie`);
    }
    const strip = (j) => ({ ...j, request_id: undefined });
    assert.deepEqual(strip(wrong_password.json), strip(no_such_user.json), 'one body for both');
  });

  test('malformed logins are 400 and set no cookie', async () => {
    for (const [body, code] of [
      [{ email: stack.workspace.owner_email }, 'MISSING_FIELD'],
      [{ password: 'x'.repeat(12) }, 'MISSING_FIELD'],
      [{ ...owner_credentials(), remember: true }, 'UNKNOWN_FIELD'],
      [{ email: 1, password: 'x'.repeat(12) }, 'INVALID_FIELD'],
    ]) {
      const r = await api.post('/v1/sessions', { json: body });
      assert_error(r, 400, code, JSON.stringify(body).slice(0, 60));
      assert.equal(set_cookie_headers(r).length, 0);
    }
  });
});

describe('CSRF', () => {
  test('a cookie write without X-CSRF-Token, or with a wrong one, is 403 CSRF_FAILED and changes nothing', async () => {
    const other = await login_ok(api, stack.server, owner_credentials());
    const victim = await api.create_key(stack.admin_key, new_key('csrf-victim'));
    assert.equal(victim.status, 201, victim.text);
    const events = await command_event_count(stack.db);
    const tokens = [false, '', 'wrong', other.csrf, owner.csrf.slice(0, -1), `${owner.csrf}x`, owner.id];
    for (const csrf of tokens) {
      const what = `X-CSRF-Token ${csrf === false ? 'absent' : JSON.stringify(csrf.slice(0, 8))}`;
      assert_error(await api.post('/v1/keys', { session: owner, csrf, json: new_key() }), 403, 'CSRF_FAILED', `POST ${what}`);
      assert_error(await api.patch(`/v1/keys/${victim.json.id}`, { session: owner, csrf, json: { name: 'csrf-renamed' } }), 403, 'CSRF_FAILED', `PATCH ${what}`);
      assert_error(await api.post(`/v1/keys/${victim.json.id}/rotate`, { session: owner, csrf, json: {} }), 403, 'CSRF_FAILED', `rotate ${what}`);
      assert_error(await api.del(`/v1/keys/${victim.json.id}`, { session: owner, csrf }), 403, 'CSRF_FAILED', `DELETE ${what}`);
      assert_error(
        await api.post('/v1/users', { session: owner, csrf, json: { email: unique_email('csrf'), display_name: 'C', role: 'member' } }),
        403,
        'CSRF_FAILED',
        `invite ${what}`,
      );
      assert_error(await api.patch('/v1/workspace', { session: owner, csrf, json: {} }), 403, 'CSRF_FAILED', `PATCH workspace ${what}`);
      assert_error(await api.del('/v1/sessions/current', { session: owner, csrf }), 403, 'CSRF_FAILED', `logout ${what}`);
    }
    assert.equal(await command_event_count(stack.db), events, 'refused writes appended nothing');
    const v = await api.verify(victim.json.key);
    assert.equal(v.json.valid, true, v.text);
    assert.equal(v.json.name, 'csrf-victim');
    assert.equal((await api.get('/v1/sessions/current', { session: owner })).status, 200, 'the refused logout ended nothing');
  });

  test('with the session\'s token the same writes succeed, as the session\'s user', async () => {
    const c = await api.post('/v1/keys', { session: owner, json: new_key('csrf-ok') });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.owner_user_id, stack.workspace.owner_user_id);
    const p = await api.patch(`/v1/keys/${c.json.id}`, { session: owner, json: { name: 'csrf-ok-renamed' } });
    assert.equal(p.status, 200, p.text);
    const rot = await api.post(`/v1/keys/${c.json.id}/rotate`, { session: owner, json: { grace_period_seconds: 0 } });
    assert.equal(rot.status, 201, rot.text);
    assert.equal(rot.json.owner_user_id, stack.workspace.owner_user_id);
    const d = await api.del(`/v1/keys/${rot.json.id}`, { session: owner });
    assert.equal(d.status, 204, d.text);
    assert.equal((await api.verify(rot.json.key)).json.code, 'REVOKED');
  });

  test('cookie reads need no CSRF token', async () => {
    for (const p of ['/v1/keys', '/v1/users', '/v1/workspace', '/v1/auth-failures', '/v1/sessions/current', `/v1/keys/${stack.workspace.key_id}`]) {
      const r = await api.get(p, { session: owner });
      assert.equal(r.status, 200, `GET ${p}: ${r.text}`);
    }
  });

  test('key-authenticated writes need no CSRF token; Authorization wins over a cookie', async () => {
    const plain = await api.create_key(stack.admin_key, new_key('key-write'));
    assert.equal(plain.status, 201, plain.text);
    assert.equal(plain.json.owner_user_id, stack.workspace.owner_user_id);
    // A member's cookie beside the owner's admin key, without any CSRF token: the key acts.
    const member = await add_user(api, stack.server, { session: owner }, { role: 'member' });
    const both = await api.post('/v1/keys', {
      key: stack.admin_key,
      headers: { cookie: `${session_cookie}=${member.session.id}` },
      json: new_key('key-and-cookie'),
    });
    assert.equal(both.status, 201, both.text);
    assert.equal(both.json.owner_user_id, stack.workspace.owner_user_id, 'the key\'s owner, not the cookie\'s user');
    // An admin-only action the member's cookie could never do, done by the key.
    const inv = await api.post('/v1/users', {
      key: stack.admin_key,
      headers: { cookie: `${session_cookie}=${member.session.id}` },
      json: { email: unique_email('by-key'), display_name: 'By Key', role: 'member' },
    });
    assert.equal(inv.status, 201, inv.text);
    const del = await api.del(`/v1/keys/${plain.json.id}`, { key: stack.admin_key });
    assert.equal(del.status, 204, del.text);
  });
});

describe('logout', () => {
  test('DELETE /v1/sessions/current ends the session and clears the cookie', async () => {
    const s = await login_ok(api, stack.server, owner_credentials());
    const keep = await login_ok(api, stack.server, owner_credentials());
    const r = await api.del('/v1/sessions/current', { session: s });
    assert.equal(r.status, 204, r.text);
    const cleared = session_set_cookie(r);
    assert.ok(cleared, 'logout sets the cookie to clear it');
    const expired_date = cleared.attributes.expires !== undefined && Date.parse(cleared.attributes.expires) <= Date.now();
    assert.ok(cleared.attributes['max-age'] === '0' || expired_date, `the cookie expires now: ${set_cookie_headers(r)}`);
    assert.ok(cleared.value === '' || cleared.value !== s.id, 'the cleared cookie carries no session');
    assert.equal(cleared.attributes.path, '/');
    assert_error(await api.get('/v1/sessions/current', { session: s }), 401, 'UNAUTHORIZED', 'after logout');
    assert_error(await api.get('/v1/keys', { session: s }), 401, 'UNAUTHORIZED', 'after logout, a read');
    assert_error(await api.post('/v1/keys', { session: s, json: new_key() }), 401, 'UNAUTHORIZED', 'after logout, a write');
    // Logging out one session leaves the others.
    assert.equal((await api.get('/v1/sessions/current', { session: keep })).status, 200);
    // Logging out twice: the session is gone.
    assert_error(await api.del('/v1/sessions/current', { session: s }), 401, 'UNAUTHORIZED', 'second logout');
  });

  test('sessions/current is for cookies: a key is not a session', async () => {
    const r = await api.get('/v1/sessions/current', { key: stack.admin_key });
    assert.ok([401, 403, 404].includes(r.status) && r.status !== 200, `${r.status} ${r.text}`);
  });
});

describe('failed logins', () => {
  test('are counted in /v1/auth-failures as LOGIN_FAILED for the account\'s workspace', async () => {
    const from = '127.0.0.21';
    for (let i = 0; i < 3; i++) {
      const r = await login(api, stack.server, { email: stack.workspace.owner_email, password: `wrong-${i}-password`, from });
      assert_error(r, 401, 'INVALID_CREDENTIALS', `attempt ${i + 1}`);
    }
    const seen = await poll(
      () => api.get('/v1/auth-failures', { session: owner }),
      (r) => r.status === 200 && r.json.data.some((f) => f.source_ip === from && f.code === 'LOGIN_FAILED' && f.count >= 3),
      { deadline_ms: 5_000, what: 'three LOGIN_FAILED from 127.0.0.21' },
    );
    const row = seen.json.data.find((f) => f.source_ip === from && f.code === 'LOGIN_FAILED');
    assert.equal(row.count, 3, JSON.stringify(row));
    assert.match(row.first_at, iso_timestamp);
    assert.match(row.last_at, iso_timestamp);
    // The admin key (audit:read) sees the same; another workspace sees none of it.
    const by_key = await api.get('/v1/auth-failures', { key: stack.admin_key });
    assert.ok(by_key.json.data.some((f) => f.source_ip === from && f.code === 'LOGIN_FAILED'), by_key.text);
    const other = await stack.bootstrap_workspace();
    const theirs = await api.get('/v1/auth-failures', { key: other.key });
    assert.equal(theirs.status, 200, theirs.text);
    assert.ok(!theirs.json.data.some((f) => f.source_ip === from), `another workspace sees our failures: ${theirs.text}`);
  });

  test('an account is throttled after 10 failures (429 RATE_LIMITED + Retry-After), from any IP', async () => {
    const target = await add_user(api, stack.server, { session: owner }, { role: 'member' });
    for (let i = 0; i < 10; i++) {
      const r = await login(api, stack.server, { email: target.email, password: `wrong-${i}-password`, from: `127.0.0.${31 + i}` });
      assert_error(r, 401, 'INVALID_CREDENTIALS', `failure ${i + 1}`);
    }
    // Even the right password, from a fresh address, is refused now.
    const r = await login(api, stack.server, { email: target.email, password: target.password, from: '127.0.0.45' });
    assert_error(r, 429, 'RATE_LIMITED', 'the 11th attempt');
    assert.ok(Number.isInteger(r.json.retry_after) && r.json.retry_after > 0 && r.json.retry_after <= 15 * 60, r.text);
    assert.equal(r.headers.get('retry-after'), String(r.json.retry_after));
    assert.equal(set_cookie_headers(r).length, 0);
    // Another account from that address is not throttled; the account's live session still is fine.
    const fine = await login(api, stack.server, { ...owner_credentials(), from: '127.0.0.45' });
    assert.equal(fine.status, 201, fine.text);
    assert.equal((await api.get('/v1/sessions/current', { session: target.session })).status, 200);
  });

  test('an IP is throttled after 10 failures, whatever the account', async () => {
    const from = '127.0.0.51';
    for (let i = 0; i < 10; i++) {
      const r = await login(api, stack.server, { email: unique_email(`guess${i}`), password: strong_password(), from });
      assert_error(r, 401, 'INVALID_CREDENTIALS', `failure ${i + 1}`);
    }
    const r = await login(api, stack.server, { ...owner_credentials(), from });
    assert_error(r, 429, 'RATE_LIMITED', 'the right password from a throttled IP');
    assert.equal(r.headers.get('retry-after'), String(r.json.retry_after));
    // The same account from another address logs in.
    const elsewhere = await login(api, stack.server, { ...owner_credentials(), from: '127.0.0.52' });
    assert.equal(elsewhere.status, 201, elsewhere.text);
  });
});
