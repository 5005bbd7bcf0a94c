// The documentation that tools read: docs/openapi.json is OpenAPI 3.1 covering every route,
// request field, key object member and error code, with every $ref resolvable; README.md
// starts with the two commands. (openapi.test.mjs checks the document against the running
// server's routes.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { key_object_fields } from './harness.mjs';

const repo_root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(path.join(repo_root, p), 'utf8');

function load_openapi() {
  const text = read('docs/openapi.json');
  let api;
  assert.doesNotThrow(() => {
    api = JSON.parse(text);
  }, 'openapi.json parses');
  return { api, text };
}

/// Paths with their parameter names erased ("/v1/keys/{id}" -> "/v1/keys/{}").
const shape = (p) => p.replace(/\{[^}]+\}/g, '{}');

/// Follows a local $ref.
function deref(api, node) {
  let n = node;
  for (let hops = 0; n && typeof n === 'object' && typeof n.$ref === 'string'; hops++) {
    assert.ok(hops < 20, 'a $ref cycle');
    let target = api;
    for (const part of n.$ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    n = target;
  }
  return n;
}

/// Every property name a schema declares, through $ref, allOf, oneOf and anyOf.
function properties_of(api, schema, seen = new Set()) {
  const s = deref(api, schema);
  if (!s || typeof s !== 'object' || seen.has(s)) return new Set();
  seen.add(s);
  const out = new Set(Object.keys(s.properties ?? {}));
  for (const k of ['allOf', 'oneOf', 'anyOf']) {
    for (const sub of s[k] ?? []) for (const p of properties_of(api, sub, seen)) out.add(p);
  }
  return out;
}

function json_schema(api, holder) {
  const h = deref(api, holder);
  return h?.content?.['application/json']?.schema;
}

const routes = {
  '/v1/keys': ['get', 'post'],
  '/v1/keys/{}': ['get', 'patch', 'delete'],
  '/v1/keys/{}/rotate': ['post'],
  '/v1/keys/{}/postback-secret': ['post'],
  '/v1/keys/{}/requests': ['get'],
  '/v1/keys/{}/history': ['get'],
  '/v1/keys/self': ['get'],
  '/v1/keys/verify': ['post'],
  '/v1/auth-failures': ['get'],
  '/v1/leaks': ['post'],
  '/v1/audit/public-key': ['get'],
  '/v1/audit/checkpoints': ['get'],
  '/v1/audit/proofs/inclusion': ['get'],
  '/v1/audit/proofs/consistency': ['get'],
  '/v1/audit/events': ['get'],
  '/v1/check': ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'],
  '/v1/check/{}': ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'],
  '/openapi.json': ['get'],
  '/healthz': ['get'],
  '/console': ['get'],
  '/console/': ['get'],
  '/console/{}': ['get'],
  '/readyz': ['get'],
  '/v1/users': ['get', 'post'],
  '/v1/users/{}': ['get', 'patch', 'delete'],
  '/v1/users/set-password': ['post'],
  '/v1/sessions': ['post'],
  '/v1/sessions/current': ['get', 'delete'],
  '/v1/workspace': ['get', 'patch'],
  '/oauth/jwks': ['get'],
  '/v1/oauth/clients': ['get', 'post'],
  '/v1/oauth/clients/{}': ['get', 'patch', 'delete'],
  '/v1/oauth/clients/{}/rotate-secret': ['post'],
  '/v1/webhooks': ['get', 'post'],
  '/v1/webhooks/{}': ['get', 'patch', 'delete'],
  '/v1/webhooks/{}/rotate-secret': ['post'],
  '/v1/webhooks/{}/deliveries': ['get'],
  '/v1/webhooks/{}/deliveries/{}/retry': ['post'],
  '/v1/oauth/grants': ['get'],
  '/v1/oauth/grants/{}': ['delete'],
  '/oauth/authorize': ['get', 'post'],
  '/oauth/login': ['post'],
  '/oauth/token': ['post'],
  '/oauth/introspect': ['post'],
  '/oauth/revoke': ['post'],
  '/.well-known/oauth-authorization-server': ['get'],
};

test('openapi.json is OpenAPI 3.1 and documents every route', () => {
  const { api } = load_openapi();
  assert.match(api.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof api.info?.title, 'string');
  assert.equal(typeof api.info?.version, 'string');
  const documented = Object.fromEntries(Object.entries(api.paths).map(([p, item]) => [shape(p), item]));
  assert.deepEqual(Object.keys(documented).sort(), Object.keys(routes).sort());
  for (const [p, methods] of Object.entries(routes)) {
    for (const m of methods) {
      const op = documented[p][m];
      assert.ok(op, `${m.toUpperCase()} ${p} is documented`);
      assert.ok(Object.keys(op.responses ?? {}).length > 0, `${m} ${p} has responses`);
    }
  }
  for (const [p, m] of [['/v1/keys/verify', 'post'], ['/healthz', 'get'], ['/readyz', 'get'], ['/openapi.json', 'get'],
    ['/v1/users/set-password', 'post'], ['/v1/sessions', 'post'], ['/oauth/jwks', 'get'], ['/v1/leaks', 'post'],
    ['/oauth/authorize', 'get'], ['/oauth/authorize', 'post'], ['/oauth/login', 'post'], ['/oauth/token', 'post'],
    ['/oauth/introspect', 'post'], ['/oauth/revoke', 'post'], ['/.well-known/oauth-authorization-server', 'get']]) {
    assert.deepEqual(documented[p][m].security, [], `${m} ${p} is unauthenticated`);
  }
});

test('every $ref in openapi.json resolves', () => {
  const { api } = load_openapi();
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
    assert.ok(deref(api, { $ref: ref }) !== undefined, `${ref} resolves`);
  }
});

test('the key object, create fields and secrets are documented', () => {
  const { api } = load_openapi();
  const p = Object.fromEntries(Object.entries(api.paths).map(([k, v]) => [shape(k), v]));
  const key_object = properties_of(api, json_schema(api, p['/v1/keys/{}'].get.responses['200']));
  for (const f of key_object_fields) assert.ok(key_object.has(f), `the key object documents ${f}`);
  assert.ok(!key_object.has('key'), 'GET /v1/keys/{id} never shows the secret');

  const created = properties_of(api, json_schema(api, p['/v1/keys'].post.responses['201']));
  assert.ok(created.has('key'), 'the create answer documents the secret');
  const rotated = properties_of(api, json_schema(api, p['/v1/keys/{}/rotate'].post.responses['201']));
  assert.ok(rotated.has('key'), 'the rotate answer documents the secret');

  const create_fields = properties_of(api, json_schema(api, p['/v1/keys'].post.requestBody));
  for (const f of ['name', 'environment', 'scopes', 'expires_at', 'expires_in_days', 'allowed_cidrs',
    'postback_url', 'off_the_record', 'enabled', 'rate_limit']) {
    assert.ok(create_fields.has(f), `POST /v1/keys documents ${f}`);
  }
  const patch_fields = properties_of(api, json_schema(api, p['/v1/keys/{}'].patch.requestBody));
  for (const f of ['name', 'scopes', 'allowed_cidrs', 'postback_url', 'off_the_record', 'enabled', 'rate_limit']) {
    assert.ok(patch_fields.has(f), `PATCH documents ${f}`);
  }
  const verify_fields = properties_of(api, json_schema(api, p['/v1/keys/verify'].post.requestBody));
  for (const f of ['key', 'required_scopes', 'ip', 'environment']) assert.ok(verify_fields.has(f), `verify documents ${f}`);
});

test('users, sessions and workspace settings are documented (API4_SPEC)', () => {
  const { api, text } = load_openapi();
  const p = Object.fromEntries(Object.entries(api.paths).map(([k, v]) => [shape(k), v]));
  const has_all = (what, set, fields) => {
    for (const f of fields) assert.ok(set.has(f), `${what} documents ${f}`);
  };
  const user_fields = ['id', 'email', 'display_name', 'role', 'password_set'];
  has_all('GET /v1/users/{id}', properties_of(api, json_schema(api, p['/v1/users/{}'].get.responses['200'])), user_fields);
  has_all('POST /v1/users body', properties_of(api, json_schema(api, p['/v1/users'].post.requestBody)), ['email', 'display_name', 'role']);
  has_all('POST /v1/users answer', properties_of(api, json_schema(api, p['/v1/users'].post.responses['201'])),
    ['id', 'email', 'display_name', 'role', 'invitation_token', 'invitation_expires_at']);
  has_all('PATCH /v1/users/{id} body', properties_of(api, json_schema(api, p['/v1/users/{}'].patch.requestBody)), ['role']);
  has_all('set-password body', properties_of(api, json_schema(api, p['/v1/users/set-password'].post.requestBody)), ['token', 'password']);
  has_all('POST /v1/sessions body', properties_of(api, json_schema(api, p['/v1/sessions'].post.requestBody)), ['email', 'password', 'workspace']);
  has_all('POST /v1/sessions answer', properties_of(api, json_schema(api, p['/v1/sessions'].post.responses['201'])),
    ['user_id', 'workspace_id', 'role', 'csrf_token', 'expires_at']);
  has_all('GET /v1/sessions/current', properties_of(api, json_schema(api, p['/v1/sessions/current'].get.responses['200'])),
    ['user_id', 'workspace_id', 'role', 'email', 'expires_at']);
  has_all('GET /v1/workspace', properties_of(api, json_schema(api, p['/v1/workspace'].get.responses['200'])),
    ['id', 'name', 'key_prefix', 'key_policy', 'scope_catalog']);
  has_all('PATCH /v1/workspace body', properties_of(api, json_schema(api, p['/v1/workspace'].patch.requestBody)), ['key_policy', 'scope_catalog']);
  for (const c of ['CSRF_FAILED', 'INVALID_CREDENTIALS', 'CHOOSE_WORKSPACE', 'ALREADY_MEMBER', 'LAST_OWNER',
    'INVALID_TOKEN', 'WEAK_PASSWORD', 'LOGIN_FAILED']) {
    assert.match(text, new RegExp(`\\b${c}\\b`), `${c} is documented`);
  }
  for (const h of ['X-CSRF-Token', 'keyledger_session']) assert.ok(text.includes(h), `${h} is documented`);
});

test('webhook endpoints, their secret and deliveries are documented', () => {
  const { api, text } = load_openapi();
  const p = Object.fromEntries(Object.entries(api.paths).map(([k, v]) => [shape(k), v]));
  const has_all = (what, set, fields) => {
    for (const f of fields) assert.ok(set.has(f), `${what} documents ${f}`);
  };
  const endpoint = ['id', 'workspace_id', 'url', 'event_types', 'enabled', 'disabled_reason', 'secret_version'];
  has_all('POST /v1/webhooks body', properties_of(api, json_schema(api, p['/v1/webhooks'].post.requestBody)),
    ['url', 'event_types', 'enabled']);
  has_all('POST /v1/webhooks answer', properties_of(api, json_schema(api, p['/v1/webhooks'].post.responses['201'])),
    [...endpoint, 'secret']);
  has_all('PATCH /v1/webhooks/{id} body', properties_of(api, json_schema(api, p['/v1/webhooks/{}'].patch.requestBody)),
    ['url', 'event_types', 'enabled']);
  has_all('rotate-secret body', properties_of(api, json_schema(api, p['/v1/webhooks/{}/rotate-secret'].post.requestBody)),
    ['overlap_seconds']);
  has_all('rotate-secret answer', properties_of(api, json_schema(api, p['/v1/webhooks/{}/rotate-secret'].post.responses['200'])),
    ['secret', 'previous_secret_valid_until']);
  has_all('GET /v1/webhooks/{id}/deliveries', properties_of(api, json_schema(api, p['/v1/webhooks/{}/deliveries'].get.responses['200'])),
    ['data', 'next_before_seq']);
  has_all('a delivery', properties_of(api, { $ref: '#/components/schemas/webhook_delivery' }),
    ['id', 'status', 'attempts', 'next_attempt_at', 'attempt_log']);
  has_all('an attempt', properties_of(api, { $ref: '#/components/schemas/webhook_attempt' }),
    ['started_at', 'latency_ms', 'response_status', 'outcome', 'error']);
  assert.ok(text.includes('ENDPOINT_DISABLED'), 'ENDPOINT_DISABLED is documented');
  const guide = read('docs/webhooks.md');
  for (const word of ['whsec_', 'overlap_seconds', 'key.*', '/deliveries', '## Delivery']) {
    assert.ok(guide.includes(word), `docs/webhooks.md mentions ${word}`);
  }
});

test('every error and verification code is documented', () => {
  const { text } = load_openapi();
  const codes = [
    'VALID', 'NOT_FOUND', 'MALFORMED', 'REVOKED', 'EXPIRED', 'DISABLED', 'FORBIDDEN_IP',
    'INSUFFICIENT_SCOPE', 'WRONG_ENVIRONMENT', 'RATE_LIMITED', 'MISSING_KEY', 'UNAUTHORIZED',
    'FORBIDDEN', 'INVALID_JSON', 'UNKNOWN_FIELD', 'INVALID_FIELD', 'MISSING_FIELD', 'NO_ROUTE',
    'METHOD_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_VERSION', 'KEY_REVOKED',
    'KEY_EXPIRED', 'KEY_ALREADY_ROTATED', 'CONFLICT', 'IDEMPOTENCY_KEY_REUSED',
    'IDEMPOTENCY_IN_PROGRESS', 'OVERLOADED', 'PAYLOAD_TOO_LARGE', 'LEAK_REPORTS_NOT_CONFIGURED',
    'LEAK_SIGNATURE_REQUIRED', 'UNKNOWN_REPORTER_KEY', 'INVALID_SIGNATURE',
  ];
  for (const c of codes) assert.match(text, new RegExp(`\\b${c}\\b`), `${c} is documented`);
  for (const h of ['Idempotency-Key', 'Keyledger-Version', 'Retry-After', 'X-Keyledger-Key-Id', 'X-Forwarded-For']) {
    assert.ok(text.includes(h), `${h} is documented`);
  }
});

test('the YAML predecessor is gone and the gateway guide exists', () => {
  assert.ok(!existsSync(path.join(repo_root, 'docs', 'openapi.yaml')), 'docs/openapi.json replaced docs/openapi.yaml');
  const gateways = read('docs/gateways.md');
  for (const word of ['auth_request', 'ext_authz', 'ForwardAuth', 'KEYLEDGER_TRUSTED_PROXIES']) {
    assert.ok(gateways.includes(word), `docs/gateways.md mentions ${word}`);
  }
});

test('README.md starts with the two commands', () => {
  const lines = read('README.md').split('\n');
  assert.match(lines[0], /^```/);
  assert.equal(lines[1], './scripts/dev run');
  assert.equal(lines[2], './scripts/dev test');
  assert.equal(lines[3], '```');
});
