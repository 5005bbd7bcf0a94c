// GET /v1/check, the gateway endpoint (nginx auth_request, Envoy ext_authz, Traefik
// ForwardAuth): status, headers and the exact seed JSON bodies for every outcome, Bearer and
// bare keys, required scopes and environment from headers or query, CIDR refusal by the
// connection's address, and X-Forwarded-For believed only from a configured trusted proxy.
//
// Two nodes share one database: the main one trusts no proxy; the second trusts 127.0.0.1/32.
// Requests leave from 127.0.0.1 or 127.0.0.2 (both loopback on Linux) to tell addresses apart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http_request, make_key, query_string, start_stack, wait_for } from './harness.mjs';

let stack;
let admin;
let ws_id;
let proxied;  // { server, api } of the node that trusts 127.0.0.1/32

before(async () => {
  stack = await start_stack();
  admin = stack.admin_key;
  ws_id = stack.workspace.workspace_id;
  proxied = await stack.start_extra_server({ KEYLEDGER_TRUSTED_PROXIES: '127.0.0.1/32' });
});

after(async () => {
  if (stack) await stack.close();
});

async function create(fields) {
  const r = await stack.api.create_key(admin, fields);
  assert.equal(r.status, 201, `create ${JSON.stringify(fields)}: ${r.text}`);
  return r.json;
}

/// GET (or another method) /v1/check on a node. opts: key, bare, headers, query, from
/// (local address), method.
function check(opts = {}, node = stack.server) {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.key !== undefined) headers.authorization = opts.bare ? opts.key : `Bearer ${opts.key}`;
  return http_request(node.port, {
    method: opts.method ?? 'GET',
    path: `/v1/check${query_string(opts.query ?? {})}`,
    headers,
    local_address: opts.from,
  });
}

function what_of(r, label) {
  return `${label}: ${r.status} ${JSON.stringify(r.headers)} ${r.text}`;
}

function assert_common(r, label) {
  assert.match(r.headers['request-id'] ?? '', /^req_[0-9A-Za-z]+$/, what_of(r, label));
  assert.equal(r.headers['keyledger-version'], '2026-11-23', what_of(r, label));
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, what_of(r, label));
  // A gateway must never cache an answer (a revoked key would keep working).
  assert.match(r.headers['cache-control'] ?? '', /no-store/, what_of(r, label));
}

function assert_ok(r, k, label = 'check') {
  assert.equal(r.status, 200, what_of(r, label));
  assert_common(r, label);
  assert.deepEqual(r.json, { valid: true }, what_of(r, label));
  assert.equal(r.headers['x-keyledger-key-id'], k.id, label);
  assert.equal(r.headers['x-keyledger-workspace'], ws_id, label);
  assert.equal(r.headers['x-keyledger-environment'], k.environment, label);
  assert.equal(r.headers['x-keyledger-scopes'], k.scopes.join(' '), label);
}

const seed = {
  401: { error: 'Invalid API key', message: 'The provided API key is invalid or expired' },
  403: { error: 'Insufficient permissions', message: "Your API key doesn't have access to this resource" },
  429: { error: 'Rate limit exceeded', message: 'Too many requests. Please try again later' },
};

/// Exactly the seed body plus code and request_id (and retry_after on 429).
function assert_refused(r, status, code, label) {
  const ctx = what_of(r, label);
  assert.equal(r.status, status, ctx);
  assert_common(r, label);
  const expected = { ...seed[status], code, request_id: r.headers['request-id'] };
  if (status === 429) {
    assert.ok(Number.isInteger(r.json?.retry_after) && r.json.retry_after >= 1, ctx);
    expected.retry_after = r.json.retry_after;
    assert.equal(r.headers['retry-after'], String(r.json.retry_after), `Retry-After header ${ctx}`);
  }
  assert.deepEqual(r.json, expected, ctx);
  if (status === 401) assert.match(r.headers['www-authenticate'] ?? '', /^Bearer\b/, `WWW-Authenticate ${ctx}`);
  for (const h of ['x-keyledger-key-id', 'x-keyledger-workspace', 'x-keyledger-environment', 'x-keyledger-scopes']) {
    assert.equal(r.headers[h], undefined, `a refusal carries no ${h}: ${ctx}`);
  }
}

describe('200', () => {
  test('Bearer and bare keys; the X-Keyledger-* headers', async () => {
    const k = await create({ name: 'gateway key', environment: 'live', scopes: ['leads:read', 'leads:write'] });
    assert_ok(await check({ key: k.key }), k, 'Bearer');
    assert_ok(await check({ key: k.key, bare: true }), k, 'bare');
    assert_ok(await check({ key: k.key, headers: { 'x-forwarded-method': 'POST', 'x-original-uri': '/leads' } }), k, 'forward-auth headers');
  });

  test('HEAD answers the same status and headers without a body', async () => {
    const k = await create({ name: 'head', environment: 'test', scopes: ['leads:read'] });
    const r = await check({ key: k.key, method: 'HEAD' });
    assert.equal(r.status, 200, what_of(r, 'HEAD'));
    assert.equal(r.text, '');
    assert.equal(r.headers['x-keyledger-key-id'], k.id);
    const refused = await check({ key: make_key(), method: 'HEAD' });
    assert.equal(refused.status, 401, what_of(refused, 'HEAD unknown'));
    assert.equal(refused.text, '');
  });

  test('every method and /v1/check/<path> (Traefik and Envoy forward the original request)', async () => {
    const k = await create({ name: 'forwarded', environment: 'live', scopes: ['leads:read'] });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      assert_ok(await check({ key: k.key, method }), k, method);
    }
    const with_body = await http_request(stack.server.port, {
      method: 'POST',
      path: '/v1/check',
      headers: { authorization: `Bearer ${k.key}`, 'content-type': 'text/plain' },
      body: 'ignored',
    });
    assert_ok(with_body, k, 'POST with a body');
    const envoy = (p, key = k.key, method = 'GET') =>
      http_request(stack.server.port, { method, path: p, headers: { authorization: `Bearer ${key}` } });
    assert_ok(await envoy('/v1/check/orders/42'), k, 'Envoy path');
    assert_ok(await envoy('/v1/check/orders/42?scopes=admin:all&environment=test'), k, "the original request's query is not ours");
    assert_ok(await envoy('/v1/check/a', k.key, 'DELETE'), k, 'Envoy path, DELETE');
    assert_refused(await envoy('/v1/check/orders', make_key()), 401, 'NOT_FOUND', 'Envoy path, unknown key');
    assert_refused(
      await http_request(stack.server.port, { path: '/v1/check/orders', headers: { authorization: `Bearer ${k.key}`, 'x-keyledger-required-scopes': 'leads:write' } }),
      403,
      'INSUFFICIENT_SCOPE',
      'Envoy path, scope header',
    );
  });

  test('required scopes and environment from headers or the query', async () => {
    const k = await create({ name: 'scoped', environment: 'live', scopes: ['leads:read', 'leads:write', 'reports:read'] });
    const ok = [
      { headers: { 'x-keyledger-required-scopes': 'leads:read' } },
      { headers: { 'x-keyledger-required-scopes': 'leads:read leads:write' } },
      { headers: { 'x-keyledger-required-scopes': 'leads:read,reports:read' } },
      { headers: { 'x-keyledger-required-scopes': 'leads:read, reports:read' } },
      { query: { scopes: 'leads:write' } },
      { query: { scopes: 'leads:read,reports:read' } },
      { headers: { 'x-keyledger-environment': 'live' } },
      { query: { environment: 'live' } },
      { query: { scopes: 'leads:read', environment: 'live' } },
    ];
    for (const o of ok) assert_ok(await check({ key: k.key, ...o }), k, JSON.stringify(o));
    const scope_refusals = [
      { headers: { 'x-keyledger-required-scopes': 'leads:delete' } },
      { headers: { 'x-keyledger-required-scopes': 'leads:read admin:all' } },
      { headers: { 'x-keyledger-required-scopes': 'leads:read,admin:all' } },
      { query: { scopes: 'admin:all' } },
    ];
    for (const o of scope_refusals) {
      assert_refused(await check({ key: k.key, ...o }), 403, 'INSUFFICIENT_SCOPE', JSON.stringify(o));
    }
    for (const o of [{ headers: { 'x-keyledger-environment': 'test' } }, { query: { environment: 'test' } }]) {
      assert_refused(await check({ key: k.key, ...o }), 403, 'WRONG_ENVIRONMENT', JSON.stringify(o));
    }
  });
});

describe('400', () => {
  test('requirements from header and query combine; bad ones are 400 INVALID_FIELD', async () => {
    const k = await create({ name: 'combined', environment: 'live', scopes: ['leads:read', 'reports:read'] });
    assert_ok(await check({ key: k.key, headers: { 'x-keyledger-required-scopes': 'leads:read' }, query: { scopes: 'reports:read' } }), k, 'both held');
    assert_refused(
      await check({ key: k.key, headers: { 'x-keyledger-required-scopes': 'leads:read' }, query: { scopes: 'leads:write' } }),
      403,
      'INSUFFICIENT_SCOPE',
      'the query one is missing',
    );
    assert_ok(await check({ key: k.key, headers: { 'x-keyledger-environment': 'live' }, query: { environment: 'live' } }), k, 'agreeing environments');
    const bad = [
      { headers: { 'x-keyledger-environment': 'live' }, query: { environment: 'test' } },
      { headers: { 'x-keyledger-environment': 'prod' } },
      { query: { environment: 'LIVE' } },
      { headers: { 'x-keyledger-required-scopes': 'Not A Scope!' } },
      { query: { scopes: 'leads' } },
    ];
    for (const o of bad) {
      const r = await check({ key: k.key, ...o });
      assert.equal(r.status, 400, what_of(r, JSON.stringify(o)));
      assert.equal(r.json?.code, 'INVALID_FIELD', what_of(r, JSON.stringify(o)));
    }
    const unknown = await check({ key: k.key, query: { scope: 'leads:read' } });
    assert.equal(unknown.status, 400, what_of(unknown, 'scope='));
    assert.equal(unknown.json?.code, 'UNKNOWN_FIELD', what_of(unknown, 'scope='));
  });
});

describe('401', () => {
  test('missing, malformed, unknown, revoked, expired, disabled', async () => {
    assert_refused(await check(), 401, 'MISSING_KEY', 'no Authorization');
    assert_refused(await check({ headers: { authorization: 'Bearer garbage' } }), 401, 'MALFORMED', 'garbage');
    assert_refused(await check({ key: 'not-a-key', bare: true }), 401, 'MALFORMED', 'bare garbage');
    const unknown = make_key('kl', 'live');
    const u = await check({ key: unknown });
    assert_refused(u, 401, 'NOT_FOUND', 'unknown');
    assert.ok(!u.text.includes(unknown), 'the key is not echoed');

    const revoked = await create({ name: 'revoked', environment: 'live' });
    assert.equal((await stack.api.revoke_key(admin, revoked.id)).status, 204);
    assert_refused(await check({ key: revoked.key }), 401, 'REVOKED', 'revoked');

    const expired = await create({ name: 'expired', environment: 'live' });
    assert.equal((await stack.api.rotate_key(admin, expired.id, { grace_period_seconds: 0 })).status, 201);
    assert_refused(await check({ key: expired.key }), 401, 'EXPIRED', 'expired');

    const disabled = await create({ name: 'disabled', environment: 'live', enabled: false });
    assert_refused(await check({ key: disabled.key }), 401, 'DISABLED', 'disabled');
    assert_refused(await check({ key: disabled.key, bare: true }), 401, 'DISABLED', 'disabled, bare');
  });

  test('an empty Bearer is a missing or malformed key', async () => {
    for (const h of ['Bearer', 'Bearer ', '']) {
      const r = await check({ headers: { authorization: h } });
      assert.equal(r.status, 401, what_of(r, JSON.stringify(h)));
      assert.ok(['MISSING_KEY', 'MALFORMED'].includes(r.json?.code), what_of(r, JSON.stringify(h)));
      assert_refused(r, 401, r.json.code, JSON.stringify(h));
    }
  });
});

describe('403 and 429', () => {
  test('FORBIDDEN_IP by the connection address', async () => {
    const k = await create({ name: 'only-dot-two', environment: 'live', allowed_cidrs: ['127.0.0.2/32'] });
    assert_refused(await check({ key: k.key, from: '127.0.0.1' }), 403, 'FORBIDDEN_IP', 'from 127.0.0.1');
    assert_ok(await check({ key: k.key, from: '127.0.0.2' }), k, 'from 127.0.0.2');
    const v6 = await create({ name: 'v6-only', environment: 'live', allowed_cidrs: ['2001:db8::/32'] });
    assert_refused(await check({ key: v6.key }), 403, 'FORBIDDEN_IP', 'v6 list, v4 client');
  });

  test('429 with retry_after and Retry-After; the refused request consumed nothing', async () => {
    const k = await create({ name: 'limited', environment: 'live', scopes: ['leads:read'], rate_limit: { limit: 2, window_seconds: 120 } });
    assert_refused(
      await check({ key: k.key, headers: { 'x-keyledger-required-scopes': 'leads:write' } }),
      403,
      'INSUFFICIENT_SCOPE',
      'refused first',
    );
    assert_ok(await check({ key: k.key }), k, 'first');
    assert_ok(await check({ key: k.key }), k, 'second');
    const r = await check({ key: k.key });
    assert_refused(r, 429, 'RATE_LIMITED', 'third');
    assert.ok(r.json.retry_after <= 120, what_of(r, 'retry_after'));
  });
});

describe('X-Forwarded-For', () => {
  test('a node without trusted proxies ignores it', async () => {
    const k = await create({ name: 'xff-ignored', environment: 'live', allowed_cidrs: ['10.9.9.9/32'] });
    for (const xff of ['10.9.9.9', '10.9.9.9, 127.0.0.1', '127.0.0.1, 10.9.9.9']) {
      assert_refused(
        await check({ key: k.key, headers: { 'x-forwarded-for': xff } }),
        403,
        'FORBIDDEN_IP',
        `XFF ${xff}`,
      );
    }
    // And it never turns an allowed connection address into a refused one.
    const local = await create({ name: 'xff-local', environment: 'live', allowed_cidrs: ['127.0.0.1/32'] });
    assert_ok(await check({ key: local.key, headers: { 'x-forwarded-for': '10.9.9.9' } }), local, 'XFF on an allowed peer');
  });

  test('from a trusted proxy: the right-most untrusted address is the client', async () => {
    const k = await create({ name: 'behind-proxy', environment: 'live', allowed_cidrs: ['10.9.9.9/32'] });
    // The second node learns of the key through the log.
    await wait_for(async () => (await proxied.api.verify(k.key, { ip: '10.9.9.9' })).json?.valid === true, {
      deadline_ms: 5_000,
      what: 'the second node to see the key',
    });
    const via = (xff, from = '127.0.0.1') => check({ key: k.key, headers: { 'x-forwarded-for': xff }, from }, proxied.server);

    assert_ok(await via('10.9.9.9'), k, 'XFF 10.9.9.9');
    assert_ok(await via('10.9.9.9, 127.0.0.1'), k, 'XFF through two trusted hops');
    assert_ok(await via('192.0.2.1, 10.9.9.9'), k, 'a spoofed left part is not the client');
    assert_ok(await via(' 10.9.9.9 '), k, 'whitespace');
    assert_ok(await via('10.9.9.9:51234'), k, 'an entry with a port');
    assert_refused(await via('10.9.9.9, 192.0.2.1'), 403, 'FORBIDDEN_IP', 'the client is 192.0.2.1');
    assert_refused(await via('192.0.2.1'), 403, 'FORBIDDEN_IP', 'XFF 192.0.2.1');
    // No XFF: the peer itself (127.0.0.1) is the client.
    assert_refused(await check({ key: k.key }, proxied.server), 403, 'FORBIDDEN_IP', 'no XFF');
    // A peer that is not a trusted proxy: its XFF is ignored.
    assert_refused(await via('10.9.9.9', '127.0.0.2'), 403, 'FORBIDDEN_IP', 'untrusted peer 127.0.0.2');
  });

  test('a garbage X-Forwarded-For from a trusted proxy refuses a fenced key, never crashes', async () => {
    const k = await create({ name: 'xff-garbage', environment: 'live', allowed_cidrs: ['10.9.9.9/32'] });
    const open = await create({ name: 'xff-open', environment: 'live' });
    await wait_for(async () => (await proxied.api.verify(open.key)).json?.valid === true, {
      deadline_ms: 5_000,
      what: 'the second node to see the keys',
    });
    await wait_for(async () => (await proxied.api.verify(k.key, { ip: '10.9.9.9' })).json?.valid === true, {
      deadline_ms: 5_000,
      what: 'the second node to see the keys',
    });
    for (const xff of ['garbage', '10.9.9.9.9', ',,,', 'unknown', '10.9.9.9/32', '[10.9.9.9', 'x'.repeat(2000)]) {
      const r = await check({ key: k.key, headers: { 'x-forwarded-for': xff } }, proxied.server);
      assert_refused(r, 403, 'FORBIDDEN_IP', `XFF ${xff.slice(0, 20)}`);
      // A key without CIDRs does not care where the client is.
      assert_ok(await check({ key: open.key, headers: { 'x-forwarded-for': xff } }, proxied.server), open, `open key, XFF ${xff.slice(0, 20)}`);
    }
    const h = await proxied.api.get('/healthz');
    assert.equal(h.status, 200, h.text);
  });
});
