// Shared harness for the end-to-end tests: a fresh database, the real `keyledger` binary
// (migrate, bootstrap, serve on a free port), HTTP helpers and a key generator.
//
// Environment:
//   KEYLEDGER_BIN                 the keyledger executable (set by tests/e2e/CMakeLists.txt)
//   KEYLEDGER_TEST_DATABASE_URL   a superuser URL, e.g. postgresql://postgres@127.0.0.1:PORT/postgres
//                                 (set by ./scripts/dev test)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomInt, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/// Deadline for the server to log "listening" after spawn.
export const startup_deadline_ms = 20_000;
/// Deadline for the server to exit after SIGTERM.
export const shutdown_deadline_ms = 15_000;
/// Deadline for one-shot subcommands (migrate, bootstrap).
const command_deadline_ms = 30_000;

function required_env(name, hint) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: ${hint}`);
  }
  return value;
}

export function keyledger_bin() {
  return required_env('KEYLEDGER_BIN', 'the path of the keyledger executable (ctest sets it)');
}

export function test_database_url() {
  return required_env(
    'KEYLEDGER_TEST_DATABASE_URL',
    'a PostgreSQL superuser URL such as postgresql://postgres@127.0.0.1:5432/postgres ' +
      '(./scripts/dev test starts a throwaway cluster and sets it)',
  );
}

/// A lowercase random suffix for database and workspace names.
export function random_suffix(length = 10) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/// The same URL pointing at another database.
function with_database(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

// ---- database ---------------------------------------------------------------------------------

/// Creates kl_e2e_<random> on the test server. Returns { name, url, query(sql, params), drop() }.
export async function create_database() {
  const admin_url = test_database_url();
  const name = `kl_e2e_${random_suffix()}`;
  const admin = new pg.Client({ connectionString: admin_url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = with_database(admin_url, name);
  return {
    name,
    url,
    /// One query on a short-lived connection (the server's pool is not disturbed).
    async query(sql, params = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    /// One statement through the psql client; resolves the result rows as arrays of strings
    /// (unaligned, tuples only). Rejects on any SQL error.
    psql(sql) {
      return run_psql(url, sql);
    },
    async drop() {
      const c = new pg.Client({ connectionString: admin_url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/// The psql executable: PostgreSQL 15's (where ./scripts/dev installs it), else the PATH's.
export function psql_bin() {
  const candidate = '/usr/lib/postgresql/15/bin/psql';
  return existsSync(candidate) ? candidate : 'psql';
}

const field_separator = '\x1f';

/// Runs `sql` with psql against `url`: rows as arrays of column texts.
export function run_psql(url, sql) {
  return new Promise((resolve, reject) => {
    execFile(
      psql_bin(),
      ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-F', field_separator, '-d', url, '-c', sql],
      { timeout: command_deadline_ms, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`psql failed (${error.code ?? error.signal}): ${stderr}\nSQL: ${sql}`));
          return;
        }
        const rows = stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split(field_separator));
        resolve(rows);
      },
    );
  });
}

/// The event types of one key's stream ("api_key-<id>"), in version order.
export async function key_event_types(db, key_id) {
  if (!/^[0-9A-Za-z_]+$/.test(key_id)) throw new Error(`unexpected key id ${key_id}`);
  const rows = await db.psql(
    `SELECT type FROM events WHERE stream_id = 'api_key-${key_id}' ORDER BY version`,
  );
  return rows.map((r) => r[0]);
}

/// What the expiry job appends on its own schedule (KeyExpired, KeyExpiryApproaching): a key
/// whose expires_at is less than 14 days ahead - e.g. the old key of a rotation - gets one
/// whenever the job runs, so checks of what a command appended leave these out.
export const job_event_types = ['KeyExpired', 'KeyExpiryApproaching'];

/// key_event_types without the expiry job's events.
export async function command_event_types(db, key_id) {
  return (await key_event_types(db, key_id)).filter((t) => !job_event_types.includes(t));
}

/// The number of rows in the events table.
export async function event_count(db) {
  const rows = await db.psql('SELECT count(*) FROM events');
  return Number(rows[0][0]);
}

/// The number of events appended by commands (all but the expiry job's).
export async function command_event_count(db) {
  const rows = await db.psql(
    `SELECT count(*) FROM events WHERE type NOT IN (${job_event_types.map((t) => `'${t}'`).join(', ')})`,
  );
  return Number(rows[0][0]);
}

// ---- the binary -------------------------------------------------------------------------------

/// The environment for every keyledger process: inherited, minus anything that would point it
/// elsewhere, plus `extra`.
function server_env(extra) {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'KEYLEDGER_LISTEN', 'KEYLEDGER_DATA_DIR', 'KEYLEDGER_SECRET_FILE']) {
    delete env[k];
  }
  return { ...env, ...extra };
}

/// Runs `keyledger <args>` to completion. Resolves { code, stdout, stderr } (never rejects on a
/// non-zero exit; it does on a timeout).
export function run_keyledger(args, env) {
  return new Promise((resolve, reject) => {
    execFile(
      keyledger_bin(),
      args,
      { env: server_env(env), timeout: command_deadline_ms, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && error.killed) {
          reject(new Error(`keyledger ${args.join(' ')} timed out\n${stderr}`));
          return;
        }
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error ? error.code : 0, stdout, stderr });
      },
    );
  });
}

export async function migrate(database_url, data_dir) {
  const r = await run_keyledger(['migrate'], { DATABASE_URL: database_url, KEYLEDGER_DATA_DIR: data_dir });
  assert.equal(r.code, 0, `keyledger migrate failed:\n${r.stderr}`);
}

/// The scope catalog every e2e workspace gets unless a test names another: the platform scopes
/// the tests give their keys (keys may carry only catalog scopes and keyledger's management
/// scopes, API4_SPEC "Keys").
export const default_scope_catalog = ['leads:read', 'leads:write', 'reports:read', 'reports:write', 'a:b'];

/// keyledger's own management scopes (docs/users-and-roles.md "Scopes").
export const management_scopes = ['keys:read', 'keys:write', 'users:read', 'users:write', 'workspace:admin', 'audit:read', 'oauth:introspect'];

/// A fresh owner email for a bootstrap (users are global: two workspaces bootstrapped with the
/// default admin@localhost would share one person).
export function unique_email(what = 'user') {
  return `${what}-${random_suffix(12)}@e2e.example`;
}

/// Creates a workspace; resolves its one JSON line { workspace_id, key, owner_email,
/// owner_password, ... }. The data dir must be the server's: the admin key is hashed with the
/// server secret kept there.
/// Options: `prefix`; `args` (further bootstrap options, e.g. ['--allow-no-expiry']);
/// `owner_email` (default: a fresh unique address; null: leave --owner-email out, i.e. the
/// server's default); `scope_catalog` (default default_scope_catalog; null: leave it out).
export async function bootstrap(
  database_url,
  data_dir,
  workspace = `e2e-${random_suffix()}`,
  { prefix, args: extra = [], owner_email = unique_email('owner'), scope_catalog = default_scope_catalog } = {},
) {
  const args = ['bootstrap', '--workspace', workspace, ...extra];
  if (prefix) args.push('--prefix', prefix);
  if (owner_email !== null && !extra.includes('--owner-email')) args.push('--owner-email', owner_email);
  if (scope_catalog !== null && !extra.includes('--scope-catalog')) args.push('--scope-catalog', scope_catalog.join(' '));
  const r = await run_keyledger(args, {
    DATABASE_URL: database_url,
    KEYLEDGER_DATA_DIR: data_dir,
  });
  assert.equal(r.code, 0, `keyledger bootstrap failed (exit ${r.code}):\n${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `bootstrap must print exactly one line, got:\n${r.stdout}`);
  const ws = JSON.parse(lines[0]);
  assert.equal(typeof ws.workspace_id, 'string', 'bootstrap output lacks workspace_id');
  assert.equal(typeof ws.key, 'string', 'bootstrap output lacks key');
  return { ...ws, name: ws.name ?? workspace, stderr: r.stderr };
}

/// A running `keyledger serve`.
export class server {
  /// Spawns it on 127.0.0.1:0 and waits for its "listening" log line. `open_file_soft_limit`:
  /// start it with that soft RLIMIT_NOFILE (through sh's ulimit; the hard limit is inherited).
  static async start({ database_url, data_dir, env = {}, open_file_soft_limit }) {
    const s = new server(database_url, data_dir, env);
    s.open_file_soft_limit = open_file_soft_limit;
    await s.#spawn();
    return s;
  }

  constructor(database_url, data_dir, env) {
    this.database_url = database_url;
    this.data_dir = data_dir;
    this.extra_env = env;
    /// Everything the server wrote to stderr, across restarts.
    this.stderr = '';
    this.stdout = '';
    this.child = null;
    this.port = null;
  }

  get base_url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /// Parsed JSON log lines (lines that are not JSON are kept as { raw }).
  log_lines() {
    return this.stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return { raw: l };
        }
      });
  }

  async #spawn() {
    const [command, args] =
      this.open_file_soft_limit === undefined
        ? [keyledger_bin(), ['serve']]
        : ['/bin/sh', ['-c', `ulimit -S -n ${Number(this.open_file_soft_limit)} && exec "$0" serve`, keyledger_bin()]];
    const child = spawn(command, args, {
      env: server_env({
        DATABASE_URL: this.database_url,
        KEYLEDGER_LISTEN: '127.0.0.1:0',
        KEYLEDGER_DATA_DIR: this.data_dir,
        ...this.extra_env,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.exit_promise = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      this.stdout += d;
    });
    child.stderr.setEncoding('utf8');

    let pending = '';
    const listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`keyledger serve did not log "listening" within ${startup_deadline_ms} ms:\n${this.stderr}`));
      }, startup_deadline_ms);
      child.stderr.on('data', (d) => {
        this.stderr += d;
        pending += d;
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let entry;
          try {
            entry = JSON.parse(line);
          } catch {
            continue;
          }
          if (entry.event === 'listening') {
            clearTimeout(timer);
            resolve(entry);
          }
        }
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.exit_promise.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`keyledger serve exited (code ${code}, signal ${signal}) before listening:\n${this.stderr}`));
      });
    });
    const entry = await listening;
    assert.equal(typeof entry.port, 'string', `"listening" line lacks a string port: ${JSON.stringify(entry)}`);
    this.port = Number(entry.port);
    assert.ok(Number.isInteger(this.port) && this.port > 0, `bad port in ${JSON.stringify(entry)}`);
  }

  /// SIGTERM, then waits (with a deadline) for the exit. Resolves { code, signal }.
  async stop() {
    const child = this.child;
    if (!child) return { code: 0, signal: null };
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) {
      return { code: child.exitCode, signal: child.signalCode };
    }
    child.kill('SIGTERM');
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`keyledger serve did not exit within ${shutdown_deadline_ms} ms of SIGTERM`)), shutdown_deadline_ms);
    });
    try {
      return await Promise.race([child.exit_promise, deadline]);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /// Stops (asserting a clean exit) and starts again with the same database and data dir.
  async restart() {
    const r = await this.stop();
    assert.deepEqual(r, { code: 0, signal: null }, 'keyledger serve must exit 0 on SIGTERM');
    await this.#spawn();
  }

  /// kill -9 (a crash: nothing is flushed), waits for the exit, starts again on the same
  /// database and data dir.
  async crash_and_start() {
    const child = this.child;
    assert.ok(child, 'the server is running');
    child.kill('SIGKILL');
    const r = await child.exit_promise;
    assert.equal(r.signal, 'SIGKILL');
    await this.#spawn();
  }

  /// For cleanup after a failure: no grace.
  kill() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    this.child = null;
  }
}

/// Everything a test file needs: a database, a migrated schema, a workspace with its admin key,
/// a running server. `close()` stops the server (asserting exit code 0), drops the database and
/// deletes the data dir; call it from after().
export async function start_stack({ env = {}, open_file_soft_limit } = {}) {
  const db = await create_database();
  const data_dir = await mkdtemp(path.join(tmpdir(), 'keyledger-e2e-'));
  let srv = null;
  const extra_servers = [];
  try {
    await migrate(db.url, data_dir);
    const workspace = await bootstrap(db.url, data_dir);
    srv = await server.start({ database_url: db.url, data_dir, env, open_file_soft_limit });
    return {
      db,
      data_dir,
      workspace,
      admin_key: workspace.key,
      server: srv,
      api: client(srv),
      /// Another workspace in the same database, made by a separate process (like another
      /// node): resolves once the running server's projection has applied it.
      /// Options as bootstrap's (prefix, args, owner_email, scope_catalog).
      async bootstrap_workspace(name, options = {}) {
        const ws = await bootstrap(db.url, data_dir, name, options);
        const api = client(srv);
        // Ready = its view applied the log's head, which includes the bootstrap. (Polling
        // verification instead would count failed attempts against the new workspace.)
        await wait_for(async () => (await api.get('/readyz')).status === 200, {
          deadline_ms: 5_000,
          what: `the server to see workspace ${ws.workspace_id}`,
        });
        const v = await api.verify(ws.key);
        assert.equal(v.json?.valid, true, `the new admin key verifies: ${v.text}`);
        return ws;
      },
      /// A second `keyledger serve` on the same database and data dir (another node), with
      /// its own environment; stopped by close(). Resolves { server, api }.
      async start_extra_server(extra_env = {}) {
        const s = await server.start({ database_url: db.url, data_dir, env: extra_env });
        extra_servers.push(s);
        return { server: s, api: client(s) };
      },
      async close() {
        let exit;
        const extra_exits = [];
        try {
          for (const s of extra_servers) extra_exits.push(await s.stop());
          exit = await srv.stop();
        } finally {
          for (const s of extra_servers) s.kill();
          srv.kill();
          await db.drop();
          await rm(data_dir, { recursive: true, force: true });
        }
        assert.deepEqual(exit, { code: 0, signal: null }, 'keyledger serve must exit 0 on SIGTERM');
        for (const e of extra_exits) {
          assert.deepEqual(e, { code: 0, signal: null }, 'every keyledger serve must exit 0 on SIGTERM');
        }
      },
    };
  } catch (e) {
    for (const s of extra_servers) s.kill();
    if (srv) srv.kill();
    await db.drop().catch(() => {});
    await rm(data_dir, { recursive: true, force: true });
    throw e;
  }
}

// ---- HTTP -------------------------------------------------------------------------------------

/// The session cookie's name (API4_SPEC "Principals").
export const session_cookie = 'keyledger_session';

/// A small fetch wrapper bound to a server (it follows restarts: the port is read per call).
/// request(method, path, { key, bearer, session, csrf, json, body, headers }) resolves
/// { status, headers, text, json } where json is the parsed body or undefined.
/// `session` ({ id, csrf } as people.mjs's login gives it) sends the session cookie and, on
/// anything but GET/HEAD, its CSRF token in X-CSRF-Token; `csrf` overrides that token (a string)
/// or leaves the header out (false).
export function client(srv) {
  async function request(method, url_path, { key, bearer = true, session, csrf, json, body, headers = {}, idempotency_key } = {}) {
    const h = { ...headers };
    if (key !== undefined) h.authorization = bearer ? `Bearer ${key}` : key;
    if (session !== undefined) {
      h.cookie = `${session_cookie}=${session.id}`;
      const token = csrf === undefined ? session.csrf : csrf;
      if (!['GET', 'HEAD'].includes(method) && token !== false) h['x-csrf-token'] = token;
    }
    if (idempotency_key !== undefined) h['idempotency-key'] = idempotency_key;
    let payload = body;
    if (json !== undefined) {
      payload = JSON.stringify(json);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${srv.base_url}${url_path}`, {
      method,
      headers: h,
      body: payload,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let parsed;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, json: parsed };
  }
  const id_path = (id) => `/v1/keys/${encodeURIComponent(id)}`;
  return {
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, o) => request('POST', p, o),
    patch: (p, o) => request('PATCH', p, o),
    del: (p, o) => request('DELETE', p, o),
    create_key: (key, fields, o = {}) => request('POST', '/v1/keys', { ...o, key, json: fields }),
    get_key: (key, id) => request('GET', id_path(id), { key }),
    revoke_key: (key, id, o = {}) => request('DELETE', id_path(id), { ...o, key }),
    patch_key: (key, id, fields, o = {}) => request('PATCH', id_path(id), { ...o, key, json: fields }),
    /// body undefined: an empty request body (the default grace period).
    rotate_key: (key, id, body, o = {}) =>
      request('POST', `${id_path(id)}/rotate`, { ...o, key, ...(body === undefined ? {} : { json: body }) }),
    /// query: an object of query parameters.
    list_keys: (key, query = {}) => request('GET', `/v1/keys${query_string(query)}`, { key }),
    requests_of: (key, id, query = {}) => request('GET', `${id_path(id)}/requests${query_string(query)}`, { key }),
    /// The bare {key} body, or with required_scopes / ip / environment.
    verify: (k, extra = {}) => request('POST', '/v1/keys/verify', { json: { key: k, ...extra } }),
  };
}

/// "?a=1&b=2" (or "") from an object; undefined values are left out.
export function query_string(query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.append(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/// One HTTP/1.1 request with node:http on a fresh connection, for what fetch cannot do: a
/// chosen local (source) address, HEAD, any header. Resolves { status, headers (lowercased
/// object), text, json }.
export function http_request(port, { method = 'GET', path: url_path = '/', headers = {}, body, local_address, host = '127.0.0.1', deadline_ms = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path: url_path, headers, localAddress: local_address, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(deadline_ms, () => req.destroy(new Error(`${method} ${url_path}: no answer within ${deadline_ms} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/// A TCP port that was free a moment ago on 127.0.0.1.
export async function free_port() {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

// ---- the key object ---------------------------------------------------------------------------

/// RFC 3339 UTC with up to microseconds, as the server writes times.
export const iso_timestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/// `ms` since the epoch as RFC 3339 UTC with microseconds ("2026-11-23T19:36:02.123000Z").
export function rfc3339(ms) {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/// Every member of the key object (docs: API_SPEC "Key object", plus API4_SPEC's owner_user_id,
/// disabled_reason and effective_scopes), in no particular order.
export const key_object_fields = [
  'id', 'name', 'start', 'environment', 'scopes', 'workspace_id', 'enabled', 'status',
  'created_at', 'expires_at', 'updated_at', 'revoked_at', 'allowed_cidrs', 'postback_url',
  'off_the_record', 'rate_limit', 'rotated_from', 'rotated_to', 'last_used_at', 'last_used_ip',
  'owner_user_id', 'disabled_reason', 'effective_scopes',
];

const nullable_time = (v) => v === null || (typeof v === 'string' && iso_timestamp.test(v));
const nullable_string = (v) => v === null || typeof v === 'string';

/// Asserts the exact key object shape and member types; `with_secret` for create/rotate
/// answers (which add "key").
export function assert_key_object(obj, { with_secret = false, what = '' } = {}) {
  const ctx = `${what}: ${JSON.stringify(obj)}`;
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `not an object ${ctx}`);
  const expected = with_secret ? [...key_object_fields, 'key'] : key_object_fields;
  assert.deepEqual(Object.keys(obj).sort(), [...expected].sort(), `key object members ${ctx}`);
  assert.match(obj.id, /^key_[0-9A-Za-z]{22}$/, ctx);
  assert.equal(typeof obj.name, 'string', ctx);
  assert.equal(typeof obj.start, 'string', ctx);
  assert.ok(['live', 'test'].includes(obj.environment), ctx);
  assert.ok(Array.isArray(obj.scopes) && obj.scopes.every((s) => typeof s === 'string'), ctx);
  assert.ok(Array.isArray(obj.effective_scopes) && obj.effective_scopes.every((s) => obj.scopes.includes(s)), `effective_scopes within scopes ${ctx}`);
  assert.ok(obj.owner_user_id === null || /^usr_[0-9A-Za-z]{22}$/.test(obj.owner_user_id), `owner_user_id ${ctx}`);
  assert.ok([null, 'disabled', 'owner_removed'].includes(obj.disabled_reason), `disabled_reason ${ctx}`);
  assert.equal(typeof obj.workspace_id, 'string', ctx);
  assert.equal(typeof obj.enabled, 'boolean', ctx);
  assert.ok(['active', 'disabled', 'expired', 'revoked'].includes(obj.status), ctx);
  assert.match(obj.created_at, iso_timestamp, ctx);
  for (const f of ['expires_at', 'updated_at', 'revoked_at', 'last_used_at']) {
    assert.ok(nullable_time(obj[f]), `${f} ${ctx}`);
  }
  assert.ok(Array.isArray(obj.allowed_cidrs) && obj.allowed_cidrs.every((s) => typeof s === 'string'), ctx);
  for (const f of ['postback_url', 'rotated_from', 'rotated_to', 'last_used_ip']) {
    assert.ok(nullable_string(obj[f]), `${f} ${ctx}`);
  }
  assert.equal(typeof obj.off_the_record, 'boolean', ctx);
  if (obj.rate_limit !== null) {
    assert.deepEqual(Object.keys(obj.rate_limit).sort(), ['limit', 'window_seconds'], ctx);
    assert.ok(Number.isInteger(obj.rate_limit.limit) && Number.isInteger(obj.rate_limit.window_seconds), ctx);
  }
  if (with_secret) assert.equal(typeof obj.key, 'string', ctx);
}

/// The members of a VALID verification answer ("scopes" are the effective ones).
export function valid_answer(created, workspace_id) {
  return {
    valid: true,
    code: 'VALID',
    key_id: created.id,
    workspace_id,
    environment: created.environment,
    scopes: created.effective_scopes ?? created.scopes,
    expires_at: created.expires_at,
    name: created.name,
  };
}

/// Asserts the documented error shape: status, JSON {error, message, code, request_id} and a
/// Request-Id header equal to the body's request_id. `code` may be a string or a list of the
/// acceptable codes.
export function assert_error(res, status, code, what = '') {
  const ctx = `${what}: got ${res.status} ${res.text}`;
  assert.equal(res.status, status, ctx);
  assert.ok(res.json && typeof res.json === 'object', `error body is not JSON ${ctx}`);
  for (const f of ['error', 'message', 'code', 'request_id']) {
    assert.equal(typeof res.json[f], 'string', `error body lacks "${f}" ${ctx}`);
  }
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(res.json.code), `expected code ${codes.join('|')} ${ctx}`);
  assert.match(res.json.request_id, /^req_[0-9A-Za-z]+$/, ctx);
  assert.equal(res.headers.get('request-id'), res.json.request_id, `Request-Id header ${ctx}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, ctx);
}

/// Sends raw bytes on a fresh TCP connection and resolves everything received until the
/// server closes (or `deadline_ms` passes). Resolves { data, error } - a reset after the
/// response is reported in `error`, not thrown.
export function raw_request(port, bytes, deadline_ms = 10_000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${deadline_ms} ms; got: ${Buffer.concat(chunks).toString('latin1')}`));
    }, deadline_ms);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (d) => chunks.push(d));
    let error = null;
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('latin1'), error });
    });
  });
}

/// Parses the first HTTP/1.1 response in `text`: { status, headers (lowercased), body, json }.
export function parse_raw_response(text) {
  const head_end = text.indexOf('\r\n\r\n');
  assert.ok(head_end > 0, `no complete HTTP response in: ${JSON.stringify(text.slice(0, 200))}`);
  const [status_line, ...header_lines] = text.slice(0, head_end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(status_line);
  assert.ok(m, `bad status line: ${status_line}`);
  const headers = {};
  for (const l of header_lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = text.slice(head_end + 4);
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(m[1]), headers, body, json };
}

/// Polls `condition` (sync or async) until it is truthy or the deadline passes.
export async function wait_for(condition, { deadline_ms = 5_000, interval_ms = 20, what = 'condition' } = {}) {
  const end = Date.now() + deadline_ms;
  for (;;) {
    const v = await condition();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadline_ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval_ms));
  }
}

/// Polls `produce` until `accept(value)` holds; resolves that value. On the deadline the error
/// shows the last value seen, so a wrong answer reads as one (not as a bare timeout).
export async function poll(produce, accept, { deadline_ms = 5_000, interval_ms = 20, what = 'condition' } = {}) {
  const end = Date.now() + deadline_ms;
  let last;
  for (;;) {
    last = await produce();
    if (accept(last)) return last;
    if (Date.now() > end) {
      const shown = last && typeof last === 'object' && 'status' in last && 'text' in last
        ? `${last.status} ${last.text}`
        : JSON.stringify(last);
      throw new Error(`timed out after ${deadline_ms} ms waiting for ${what}; last value: ${shown}`);
    }
    await new Promise((r) => setTimeout(r, interval_ms));
  }
}

// ---- key format -------------------------------------------------------------------------------

export const base62_alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const key_pattern = (prefix) => new RegExp(`^${prefix}_(live|test)_[0-9A-Za-z]{38}$`);
export { key_pattern };

const crc_table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/// CRC-32/ISO-HDLC (zlib) over the string's UTF-8 bytes.
export function crc32(text) {
  let c = 0xffffffff;
  for (const b of Buffer.from(text, 'utf8')) c = crc_table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/// `value` as `digits` base62 characters, most significant first.
export function base62_fixed(value, digits) {
  let out = '';
  let v = value;
  for (let i = 0; i < digits; i++) {
    out = base62_alphabet[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/// A well-formed key that nobody issued: 32 random base62 characters and a correct checksum.
export function make_key(prefix = 'kl', env = 'test') {
  let random = '';
  const bytes = randomBytes(64);
  for (const b of bytes) {
    if (random.length === 32) break;
    if (b < 248) random += base62_alphabet[b % 62];  // rejection sampling keeps it uniform
  }
  while (random.length < 32) random += base62_alphabet[randomInt(62)];
  const head = `${prefix}_${env}_${random}`;
  return head + base62_fixed(crc32(head), 6);
}

/// True if the key's checksum is right (the same check the server does offline).
export function checksum_ok(key) {
  const head = key.slice(0, -6);
  return base62_fixed(crc32(head), 6) === key.slice(-6);
}

/// The 38-character body of a key.
export function key_body(key) {
  return key.slice(key.lastIndexOf('_') + 1);
}
