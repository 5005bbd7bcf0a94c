// Idempotency-Key on every command (POST /v1/keys, PATCH, rotate, DELETE): a retry with the
// same key and body gets the first response byte for byte (the same secret) and appends
// nothing; the same key with another body, path or route gets 422 IDEMPOTENCY_KEY_REUSED.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, command_event_count, command_event_types, random_suffix, start_stack } from './harness.mjs';

let stack;
let api;
let admin;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  admin = stack.admin_key;
});

after(async () => {
  if (stack) await stack.close();
});

const fresh_key = () => `idem-${random_suffix(16)}`;

async function create(fields) {
  const r = await api.create_key(admin, fields);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/// The second answer is a replay of the first: same status, Location and bytes.
function assert_replay(first, again, what) {
  assert.equal(again.status, first.status, `${what}: ${again.text}`);
  assert.equal(again.text, first.text, `${what}: the body is byte-identical`);
  assert.equal(again.headers.get('location'), first.headers.get('location'), `${what}: Location`);
  assert.equal(again.headers.get('idempotent-replayed'), 'true', `${what}: Idempotent-Replayed`);
  assert.notEqual(first.headers.get('idempotent-replayed'), 'true', `${what}: the first answer is no replay`);
  assert.equal(again.headers.get('keyledger-version'), '2026-11-23', what);
}

describe('replays', () => {
  test('POST /v1/keys: the same secret again, nothing appended; another body is 422', async () => {
    const k = fresh_key();
    const body = { name: 'idempotent-create', environment: 'live', scopes: ['leads:read'] };
    const first = await api.create_key(admin, body, { idempotency_key: k });
    assert.equal(first.status, 201, first.text);
    const count = await command_event_count(stack.db);
    const again = await api.create_key(admin, body, { idempotency_key: k });
    assert_replay(first, again, 'create');
    assert.match(again.headers.get('cache-control') ?? '', /no-store/, 'a replayed secret is not cacheable either');
    assert.equal(await command_event_count(stack.db), count, 'the replay appended nothing');
    assert.equal((await api.verify(first.json.key)).json.code, 'VALID');

    const other = await api.create_key(admin, { ...body, name: 'something else' }, { idempotency_key: k });
    assert_error(other, 422, 'IDEMPOTENCY_KEY_REUSED', 'another body');
    assert.equal(await command_event_count(stack.db), count, 'the 422 appended nothing');

    // Without the header, the same body creates a new key every time.
    const plain = await api.create_key(admin, body);
    assert.equal(plain.status, 201, plain.text);
    assert.notEqual(plain.json.id, first.json.id);
  });

  test('PATCH: the first answer again, even after a later change; nothing appended', async () => {
    const key = await create({ name: 'idem-patch', environment: 'test' });
    const k = fresh_key();
    const first = await api.patch_key(admin, key.id, { name: 'idem-patched' }, { idempotency_key: k });
    assert.equal(first.status, 200, first.text);
    const later = await api.patch_key(admin, key.id, { name: 'idem-later' });
    assert.equal(later.status, 200, later.text);
    const types = await command_event_types(stack.db, key.id);
    assert.deepEqual(types, ['KeyCreated', 'KeyUpdated', 'KeyUpdated']);

    const again = await api.patch_key(admin, key.id, { name: 'idem-patched' }, { idempotency_key: k });
    assert_replay(first, again, 'PATCH');
    assert.equal(again.json.name, 'idem-patched');
    assert.deepEqual(await command_event_types(stack.db, key.id), types, 'the replay appended nothing');
    assert.equal((await api.get_key(admin, key.id)).json.name, 'idem-later', 'the replay changed nothing');

    assert_error(
      await api.patch_key(admin, key.id, { name: 'idem-third' }, { idempotency_key: k }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'PATCH, another body',
    );
  });

  test('rotate: the same new key again, not a second rotation nor a 409', async () => {
    const key = await create({ name: 'idem-rotate', environment: 'live' });
    const k = fresh_key();
    const first = await api.rotate_key(admin, key.id, { grace_period_seconds: 60 }, { idempotency_key: k });
    assert.equal(first.status, 201, first.text);
    const count = await command_event_count(stack.db);
    const again = await api.rotate_key(admin, key.id, { grace_period_seconds: 60 }, { idempotency_key: k });
    assert_replay(first, again, 'rotate');
    assert.equal(again.json.key, first.json.key);
    assert.equal(await command_event_count(stack.db), count);
    assert.deepEqual(await command_event_types(stack.db, key.id), ['KeyCreated', 'KeyRotated']);
    assert_error(
      await api.rotate_key(admin, key.id, { grace_period_seconds: 0 }, { idempotency_key: k }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'rotate, another body',
    );
    // Without the header it is a rotation of a rotated key.
    assert_error(await api.rotate_key(admin, key.id, { grace_period_seconds: 60 }), 409, 'KEY_ALREADY_ROTATED', 'no header');
  });

  test('rotate with an empty body replays too', async () => {
    const key = await create({ name: 'idem-rotate-empty', environment: 'test' });
    const k = fresh_key();
    const first = await api.rotate_key(admin, key.id, undefined, { idempotency_key: k });
    assert.equal(first.status, 201, first.text);
    const again = await api.rotate_key(admin, key.id, undefined, { idempotency_key: k });
    assert_replay(first, again, 'rotate, empty body');
  });

  test('DELETE: 204 again with Idempotent-Replayed; another key id is 422', async () => {
    const a = await create({ name: 'idem-delete-a', environment: 'test' });
    const b = await create({ name: 'idem-delete-b', environment: 'test' });
    const k = fresh_key();
    const first = await api.revoke_key(admin, a.id, { idempotency_key: k });
    assert.equal(first.status, 204, first.text);
    const again = await api.revoke_key(admin, a.id, { idempotency_key: k });
    assert_replay(first, again, 'DELETE');
    assert.deepEqual(await command_event_types(stack.db, a.id), ['KeyCreated', 'KeyRevoked']);
    assert_error(await api.revoke_key(admin, b.id, { idempotency_key: k }), 422, 'IDEMPOTENCY_KEY_REUSED', 'DELETE, other id');
    assert.equal((await api.verify(b.key)).json.code, 'VALID', 'the refused DELETE revoked nothing');
  });
});

describe('scope and limits', () => {
  test('the same Idempotency-Key on another route is 422', async () => {
    const key = await create({ name: 'idem-routes', environment: 'test' });
    const k = fresh_key();
    assert.equal((await api.patch_key(admin, key.id, { name: 'idem-routes-2' }, { idempotency_key: k })).status, 200);
    const count = await command_event_count(stack.db);
    assert_error(await api.rotate_key(admin, key.id, undefined, { idempotency_key: k }), 422, 'IDEMPOTENCY_KEY_REUSED', 'rotate');
    assert_error(await api.revoke_key(admin, key.id, { idempotency_key: k }), 422, 'IDEMPOTENCY_KEY_REUSED', 'DELETE');
    assert_error(
      await api.create_key(admin, { name: 'idem-routes-2', environment: 'test' }, { idempotency_key: k }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'POST /v1/keys',
    );
    assert.equal(await command_event_count(stack.db), count);
  });

  test('Idempotency-Keys belong to the calling key: another caller is not replayed', async () => {
    const other_admin = await create({ name: 'second-admin', environment: 'live', scopes: ['keys:read', 'keys:write'] });
    const k = fresh_key();
    const body = { name: 'same-idem-two-callers', environment: 'test' };
    const mine = await api.create_key(admin, body, { idempotency_key: k });
    const theirs = await api.create_key(other_admin.key, body, { idempotency_key: k });
    assert.equal(mine.status, 201, mine.text);
    assert.equal(theirs.status, 201, theirs.text);
    assert.notEqual(theirs.json.id, mine.json.id);
    assert.notEqual(theirs.headers.get('idempotent-replayed'), 'true');
  });

  test('a refused command is answered the same on retry and appends nothing', async () => {
    const k = fresh_key();
    const count = await command_event_count(stack.db);
    const first = await api.create_key(admin, { name: '', environment: 'test' }, { idempotency_key: k });
    assert_error(first, 400, 'INVALID_FIELD', 'first');
    const again = await api.create_key(admin, { name: '', environment: 'test' }, { idempotency_key: k });
    assert_error(again, 400, 'INVALID_FIELD', 'retry');
    assert.equal(await command_event_count(stack.db), count);
  });

  test('concurrent retries of one request create one key', async () => {
    const k = fresh_key();
    const body = { name: 'idem-concurrent', environment: 'test' };
    const count = await command_event_count(stack.db);
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.create_key(admin, body, { idempotency_key: k })));
    const created = answers.filter((r) => r.status === 201);
    assert.ok(created.length >= 1, answers.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of created) assert.equal(r.text, created[0].text, 'every 201 is the same answer');
    for (const r of answers.filter((x) => x.status !== 201)) {
      assert_error(r, 409, 'IDEMPOTENCY_IN_PROGRESS', 'a retry while the first runs');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal(await command_event_count(stack.db), count + 1, 'one KeyCreated');
  });

  test('unacceptable Idempotency-Key values are 400', async () => {
    const body = { name: 'idem-bad-header', environment: 'test' };
    for (const k of ['x'.repeat(256), stack.admin_key, 'has space', 'tab\there']) {
      assert_error(await api.create_key(admin, body, { idempotency_key: k }), 400, 'INVALID_FIELD', JSON.stringify(k.slice(0, 20)));
    }
    const ok = await api.create_key(admin, body, { idempotency_key: 'x'.repeat(255) });
    assert.equal(ok.status, 201, ok.text);
  });

  test('verification is not tracked: the same Idempotency-Key answers the current state', async () => {
    const key = await create({ name: 'idem-verify', environment: 'test' });
    const k = fresh_key();
    const v1 = await api.post('/v1/keys/verify', { json: { key: key.key }, idempotency_key: k });
    assert.equal(v1.json.code, 'VALID', v1.text);
    assert.equal((await api.revoke_key(admin, key.id)).status, 204);
    const v2 = await api.post('/v1/keys/verify', { json: { key: key.key }, idempotency_key: k });
    assert.deepEqual(v2.json, { valid: false, code: 'REVOKED' });
    assert.notEqual(v2.headers.get('idempotent-replayed'), 'true');
  });
});
