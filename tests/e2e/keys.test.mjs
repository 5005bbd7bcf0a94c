// The basic key flow over HTTP: create -> verify -> revoke -> verify, metadata without secrets,
// workspace isolation, idempotent DELETE, NOT_FOUND and MALFORMED verification. (The rest of
// the lifecycle is in lifecycle.test.mjs.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assert_error,
  assert_key_object,
  base62_alphabet,
  checksum_ok,
  key_body,
  key_pattern,
  make_key,
  start_stack,
  valid_answer,
} from './harness.mjs';

let stack;
let api;

before(async () => {
  stack = await start_stack();
  api = stack.api;
});

after(async () => {
  if (stack) await stack.close();
});

const iso_timestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function assert_no_secret(body, key) {
  for (const f of ['key', 'key_hash', 'hash']) {
    assert.ok(!(f in body), `metadata must not contain "${f}": ${JSON.stringify(body)}`);
  }
  assert.ok(!JSON.stringify(body).includes(key_body(key)), 'metadata contains the key body');
}

describe('health', () => {
  test('GET /healthz answers ok', async () => {
    const r = await api.get('/healthz');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { status: 'ok' });
    assert.match(r.headers.get('request-id') ?? '', /^req_/);
  });

  test('GET /readyz answers ready once the projection caught up', async () => {
    const r = await api.get('/readyz');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ready', r.text);
  });
});

describe('key lifecycle', () => {
  test('create -> verify (valid) -> revoke -> verify (REVOKED)', async () => {
    const created = await api.create_key(stack.admin_key, {
      name: 'lifecycle-key',
      environment: 'live',
      scopes: ['leads:read', 'leads:write'],
    });
    assert.equal(created.status, 201, created.text);
    const k = created.json;
    const prefix = stack.workspace.prefix ?? 'kl';
    assert.match(k.key, key_pattern(prefix));
    assert.ok(k.key.startsWith(`${prefix}_live_`), k.key);
    assert.ok(checksum_ok(k.key), 'the issued key carries a correct CRC32 checksum');
    assert.equal(k.start, k.key.slice(0, `${prefix}_live_`.length + 4));
    assert.equal(k.name, 'lifecycle-key');
    assert.equal(k.environment, 'live');
    assert.deepEqual(k.scopes, ['leads:read', 'leads:write']);
    assert.equal(k.workspace_id, stack.workspace.workspace_id);
    assert.equal(k.status, 'active');
    assert.match(k.created_at, iso_timestamp);
    assert.equal(typeof k.id, 'string');
    assert.ok(k.id.length > 0);
    assert.ok(!('key_hash' in k) && !('hash' in k), 'no hash in the create response');

    const v1 = await api.verify(k.key);
    assert.equal(v1.status, 200, v1.text);
    assert.deepEqual(v1.json, {
      valid: true,
      code: 'VALID',
      key_id: k.id,
      workspace_id: stack.workspace.workspace_id,
      environment: 'live',
      scopes: ['leads:read', 'leads:write'],
      expires_at: k.expires_at,
      name: 'lifecycle-key',
    });

    const del = await api.revoke_key(stack.admin_key, k.id);
    assert.equal(del.status, 204, del.text);
    assert.equal(del.text, '');

    // The revoking command answers only after its own node applied the event: no waiting.
    const v2 = await api.verify(k.key);
    assert.equal(v2.status, 200, v2.text);
    assert.deepEqual(v2.json, { valid: false, code: 'REVOKED' });

    const meta = await api.get_key(stack.admin_key, k.id);
    assert.equal(meta.status, 200, meta.text);
    assert.equal(meta.json.status, 'revoked');
    assert.match(meta.json.revoked_at, iso_timestamp);
  });

  test('every key is unique and an empty scope list is allowed', async () => {
    const a = await api.create_key(stack.admin_key, { name: 'no-scopes', environment: 'test' });
    const b = await api.create_key(stack.admin_key, { name: 'no-scopes', environment: 'test', scopes: [] });
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.notEqual(a.json.key, b.json.key);
    assert.notEqual(a.json.id, b.json.id);
    assert.deepEqual(a.json.scopes, []);
    assert.ok(a.json.key.includes('_test_'));
    const v = await api.verify(a.json.key);
    assert.deepEqual(v.json, valid_answer(a.json, stack.workspace.workspace_id));
  });
});

describe('GET /v1/keys/{id}', () => {
  test('returns metadata and never the secret or a hash', async () => {
    const c = await api.create_key(stack.admin_key, {
      name: 'meta.key_1',
      environment: 'test',
      scopes: ['reports:read'],
    });
    assert.equal(c.status, 201, c.text);
    const r = await api.get_key(stack.admin_key, c.json.id);
    assert.equal(r.status, 200, r.text);
    assert_no_secret(r.json, c.json.key);
    assert_key_object(r.json, { what: 'GET' });
    const { key, ...without_secret } = c.json;
    assert.deepEqual(r.json, without_secret);
    assert.equal(r.json.name, 'meta.key_1');
    assert.equal(r.json.status, 'active');
    assert.equal(r.json.revoked_at, null);
  });

  test('an unknown id is 404 NOT_FOUND', async () => {
    const r = await api.get_key(stack.admin_key, 'key_0000000000000000000000');
    assert_error(r, 404, 'NOT_FOUND', 'unknown id');
    const weird = await api.get_key(stack.admin_key, 'not a key id at all');
    assert_error(weird, 404, 'NOT_FOUND', 'garbage id');
  });

  test("another workspace's key is 404, for GET and DELETE", async () => {
    const other = await stack.bootstrap_workspace();
    assert.notEqual(other.workspace_id, stack.workspace.workspace_id);

    const mine = await api.create_key(stack.admin_key, { name: 'mine', environment: 'live' });
    assert.equal(mine.status, 201, mine.text);
    const theirs = await api.create_key(other.key, { name: 'theirs', environment: 'live' });
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.json.workspace_id, other.workspace_id);

    assert_error(await api.get_key(other.key, mine.json.id), 404, 'NOT_FOUND', 'cross-workspace GET');
    assert_error(await api.get_key(stack.admin_key, theirs.json.id), 404, 'NOT_FOUND', 'cross-workspace GET');
    assert_error(await api.revoke_key(other.key, mine.json.id), 404, 'NOT_FOUND', 'cross-workspace DELETE');

    // The failed cross-workspace DELETE changed nothing.
    const v = await api.verify(mine.json.key);
    assert.equal(v.json.valid, true, v.text);
    const own = await api.get_key(other.key, theirs.json.id);
    assert.equal(own.status, 200, own.text);
  });
});

describe('DELETE /v1/keys/{id}', () => {
  test('is idempotent: a second DELETE is 204 and changes nothing', async () => {
    const c = await api.create_key(stack.admin_key, { name: 'twice', environment: 'test' });
    assert.equal(c.status, 201, c.text);
    assert.equal((await api.revoke_key(stack.admin_key, c.json.id)).status, 204);
    const first = await api.get_key(stack.admin_key, c.json.id);
    assert.equal(first.json.status, 'revoked');

    const again = await api.revoke_key(stack.admin_key, c.json.id);
    assert.equal(again.status, 204, again.text);
    const second = await api.get_key(stack.admin_key, c.json.id);
    assert.deepEqual(second.json, first.json, 'a second DELETE must not move revoked_at');

    const events = await stack.db.query(
      "SELECT count(*)::int AS n FROM events WHERE stream_id LIKE '%' || $1",
      [c.json.id],
    );
    assert.equal(events.rows[0].n, 2, 'exactly KeyCreated and one KeyRevoked');
  });

  test('revoking one key leaves the others working', async () => {
    const a = await api.create_key(stack.admin_key, { name: 'keep', environment: 'live' });
    const b = await api.create_key(stack.admin_key, { name: 'drop', environment: 'live' });
    assert.equal((await api.revoke_key(stack.admin_key, b.json.id)).status, 204);
    assert.equal((await api.verify(a.json.key)).json.valid, true);
    assert.equal((await api.verify(stack.admin_key)).json.valid, true);
    assert.equal((await api.verify(b.json.key)).json.code, 'REVOKED');
  });

  test('an unknown id is 404', async () => {
    assert_error(
      await api.revoke_key(stack.admin_key, 'key_0000000000000000000000'),
      404,
      'NOT_FOUND',
      'DELETE unknown',
    );
  });
});

describe('POST /v1/keys/verify', () => {
  test('a well-formed key nobody issued is NOT_FOUND', async () => {
    for (const env of ['live', 'test']) {
      const k = make_key(stack.workspace.prefix ?? 'kl', env);
      assert.ok(checksum_ok(k));
      const r = await api.verify(k);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { valid: false, code: 'NOT_FOUND' });
    }
    // Another prefix, equally well-formed.
    const r = await api.verify(make_key('zz9', 'live'));
    assert.deepEqual(r.json, { valid: false, code: 'NOT_FOUND' });
  });

  test('typos and bad checksums are MALFORMED', async () => {
    const c = await api.create_key(stack.admin_key, { name: 'typo', environment: 'live' });
    const key = c.json.key;
    // One character of the random part changed: the checksum no longer matches.
    const i = key.length - 10;
    const swapped = base62_alphabet[(base62_alphabet.indexOf(key[i]) + 1) % 62];
    const typo = key.slice(0, i) + swapped + key.slice(i + 1);
    assert.ok(!checksum_ok(typo));
    const bad_checksum = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');

    const malformed = [
      typo,
      bad_checksum,
      key.slice(0, -1),  // too short
      `${key}A`,  // too long
      key.replace('_live_', '_prod_'),
      key.replace('_live_', '-live-'),
      key.toUpperCase(),
      `${key.slice(0, -3)}!!!`,
      '',
      'kl_live_',
      'not a key',
      'x'.repeat(1000),
      `Bearer ${key}`,
    ];
    for (const m of malformed) {
      const r = await api.verify(m);
      assert.equal(r.status, 200, `${JSON.stringify(m.slice(0, 60))}: ${r.text}`);
      assert.deepEqual(r.json, { valid: false, code: 'MALFORMED' }, JSON.stringify(m.slice(0, 60)));
    }
    // The original still verifies.
    assert.equal((await api.verify(key)).json.valid, true);
  });

  test('needs no Authorization header and ignores one', async () => {
    const c = await api.create_key(stack.admin_key, { name: 'noauth', environment: 'test' });
    const r = await api.post('/v1/keys/verify', { json: { key: c.json.key }, key: 'garbage' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.valid, true);
  });

  test('the body must be {"key": string}', async () => {
    assert_error(await api.post('/v1/keys/verify', { json: {} }), 400, 'MISSING_FIELD', 'no key');
    assert_error(await api.post('/v1/keys/verify', { json: { key: 5 } }), 400, 'INVALID_FIELD', 'key: 5');
    assert_error(
      await api.post('/v1/keys/verify', { json: { key: 'x', extra: 1 } }),
      400,
      'UNKNOWN_FIELD',
      'unknown field',
    );
  });
});

describe('routing', () => {
  test('unknown paths are 404 and wrong methods 405, both as JSON', async () => {
    assert_error(await api.get('/nope'), 404, 'NO_ROUTE', 'unknown path');
    assert_error(await api.get('/v1/nothing'), 404, 'NO_ROUTE', 'unknown path under /v1');
    assert_error(await api.request('PUT', '/v1/keys', { key: stack.admin_key }), 405, 'METHOD_NOT_ALLOWED', 'PUT');
    assert_error(await api.post('/healthz', { json: {} }), 405, 'METHOD_NOT_ALLOWED', 'POST healthz');
  });
});
