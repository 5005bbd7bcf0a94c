// Keyledger-Version: the known version is accepted, an unknown or malformed one is 400
// UNSUPPORTED_VERSION (naming the known versions), and every response carries the version it
// was answered with.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assert_error, http_request, make_key, start_stack } from './harness.mjs';

let stack;
let api;
let admin;

const current = '2026-11-23';

before(async () => {
  stack = await start_stack();
  api = stack.api;
  admin = stack.admin_key;
});

after(async () => {
  if (stack) await stack.close();
});

const versioned = (v) => ({ 'keyledger-version': v });

test('the known version is accepted on every kind of request', async () => {
  const h = { headers: versioned(current) };
  const c = await api.create_key(admin, { name: 'versioned', environment: 'test' }, h);
  assert.equal(c.status, 201, c.text);
  assert.equal(c.headers.get('keyledger-version'), current);
  const checks = [
    await api.request('GET', `/v1/keys/${c.json.id}`, { key: admin, ...h }),
    await api.request('GET', '/v1/keys', { key: admin, ...h }),
    await api.request('PATCH', `/v1/keys/${c.json.id}`, { key: admin, json: { name: 'versioned-2' }, ...h }),
    await api.request('POST', '/v1/keys/verify', { json: { key: c.json.key }, ...h }),
    await api.request('GET', '/v1/check', { key: c.json.key, ...h }),
    await api.request('GET', '/healthz', h),
  ];
  for (const r of checks) {
    assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.text}`);
    assert.equal(r.headers.get('keyledger-version'), current);
  }
  const d = await api.request('DELETE', `/v1/keys/${c.json.id}`, { key: admin, ...h });
  assert.equal(d.status, 204, d.text);
  assert.equal(d.headers.get('keyledger-version'), current);
});

test('an unknown or malformed version is 400 UNSUPPORTED_VERSION and changes nothing', async () => {
  const values = ['2020-01-01', '2026-11-24', '2099-12-31', 'latest', '2026-13-45', '20261123', '2026-11-23x', 'v1', '2026-11-23, 2026-11-23'];
  for (const v of values) {
    const label = `Keyledger-Version ${JSON.stringify(v)}`;
    const r = await api.create_key(admin, { name: 'never-made', environment: 'test' }, { headers: versioned(v) });
    assert_error(r, 400, 'UNSUPPORTED_VERSION', label);
    assert.ok(r.json.message.includes(current), `${label}: the message names the known version: ${r.json.message}`);
    assert.equal(r.headers.get('keyledger-version'), current, label);
    const v2 = await api.request('POST', '/v1/keys/verify', { json: { key: make_key() }, headers: versioned(v) });
    assert_error(v2, 400, 'UNSUPPORTED_VERSION', `verify, ${label}`);
    const g = await api.request('GET', '/v1/check', { key: admin, headers: versioned(v) });
    assert_error(g, 400, 'UNSUPPORTED_VERSION', `check, ${label}`);
  }
  const listed = await api.list_keys(admin, { name: 'never-made' });
  assert.deepEqual(listed.json.data, [], 'no key was created');
});

test('every response carries the version: errors, 404, 405, HEAD, raw HTTP', async () => {
  const answers = [
    await api.get('/v1/keys/key_0000000000000000000000', { key: admin }),
    await api.get('/v1/keys'),
    await api.get('/no/such/route'),
    await api.request('PUT', '/v1/keys', { key: admin }),
    await api.post('/v1/keys', { key: admin, body: 'x', headers: { 'content-type': 'text/plain' } }),
    await api.post('/v1/keys', { key: admin, json: { name: 'x' } }),
    await api.get('/readyz'),
    await api.get('/openapi.json'),
    await api.get('/v1/check'),
  ];
  for (const r of answers) {
    assert.equal(r.headers.get('keyledger-version'), current, `${r.status} ${r.text.slice(0, 200)}`);
  }
  const head = await http_request(stack.server.port, { method: 'HEAD', path: '/v1/check', headers: { authorization: `Bearer ${admin}` } });
  assert.equal(head.headers['keyledger-version'], current);
});
