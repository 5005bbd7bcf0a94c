// Authentication and authorization of the management API: 401 for a missing, invalid or
// revoked key (Bearer and bare forms), 403 for a valid key without the scope.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, make_key, start_stack } from './harness.mjs';

let stack;
let api;

before(async () => {
  stack = await start_stack();
  api = stack.api;
});

after(async () => {
  if (stack) await stack.close();
});

function assert_401(res, what, secret) {
  assert_error(res, 401, 'UNAUTHORIZED', what);
  assert.equal(res.json.error, 'Invalid API key', what);
  assert.equal(res.json.message, 'The provided API key is invalid or expired', what);
  if (secret) assert.ok(!res.text.includes(secret), `${what}: the key is echoed`);
}

function assert_403(res, what) {
  assert_error(res, 403, 'FORBIDDEN', what);
  assert.equal(res.json.error, 'Insufficient permissions', what);
  assert.equal(res.json.message, "Your API key doesn't have access to this resource", what);
}

const some_id = 'key_0000000000000000000000';
const new_key = { name: 'auth-test', environment: 'test' };

describe('401', () => {
  test('no Authorization header', async () => {
    assert_401(await api.post('/v1/keys', { json: new_key }), 'POST without auth');
    assert_401(await api.get(`/v1/keys/${some_id}`), 'GET without auth');
    assert_401(await api.del(`/v1/keys/${some_id}`), 'DELETE without auth');
  });

  test('garbage, empty, other schemes and unknown well-formed keys', async () => {
    const unknown = make_key(stack.workspace.prefix ?? 'kl', 'live');
    const headers = [
      'garbage',
      'Bearer garbage',
      'Bearer',
      'Bearer ',
      '',
      `Basic ${Buffer.from('user:pass').toString('base64')}`,
      `Bearer ${unknown}`,
      unknown,
      `Bearer ${stack.admin_key}x`,
      `Bearer ${stack.admin_key.slice(0, -1)}`,
      `Bearer  ${'A'.repeat(2000)}`,
    ];
    for (const h of headers) {
      const label = `Authorization: ${JSON.stringify(h.slice(0, 40))}`;
      const r = await api.get(`/v1/keys/${some_id}`, { headers: { authorization: h } });
      assert_401(r, label, h.length > 20 ? h.replace(/^Bearer\s+/, '') : undefined);
      const p = await api.post('/v1/keys', { json: new_key, headers: { authorization: h } });
      assert_401(p, label);
    }
  });

  test('a revoked admin key is refused at once', async () => {
    const other = await stack.bootstrap_workspace();
    const own_id = other.key_id;
    assert.equal(typeof own_id, 'string', 'bootstrap prints key_id');
    assert.equal((await api.get_key(other.key, own_id)).status, 200);
    // The admin key revokes itself.
    const del = await api.revoke_key(other.key, own_id);
    assert.equal(del.status, 204, del.text);
    assert_401(await api.get_key(other.key, own_id), 'revoked admin key, GET', other.key);
    assert_401(await api.create_key(other.key, new_key), 'revoked admin key, POST', other.key);
    assert_401(await api.revoke_key(other.key, own_id), 'revoked admin key, DELETE', other.key);
    // Other workspaces are unaffected.
    assert.equal((await api.create_key(stack.admin_key, new_key)).status, 201);
  });

  test('a revoked ordinary key is refused', async () => {
    const c = await api.create_key(stack.admin_key, {
      name: 'to-revoke',
      environment: 'live',
      scopes: ['keys:read'],
    });
    assert.equal(c.status, 201, c.text);
    assert.equal((await api.get_key(c.json.key, c.json.id)).status, 200);
    assert.equal((await api.revoke_key(stack.admin_key, c.json.id)).status, 204);
    assert_401(await api.get_key(c.json.key, c.json.id), 'revoked keys:read key', c.json.key);
  });
});

describe('accepted forms', () => {
  test('Bearer and bare keys both authenticate', async () => {
    const bearer = await api.create_key(stack.admin_key, new_key);
    assert.equal(bearer.status, 201, bearer.text);
    const bare = await api.request('POST', '/v1/keys', {
      key: stack.admin_key,
      bearer: false,
      json: new_key,
    });
    assert.equal(bare.status, 201, bare.text);
    const g1 = await api.request('GET', `/v1/keys/${bare.json.id}`, { key: stack.admin_key, bearer: true });
    const g2 = await api.request('GET', `/v1/keys/${bearer.json.id}`, { key: stack.admin_key, bearer: false });
    assert.equal(g1.status, 200, g1.text);
    assert.equal(g2.status, 200, g2.text);
    const d = await api.request('DELETE', `/v1/keys/${bare.json.id}`, { key: stack.admin_key, bearer: false });
    assert.equal(d.status, 204, d.text);
  });
});

describe('403', () => {
  test('a keys:read key can GET but not create or revoke', async () => {
    const reader = await api.create_key(stack.admin_key, {
      name: 'reader',
      environment: 'live',
      scopes: ['keys:read'],
    });
    assert.equal(reader.status, 201, reader.text);
    const victim = await api.create_key(stack.admin_key, new_key);

    const g = await api.get_key(reader.json.key, victim.json.id);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.id, victim.json.id);

    assert_403(await api.create_key(reader.json.key, new_key), 'keys:read POST');
    assert_403(await api.revoke_key(reader.json.key, victim.json.id), 'keys:read DELETE');
    assert_403(
      await api.request('POST', '/v1/keys', { key: reader.json.key, bearer: false, json: new_key }),
      'keys:read POST (bare)',
    );
    // The refused DELETE changed nothing.
    assert.equal((await api.verify(victim.json.key)).json.valid, true);
  });

  test('a key without keys:* scopes can do nothing', async () => {
    const plain = await api.create_key(stack.admin_key, {
      name: 'plain',
      environment: 'live',
      scopes: ['leads:read'],
    });
    assert.equal(plain.status, 201, plain.text);
    assert_403(await api.get_key(plain.json.key, plain.json.id), 'leads:read GET');
    assert_403(await api.create_key(plain.json.key, new_key), 'leads:read POST');
    assert_403(await api.revoke_key(plain.json.key, plain.json.id), 'leads:read DELETE');
    assert.equal((await api.verify(plain.json.key)).json.valid, true);
  });

  test('a keys:write-only key can create and revoke but not read', async () => {
    const writer = await api.create_key(stack.admin_key, {
      name: 'writer',
      environment: 'test',
      scopes: ['keys:write'],
    });
    assert.equal(writer.status, 201, writer.text);
    const made = await api.create_key(writer.json.key, new_key);
    assert.equal(made.status, 201, made.text);
    assert_403(await api.get_key(writer.json.key, made.json.id), 'keys:write GET');
    assert.equal((await api.revoke_key(writer.json.key, made.json.id)).status, 204);
  });
});
