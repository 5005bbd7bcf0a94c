// The OpenAPI document against the running server: GET /openapi.json serves docs/openapi.json
// (OpenAPI 3.1); every documented path and method is routed (never 404 NO_ROUTE nor 405); on
// every documented path a method that is not documented is 405 with an Allow header listing
// exactly the documented methods.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { start_stack } from './harness.mjs';

const repo_root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const http_methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const probed_methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const placeholder_id = 'key_0000000000000000000000';

let stack;
let api;
let doc;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  doc = JSON.parse(readFileSync(path.join(repo_root, 'docs', 'openapi.json'), 'utf8'));
});

after(async () => {
  if (stack) await stack.close();
});

/// A concrete path for a templated one: every {param} becomes a well-formed unknown key id.
const concrete = (p) => p.replace(/\{[^}]+\}/g, placeholder_id);

function documented_methods(item) {
  return Object.keys(item)
    .filter((m) => http_methods.includes(m))
    .map((m) => m.toUpperCase());
}

test('GET /openapi.json serves docs/openapi.json, OpenAPI 3.1', async () => {
  const r = await api.get('/openapi.json');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(r.headers.get('content-type') ?? '', /^application\/(json|vnd\.oai\.openapi\+json)/);
  assert.match(r.json.openapi, /^3\.1\.\d+$/);
  assert.deepEqual(r.json, doc, 'the served document is docs/openapi.json');
});

test('every documented path and method is routed', async () => {
  const paths = Object.keys(doc.paths);
  assert.ok(paths.length >= 10, `only ${paths.length} paths documented`);
  for (const p of paths) {
    for (const m of documented_methods(doc.paths[p])) {
      const opts = { key: stack.admin_key };
      if (['POST', 'PATCH', 'PUT'].includes(m)) opts.json = {};
      const r = await api.request(m, concrete(p), opts);
      const label = `${m} ${p}: ${r.status} ${r.text.slice(0, 200)}`;
      assert.ok(!(r.status === 404 && r.json?.code === 'NO_ROUTE'), `not routed: ${label}`);
      assert.notEqual(r.status, 405, label);
      assert.ok(r.status < 500, label);
    }
  }
});

test('an undocumented method on a documented path is 405 with Allow = the documented methods', async () => {
  for (const p of Object.keys(doc.paths)) {
    const documented = documented_methods(doc.paths[p]);
    for (const m of probed_methods.filter((x) => !documented.includes(x))) {
      const r = await api.request(m, concrete(p), { key: stack.admin_key });
      const label = `${m} ${p}: ${r.status} ${r.text.slice(0, 200)}`;
      assert.equal(r.status, 405, label);
      assert.equal(r.json?.code, 'METHOD_NOT_ALLOWED', label);
      const allow = (r.headers.get('allow') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      assert.deepEqual([...allow].sort(), [...documented].sort(), `Allow header of ${p}`);
    }
  }
});

test('an undocumented path is 404 NO_ROUTE', async () => {
  for (const p of ['/v1/key', '/v1/keys/verify/extra', `/v1/keys/${placeholder_id}/nothing`, '/v2/keys', '/openapi.yaml']) {
    const r = await api.get(p, { key: stack.admin_key });
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.equal(r.json?.code, 'NO_ROUTE', `${p}: ${r.text}`);
    assert.ok(!Object.keys(doc.paths).includes(p));
  }
});
