// The documentation that tools read: docs/openapi.yaml is OpenAPI 3.1 covering every route,
// with every $ref resolvable; README.md starts with the two commands.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import YAML from 'yaml';

const repo_root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(path.join(repo_root, p), 'utf8');

function load_openapi() {
  const doc = YAML.parseDocument(read('docs/openapi.yaml'), { prettyErrors: true });
  assert.deepEqual(doc.errors.map(String), [], 'openapi.yaml parses');
  return doc.toJS();
}

test('openapi.yaml is OpenAPI 3.1 and documents every route', () => {
  const api = load_openapi();
  assert.match(api.openapi, /^3\.1\.\d+$/);
  const routes = {
    '/v1/keys': ['post'],
    '/v1/keys/{id}': ['get', 'delete'],
    '/v1/keys/verify': ['post'],
    '/healthz': ['get'],
    '/readyz': ['get'],
  };
  assert.deepEqual(Object.keys(api.paths).sort(), Object.keys(routes).sort());
  for (const [p, methods] of Object.entries(routes)) {
    for (const m of methods) {
      assert.ok(api.paths[p][m], `${m.toUpperCase()} ${p} is documented`);
      assert.ok(Object.keys(api.paths[p][m].responses).length > 0, `${m} ${p} has responses`);
    }
  }
  // Verification and the probes need no credentials.
  for (const [p, m] of [['/v1/keys/verify', 'post'], ['/healthz', 'get'], ['/readyz', 'get']]) {
    assert.deepEqual(api.paths[p][m].security, [], `${m} ${p} is unauthenticated`);
  }
  // The secret is in the create response only.
  assert.ok(api.components.schemas.created_key.properties.key);
  assert.ok(!('key' in api.components.schemas.key_metadata.properties));
});

test('every $ref in openapi.yaml resolves', () => {
  const api = load_openapi();
  const refs = [];
  (function walk(node) {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref') refs.push(v);
        else walk(v);
      }
    }
  })(api);
  assert.ok(refs.length > 10);
  for (const ref of refs) {
    assert.match(ref, /^#\//, `local ref ${ref}`);
    let node = api;
    for (const part of ref.slice(2).split('/')) {
      node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    assert.ok(node !== undefined, `${ref} resolves`);
  }
});

test('README.md starts with the two commands', () => {
  const lines = read('README.md').split('\n');
  assert.match(lines[0], /^```/);
  assert.equal(lines[1], './scripts/dev run');
  assert.equal(lines[2], './scripts/dev test');
  assert.equal(lines[3], '```');
});
