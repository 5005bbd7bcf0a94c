// POST /v1/keys/verify: every answer code, the exact answer shapes, the client IP and
// environment rules, and per-key rate limits (refused requests consume nothing).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, base62_alphabet, make_key, rfc3339, start_stack, valid_answer } from './harness.mjs';

let stack;
let api;
let admin;
let ws_id;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  admin = stack.admin_key;
  ws_id = stack.workspace.workspace_id;
});

after(async () => {
  if (stack) await stack.close();
});

async function create(fields) {
  const r = await api.create_key(admin, fields);
  assert.equal(r.status, 201, `create ${JSON.stringify(fields)}: ${r.text}`);
  return r.json;
}

const refused = (code) => ({ valid: false, code });

describe('codes', () => {
  test('VALID: the whole answer', async () => {
    const k = await create({ name: 'valid key', environment: 'live', scopes: ['leads:read', 'leads:write'] });
    const r = await api.verify(k.key);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(r.json, {
      valid: true,
      code: 'VALID',
      key_id: k.id,
      workspace_id: ws_id,
      environment: 'live',
      scopes: ['leads:read', 'leads:write'],
      expires_at: k.expires_at,
      name: 'valid key',
    });
    // With every optional member given and satisfied.
    const full = await api.verify(k.key, { required_scopes: ['leads:read'], ip: '203.0.113.9', environment: 'live' });
    assert.deepEqual(full.json, valid_answer(k, ws_id));
    const none = await api.verify(k.key, { required_scopes: [] });
    assert.equal(none.json.code, 'VALID');
  });

  test('NOT_FOUND and MALFORMED', async () => {
    assert.deepEqual((await api.verify(make_key('kl', 'live'))).json, refused('NOT_FOUND'));
    assert.deepEqual((await api.verify(make_key('zz', 'test'))).json, refused('NOT_FOUND'));
    const k = await create({ name: 'typo-source', environment: 'live' });
    const i = k.key.length - 10;
    const typo = k.key.slice(0, i) + base62_alphabet[(base62_alphabet.indexOf(k.key[i]) + 1) % 62] + k.key.slice(i + 1);
    for (const m of [typo, '', 'nope', `${k.key}x`, k.key.slice(0, -1)]) {
      assert.deepEqual((await api.verify(m)).json, refused('MALFORMED'), JSON.stringify(m));
    }
  });

  test('REVOKED, and revoked wins over expired and disabled', async () => {
    const k = await create({ name: 'to-revoke', environment: 'live' });
    assert.equal((await api.revoke_key(admin, k.id)).status, 204);
    assert.deepEqual((await api.verify(k.key)).json, refused('REVOKED'));
    const d = await create({ name: 'disabled-then-revoked', environment: 'live', enabled: false });
    assert.equal((await api.revoke_key(admin, d.id)).status, 204);
    assert.deepEqual((await api.verify(d.key)).json, refused('REVOKED'));
  });

  test('EXPIRED (rotated with no grace), and expired wins over disabled', async () => {
    const k = await create({ name: 'to-expire', environment: 'test' });
    const r = await api.rotate_key(admin, k.id, { grace_period_seconds: 0 });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await api.verify(k.key)).json, refused('EXPIRED'));
    const d = await create({ name: 'disabled-then-expired', environment: 'test', enabled: false });
    assert.equal((await api.rotate_key(admin, d.id, { grace_period_seconds: 0 })).status, 201);
    assert.deepEqual((await api.verify(d.key)).json, refused('EXPIRED'));
  });

  test('DISABLED', async () => {
    const k = await create({ name: 'off', environment: 'live', enabled: false });
    assert.deepEqual((await api.verify(k.key)).json, refused('DISABLED'));
  });

  test('FORBIDDEN_IP: the given ip, else the connection address; IPv4 and IPv6', async () => {
    const k = await create({
      name: 'fenced',
      environment: 'live',
      allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'],
    });
    for (const ip of ['10.0.0.1', '10.255.255.255', '2001:db8::1', '2001:db8:ffff::', '192.0.2.7', '::ffff:10.1.2.3']) {
      assert.equal((await api.verify(k.key, { ip })).json.code, 'VALID', ip);
    }
    for (const ip of ['11.0.0.1', '192.0.2.8', '2001:db9::1', '::1', '127.0.0.1']) {
      assert.deepEqual((await api.verify(k.key, { ip })).json, refused('FORBIDDEN_IP'), ip);
    }
    // No ip given: the connection's (127.0.0.1) is outside the list.
    assert.deepEqual((await api.verify(k.key)).json, refused('FORBIDDEN_IP'));
    const local = await create({ name: 'local-only', environment: 'live', allowed_cidrs: ['127.0.0.0/8'] });
    assert.equal((await api.verify(local.key)).json.code, 'VALID');
  });

  test('INSUFFICIENT_SCOPE: every required scope must be held', async () => {
    const k = await create({ name: 'scoped', environment: 'live', scopes: ['leads:read', 'reports:read'] });
    assert.equal((await api.verify(k.key, { required_scopes: ['leads:read', 'reports:read'] })).json.code, 'VALID');
    for (const required of [['leads:write'], ['leads:read', 'leads:write'], ['reports:write']]) {
      assert.deepEqual(
        (await api.verify(k.key, { required_scopes: required })).json,
        refused('INSUFFICIENT_SCOPE'),
        JSON.stringify(required),
      );
    }
  });

  test('WRONG_ENVIRONMENT: a test key never passes a check that requires live', async () => {
    const t = await create({ name: 'sandbox', environment: 'test', scopes: ['leads:read'] });
    const l = await create({ name: 'production', environment: 'live', scopes: ['leads:read'] });
    assert.deepEqual((await api.verify(t.key, { environment: 'live' })).json, refused('WRONG_ENVIRONMENT'));
    assert.deepEqual(
      (await api.verify(t.key, { environment: 'live', required_scopes: ['leads:read'], ip: '10.0.0.1' })).json,
      refused('WRONG_ENVIRONMENT'),
    );
    assert.equal((await api.verify(t.key, { environment: 'test' })).json.code, 'VALID');
    assert.equal((await api.verify(l.key, { environment: 'live' })).json.code, 'VALID');
    assert.equal((await api.verify(l.key, { environment: 'test' })).json.code, 'WRONG_ENVIRONMENT');
  });

  test('RATE_LIMITED with retry_after; the limit is per key', async () => {
    const k = await create({ name: 'limited', environment: 'live', rate_limit: { limit: 3, window_seconds: 60 } });
    const other = await create({ name: 'unlimited', environment: 'live' });
    for (let i = 0; i < 3; i++) assert.equal((await api.verify(k.key)).json.code, 'VALID', `request ${i + 1}`);
    const r = await api.verify(k.key);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'retry_after', 'valid']);
    assert.equal(r.json.valid, false);
    assert.equal(r.json.code, 'RATE_LIMITED');
    assert.ok(Number.isInteger(r.json.retry_after) && r.json.retry_after >= 1 && r.json.retry_after <= 60, r.text);
    assert.equal((await api.verify(other.key)).json.code, 'VALID');
  });

  test('refused requests do not consume the limit', async () => {
    const k = await create({
      name: 'limited-strict',
      environment: 'live',
      scopes: ['leads:read'],
      allowed_cidrs: ['10.0.0.0/8'],
      rate_limit: { limit: 2, window_seconds: 60 },
    });
    for (let i = 0; i < 5; i++) {
      assert.equal((await api.verify(k.key, { ip: '10.0.0.1', required_scopes: ['leads:write'] })).json.code, 'INSUFFICIENT_SCOPE');
      assert.equal((await api.verify(k.key, { ip: '192.0.2.1' })).json.code, 'FORBIDDEN_IP');
      assert.equal((await api.verify(k.key, { ip: '10.0.0.1', environment: 'test' })).json.code, 'WRONG_ENVIRONMENT');
    }
    assert.equal((await api.verify(k.key, { ip: '10.0.0.1' })).json.code, 'VALID');
    assert.equal((await api.verify(k.key, { ip: '10.0.0.1' })).json.code, 'VALID');
    assert.equal((await api.verify(k.key, { ip: '10.0.0.1' })).json.code, 'RATE_LIMITED');
  });

  test('a rate limit set by PATCH applies; removing it lifts it', async () => {
    const k = await create({ name: 'limited-later', environment: 'test' });
    const p = await api.patch_key(admin, k.id, { rate_limit: { limit: 1, window_seconds: 3600 } });
    assert.equal(p.status, 200, p.text);
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
    assert.equal((await api.verify(k.key)).json.code, 'RATE_LIMITED');
    assert.equal((await api.patch_key(admin, k.id, { rate_limit: null })).status, 200);
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
  });

  test('a refused answer never carries key details', async () => {
    const k = await create({ name: 'quiet', environment: 'test', enabled: false });
    const r = await api.verify(k.key);
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'valid']);
    assert.ok(!r.text.includes(k.id), 'the key id of a refused key is not disclosed');
  });
});

describe('requests', () => {
  test('bad ip, environment and required_scopes are 400', async () => {
    const k = await create({ name: 'bad-input', environment: 'test' });
    const cases = [
      [{ ip: 'not-an-ip' }, 'INVALID_FIELD'],
      [{ ip: '10.0.0.0/8' }, 'INVALID_FIELD'],
      [{ ip: '256.1.1.1' }, 'INVALID_FIELD'],
      [{ ip: 7 }, 'INVALID_FIELD'],
      [{ environment: 'prod' }, 'INVALID_FIELD'],
      [{ environment: 'LIVE' }, 'INVALID_FIELD'],
      [{ required_scopes: 'leads:read' }, 'INVALID_FIELD'],
      [{ required_scopes: [1] }, 'INVALID_FIELD'],
      [{ expires_at: rfc3339(Date.now()) }, 'UNKNOWN_FIELD'],
    ];
    for (const [extra, code] of cases) {
      assert_error(await api.verify(k.key, extra), 400, code, JSON.stringify(extra));
    }
  });

  test('verification needs no credentials and is answered 200 for every outcome', async () => {
    const r = await api.post('/v1/keys/verify', { json: { key: make_key() }, key: 'garbage' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, refused('NOT_FOUND'));
  });
});
