// A real nginx (Debian's package) in front of a small upstream, protected with auth_request to
// keyledger's GET /v1/check (the configuration of docs/gateways.md): a valid key reaches the
// upstream, which sees the X-Keyledger-* headers; revoked, expired, disabled, wrong-IP,
// missing, unknown, under-scoped and rate-limited keys get keyledger's own 401/403/429 JSON.
//
// The test starts nginx itself (private prefix, config, pid, logs and temp dirs in a temp dir;
// daemon off; one process) and stops it, also on failure. nginx talks to keyledger from
// 127.0.0.3, the one address keyledger trusts as a proxy; clients connect from 127.0.0.1 or
// 127.0.0.2.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { free_port, http_request, make_key, poll, rfc3339, start_stack } from './harness.mjs';

const nginx_deadline_ms = 10_000;
const proxy_address = '127.0.0.3';

function nginx_bin() {
  if (process.env.NGINX_BIN) return process.env.NGINX_BIN;
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error('nginx is not installed: apt-get install -y nginx (./scripts/dev does)');
}

/// The gateway configuration (docs/gateways.md explains the same, directive by directive).
function nginx_conf({ dir, listen_port, keyledger_port, app_port }) {
  // What every protected location says: ask keyledger, hand the answer's headers upstream,
  // turn a refusal into keyledger's own JSON. auth_request answers 500 for any status but
  // 2xx/401/403, so 500 (keyledger's 429, or keyledger unreachable) goes there too.
  const protect = `
      auth_request /_keyledger/check;
      auth_request_set $keyledger_key_id $upstream_http_x_keyledger_key_id;
      auth_request_set $keyledger_workspace $upstream_http_x_keyledger_workspace;
      auth_request_set $keyledger_key_environment $upstream_http_x_keyledger_environment;
      auth_request_set $keyledger_key_scopes $upstream_http_x_keyledger_scopes;
      error_page 401 403 500 = @keyledger_refusal;
      proxy_set_header X-Keyledger-Key-Id $keyledger_key_id;
      proxy_set_header X-Keyledger-Workspace $keyledger_workspace;
      proxy_set_header X-Keyledger-Environment $keyledger_key_environment;
      proxy_set_header X-Keyledger-Scopes $keyledger_key_scopes;
      proxy_set_header Authorization "";
      proxy_pass http://app;`;
  // How nginx asks keyledger: no body, the client's address, the location's requirements.
  const ask = `
      proxy_method GET;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Keyledger-Required-Scopes $keyledger_scopes;
      proxy_set_header X-Keyledger-Environment $keyledger_environment;
      proxy_bind ${proxy_address};`;
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;

  upstream keyledger { server 127.0.0.1:${keyledger_port}; keepalive 8; }
  upstream app { server 127.0.0.1:${app_port}; }

  server {
    listen 127.0.0.1:${listen_port};
    proxy_http_version 1.1;

    # Each protected location states what it requires (in the location, not the server: the
    # check subrequest runs the server's rewrite phase again and would reset them).
    location / {
      set $keyledger_scopes "";
      set $keyledger_environment "";${protect}
    }
    location /leads/ {
      set $keyledger_scopes "leads:write";
      set $keyledger_environment "";${protect}
    }
    location /live/ {
      set $keyledger_scopes "";
      set $keyledger_environment "live";${protect}
    }

    location = /_keyledger/check {
      internal;
      proxy_pass http://keyledger/v1/check;${ask}
    }
    # auth_request keeps only the check's status and headers: ask once more for the body.
    # (auth_request already copied WWW-Authenticate from the first answer.)
    location @keyledger_refusal {
      rewrite ^ /v1/check? break;
      proxy_pass http://keyledger;
      proxy_hide_header WWW-Authenticate;${ask}
    }
  }
}
`;
}

let stack;
let admin;
let dir;
let nginx = null;
let nginx_port;
let app;
const app_requests = [];
let keys;

async function start_app() {
  const s = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const seen = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      app_requests.push(seen);
      res.writeHead(200, { 'content-type': 'application/json', 'x-from': 'app' });
      res.end(JSON.stringify({ upstream: 'app', path: req.url, key_id: req.headers['x-keyledger-key-id'] ?? null }));
    });
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

function port_open(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function start_nginx() {
  const bin = nginx_bin();
  for (let attempt = 1; ; attempt++) {
    nginx_port = await free_port();
    const conf = nginx_conf({
      dir,
      listen_port: nginx_port,
      keyledger_port: stack.server.port,
      app_port: app.address().port,
    });
    await writeFile(path.join(dir, 'nginx.conf'), conf);
    const t = spawnSync(bin, ['-t', '-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { encoding: 'utf8' });
    assert.equal(t.status, 0, `nginx -t:\n${t.stderr}`);
    const child = spawn(bin, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = once(child, 'exit');
    child.exit_promise = exited;
    nginx = child;
    const up = await Promise.race([
      poll(() => port_open(nginx_port), (v) => v, { deadline_ms: nginx_deadline_ms, interval_ms: 25, what: 'nginx to listen' }).then(() => true),
      exited.then(() => false),
    ]);
    if (up) return;
    nginx = null;
    const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
    if (attempt >= 3 || !/in use/.test(log + output)) throw new Error(`nginx did not start:\n${output}\n${log}`);
  }
}

async function stop_nginx() {
  const child = nginx;
  nginx = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGQUIT');  // graceful shutdown
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), nginx_deadline_ms);
  });
  const r = await Promise.race([child.exit_promise, deadline]);
  clearTimeout(timer);
  if (r === 'timeout') child.kill('SIGKILL');
}

// If the runner dies another way, do not leave nginx behind.
process.on('exit', () => {
  if (nginx && nginx.exitCode === null) nginx.kill('SIGKILL');
});

async function create(fields) {
  const r = await stack.api.create_key(admin, fields);
  assert.equal(r.status, 201, `create ${JSON.stringify(fields)}: ${r.text}`);
  return r.json;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyledger-nginx-'));
  stack = await start_stack({ env: { KEYLEDGER_TRUSTED_PROXIES: `${proxy_address}/32` } });
  admin = stack.admin_key;
  app = await start_app();
  try {
    const soon = Date.now() + 2_000;
    keys = {
      good: await create({ name: 'gateway-good', environment: 'live', scopes: ['leads:read'], allowed_cidrs: ['127.0.0.1/32'] }),
      writer: await create({ name: 'gateway-writer', environment: 'live', scopes: ['leads:read', 'leads:write'] }),
      revoked: await create({ name: 'gateway-revoked', environment: 'live' }),
      expiring: await create({ name: 'gateway-expiring', environment: 'live', expires_at: rfc3339(soon) }),
      disabled: await create({ name: 'gateway-disabled', environment: 'live', enabled: false }),
      sandbox: await create({ name: 'gateway-sandbox', environment: 'test', scopes: ['leads:write'] }),
      limited: await create({ name: 'gateway-limited', environment: 'live', rate_limit: { limit: 1, window_seconds: 300 } }),
    };
    assert.equal((await stack.api.revoke_key(admin, keys.revoked.id)).status, 204);
    await start_nginx();
  } catch (e) {
    await stop_nginx();
    throw e;
  }
});

after(async () => {
  try {
    await stop_nginx();
  } finally {
    if (app) app.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (stack) await stack.close();
  }
});

/// A request through nginx. opts: key (Bearer), bare, headers, from (client address), method, body.
function through(p, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.key !== undefined) headers.authorization = opts.bare ? opts.key : `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  return http_request(nginx_port, { method: opts.method ?? 'GET', path: p, headers, body: opts.body, local_address: opts.from });
}

const seed = {
  401: { error: 'Invalid API key', message: 'The provided API key is invalid or expired' },
  403: { error: 'Insufficient permissions', message: "Your API key doesn't have access to this resource" },
  429: { error: 'Rate limit exceeded', message: 'Too many requests. Please try again later' },
};

/// keyledger's own refusal, passed through nginx; the upstream was not reached.
function assert_refused(r, status, code, label) {
  const ctx = `${label}: ${r.status} ${JSON.stringify(r.headers)} ${r.text}`;
  assert.equal(r.status, status, ctx);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, ctx);
  assert.ok(r.json, `not JSON: ${ctx}`);
  assert.match(r.json.request_id ?? '', /^req_[0-9A-Za-z]+$/, ctx);
  const expected = { ...seed[status], code, request_id: r.json.request_id };
  if (status === 429) {
    assert.ok(Number.isInteger(r.json.retry_after) && r.json.retry_after >= 1, ctx);
    expected.retry_after = r.json.retry_after;
    assert.equal(r.headers['retry-after'], String(r.json.retry_after), ctx);
  }
  assert.deepEqual(r.json, expected, ctx);
  assert.equal(r.headers['request-id'], r.json.request_id, ctx);
  if (status === 401) assert.match(r.headers['www-authenticate'] ?? '', /^Bearer\b/, ctx);
  assert.equal(r.headers['x-from'], undefined, `the upstream answered: ${ctx}`);
}

/// The number of requests the upstream saw during `fn`.
async function upstream_calls(fn) {
  const before_count = app_requests.length;
  await fn();
  return app_requests.length - before_count;
}

describe('through nginx', () => {
  test('a valid key reaches the upstream, which sees X-Keyledger-* and no Authorization', async () => {
    const r = await through('/orders/42?x=1', { key: keys.good.key, from: '127.0.0.1' });
    assert.equal(r.status, 200, `${r.status} ${r.text}`);
    assert.equal(r.headers['x-from'], 'app');
    assert.deepEqual(r.json, { upstream: 'app', path: '/orders/42?x=1', key_id: keys.good.id });
    const seen = app_requests.at(-1);
    assert.equal(seen.headers['x-keyledger-key-id'], keys.good.id);
    assert.equal(seen.headers['x-keyledger-workspace'], stack.workspace.workspace_id);
    assert.equal(seen.headers['x-keyledger-environment'], 'live');
    assert.equal(seen.headers['x-keyledger-scopes'], 'leads:read');
    assert.equal(seen.headers.authorization, undefined, 'the key is not forwarded upstream');

    const bare = await through('/orders/43', { key: keys.good.key, bare: true, from: '127.0.0.1' });
    assert.equal(bare.status, 200, bare.text);
    assert.equal(bare.json.key_id, keys.good.id);
  });

  test('a request body still reaches the upstream (only the check drops it)', async () => {
    const body = JSON.stringify({ lead: 'acme', n: 1 });
    const r = await through('/orders', { key: keys.writer.key, method: 'POST', body });
    assert.equal(r.status, 200, r.text);
    const seen = app_requests.at(-1);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, body);
  });

  test('a location that requires a scope: 403 INSUFFICIENT_SCOPE without it, 200 with it', async () => {
    const calls = await upstream_calls(async () => {
      assert_refused(await through('/leads/1', { key: keys.good.key, from: '127.0.0.1' }), 403, 'INSUFFICIENT_SCOPE', 'leads:read only');
    });
    assert.equal(calls, 0);
    const ok = await through('/leads/1', { key: keys.writer.key });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.key_id, keys.writer.id);
  });

  test('a live-only location refuses a test key with 403 WRONG_ENVIRONMENT', async () => {
    assert_refused(await through('/live/x', { key: keys.sandbox.key }), 403, 'WRONG_ENVIRONMENT', 'test key on /live/');
    assert.equal((await through('/live/x', { key: keys.writer.key })).status, 200);
    assert.equal((await through('/other', { key: keys.sandbox.key })).status, 200, 'the test key works elsewhere');
  });

  test('missing, unknown and malformed keys: 401 with the seed JSON', async () => {
    const calls = await upstream_calls(async () => {
      assert_refused(await through('/orders'), 401, 'MISSING_KEY', 'no key');
      assert_refused(await through('/orders', { key: make_key('kl', 'live') }), 401, 'NOT_FOUND', 'unknown key');
      assert_refused(await through('/orders', { key: 'garbage' }), 401, 'MALFORMED', 'garbage');
      assert_refused(await through('/orders', { key: 'garbage', method: 'POST', body: '{}' }), 401, 'MALFORMED', 'garbage, POST');
    });
    assert.equal(calls, 0);
  });

  test('revoked and disabled keys: 401', async () => {
    const calls = await upstream_calls(async () => {
      assert_refused(await through('/orders', { key: keys.revoked.key }), 401, 'REVOKED', 'revoked');
      assert_refused(await through('/orders', { key: keys.disabled.key }), 401, 'DISABLED', 'disabled');
    });
    assert.equal(calls, 0);
  });

  test('an expired key: 401 EXPIRED once its expires_at has passed', async () => {
    await poll(() => stack.api.verify(keys.expiring.key), (v) => v.json?.code === 'EXPIRED', {
      deadline_ms: 10_000,
      interval_ms: 50,
      what: 'the key to expire',
    });
    assert_refused(await through('/orders', { key: keys.expiring.key }), 401, 'EXPIRED', 'expired');
  });

  test('the wrong client IP: 403 FORBIDDEN_IP, and a forged X-Forwarded-For does not help', async () => {
    const calls = await upstream_calls(async () => {
      assert_refused(await through('/orders', { key: keys.good.key, from: '127.0.0.2' }), 403, 'FORBIDDEN_IP', 'from 127.0.0.2');
      assert_refused(
        await through('/orders', { key: keys.good.key, from: '127.0.0.2', headers: { 'x-forwarded-for': '127.0.0.1' } }),
        403,
        'FORBIDDEN_IP',
        'forged XFF',
      );
    });
    assert.equal(calls, 0);
  });

  test('a rate-limited key: 429 with retry_after and Retry-After', async () => {
    assert.equal((await through('/orders', { key: keys.limited.key })).status, 200);
    const calls = await upstream_calls(async () => {
      assert_refused(await through('/orders', { key: keys.limited.key }), 429, 'RATE_LIMITED', 'second request');
    });
    assert.equal(calls, 0);
  });

  test('a revocation takes effect at the gateway at once', async () => {
    const k = await create({ name: 'gateway-late-revoke', environment: 'live' });
    assert.equal((await through('/orders', { key: k.key })).status, 200);
    assert.equal((await stack.api.revoke_key(admin, k.id)).status, 204);
    assert_refused(await through('/orders', { key: k.key }), 401, 'REVOKED', 'just revoked');
  });
});
