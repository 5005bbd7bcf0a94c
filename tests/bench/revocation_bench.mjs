#!/usr/bin/env node
// Revocation benchmark: how long until a key revoked on one keyledger node is refused by the
// other nodes. Three `keyledger serve` processes share one database and one server secret;
// node A takes every command, nodes B and C are polled with back-to-back verifications on one
// kept-alive connection each. How it works and the figures so far: docs/performance.md
// ("Revocation reaching the other nodes"). Usually run as `./scripts/dev bench`.
//
// Inputs (environment):
//   KEYLEDGER_BIN               the keyledger executable
//   DATABASE_URL                a fresh database, owned by a superuser, that this script migrates
//                               (the poll-fallback phase disables and re-enables the NOTIFY
//                               trigger on its events table)
//   BENCH_REVOKE_ROUNDS         rounds with LISTEN/NOTIFY as shipped (default 500)
//   BENCH_REVOKE_LOAD_ROUNDS    rounds while wrk loads node B with verifications (default 500;
//                               0 skips the phase; skipped anyway when wrk is missing)
//   BENCH_REVOKE_LOAD_CONNECTIONS  wrk connections of that load (default 16)
//   BENCH_REVOKE_POLL_ROUNDS    rounds with the NOTIFY trigger disabled, so that only the
//                               subscription's 250 ms poll carries the revocation: what a lost
//                               notification costs (default 50; 0 skips the phase)
//   BENCH_REVOKE_DEADLINE_MS    how long to wait for a node before counting a miss (default 5000)
//   BENCH_REVOKE_TOKEN_ROUNDS   rounds of the OAuth phase (default 200; 0 skips it): an access
//                               token issued on A (client_credentials), revoked on A (RFC 7009
//                               POST /oauth/revoke), polled on B and C with POST /oauth/introspect
//                               until {"active":false}
//
// Every phase is held against the bar (p99 of "refused by every node" <= 100 ms, from the DELETE
// sent); the notify phase alone decides the exit status: 0 when it meets the bar, 1 when it does
// not, 2 when the benchmark could not run.
// No secret is printed: the admin key travels in request headers only, the load's key reaches
// wrk through the BENCH_KEY environment variable (tests/bench/verify.lua), never a command line.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/// The bar (docs/performance.md, BRIEF "Figures to beat"): p99 of "refused by every node".
const bar_p99_ms = 100;
/// Deadline for a server to log "listening" and for one-shot subcommands.
const startup_deadline_ms = 20_000;
/// Deadline for one HTTP answer (generous: a slow answer is a figure, not a reason to stop).
const request_deadline_ms = 30_000;
/// How long a new key may take to verify on B and C before a round starts (set-up, not timed).
const create_deadline_ms = 30_000;

class setup_error extends Error {}

function say(text) {
  process.stderr.write(`[revocation-bench] ${text}\n`);
}

function positive_int(name, fallback, { allow_zero = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const ok = allow_zero ? /^(0|[1-9][0-9]*)$/ : /^[1-9][0-9]*$/;
  if (!ok.test(raw)) throw new setup_error(`${name} must be a ${allow_zero ? 'non-negative' : 'positive'} integer`);
  return Number(raw);
}

const now_ns = () => process.hrtime.bigint();
const ms_between = (from, to) => Number(to - from) / 1e6;

// ---- processes --------------------------------------------------------------------------------

/// Every child this script started, so that an exit (normal, error or signal) stops them.
const children = new Set();

function kill_children(signal) {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  }
}
process.on('exit', () => kill_children('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    kill_children('SIGKILL');
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/// The environment of every keyledger process: inherited, minus what would point it elsewhere.
function keyledger_env(extra) {
  const env = { ...process.env };
  for (const k of ['KEYLEDGER_LISTEN', 'KEYLEDGER_DATA_DIR', 'KEYLEDGER_SECRET_FILE', 'BENCH_KEY']) {
    delete env[k];
  }
  return { ...env, ...extra };
}

/// Runs a command to completion; resolves stdout, rejects with its stderr on failure.
function run(file, args, env) {
  return new Promise((resolve, reject) => {
    const options = { env, timeout: startup_deadline_ms, maxBuffer: 4 * 1024 * 1024 };
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error) {
        const tail = stderr.trim().split('\n').slice(-5).join(' | ');
        const why = error.code ?? error.signal;
        reject(new setup_error(`${path.basename(file)} ${args[0]} failed (${why}): ${tail}`));
        return;
      }
      resolve(stdout);
    });
  });
}

function last_lines(file, n = 15) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/// A `keyledger serve` with its log in a file (the kernel writes it; nothing to drain here).
async function start_node(name, bin, env, work) {
  const log = path.join(work, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  children.add(child);
  const deadline = Date.now() + startup_deadline_ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new setup_error(`node ${name} exited before listening:\n${last_lines(log)}`);
    }
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      // not written yet
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"listening"')) continue;
      try {
        const entry = JSON.parse(line);
        if (entry.event === 'listening' && /^[0-9]+$/.test(entry.port ?? '')) {
          return { name, child, log, port: Number(entry.port) };
        }
      } catch {
        // a partly written line: read again
      }
    }
    if (Date.now() > deadline) {
      throw new setup_error(`node ${name} did not log "listening" within ${startup_deadline_ms} ms:\n${last_lines(log)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/// `signal` (SIGTERM), then SIGKILL after a grace period.
async function stop_child(child, grace_ms = 10_000, signal = 'SIGTERM') {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(r, grace_ms);
    });
    await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  children.delete(child);
}

// ---- HTTP -------------------------------------------------------------------------------------

/// One kept-alive connection to a node: requests go back to back, never in parallel.
function connection(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  function request(method, url_path, { headers = {}, json, form } = {}) {
    const body = json !== undefined ? Buffer.from(JSON.stringify(json))
      : form !== undefined ? Buffer.from(new URLSearchParams(form).toString()) : undefined;
    const h = { ...headers };
    if (body !== undefined) {
      h['content-type'] = json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded';
      h['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: url_path, agent, headers: h }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          // The instant the whole answer was here: what every latency below is measured to.
          const at = now_ns();
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode, json: parsed, at });
        });
        res.on('error', reject);
      });
      req.setTimeout(request_deadline_ms, () => {
        req.destroy(new Error(`${method} ${url_path}: no answer within ${request_deadline_ms} ms`));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  return { request, close: () => agent.destroy() };
}

/// Verifies `key` back to back until the answer's code is `want`. Codes in `passing` may come
/// first (the state before the change); anything else is an error. Resolves { at, polls, spent }
/// with the arrival time of the first `want` answer (or miss: true after `deadline_ms`), the
/// number of verifications and the time they took (ns): spent / polls is the mean round trip of
/// one verification, the resolution of the measurement.
async function poll_until(conn, key, want, passing, deadline_ms) {
  const start = now_ns();
  const end = start + BigInt(deadline_ms) * 1_000_000n;
  for (let polls = 1; ; polls++) {
    const r = await conn.request('POST', '/v1/keys/verify', { json: { key } });
    const code = r.json?.code;
    if (r.status === 200 && code === want) return { at: r.at, polls, spent: r.at - start };
    if (r.status !== 200 || !passing.includes(code)) {
      throw new Error(`verify answered ${r.status} ${code ?? '(no code)'} while waiting for ${want}`);
    }
    if (r.at > end) return { miss: true, polls, spent: r.at - start };
  }
}

/// Introspects `token` back to back until `active` is `want` (as poll_until does for keys).
async function poll_introspect(conn, auth, token, want, deadline_ms) {
  const start = now_ns();
  const end = start + BigInt(deadline_ms) * 1_000_000n;
  for (let polls = 1; ; polls++) {
    const r = await conn.request('POST', '/oauth/introspect', { headers: auth, form: { token } });
    if (r.status !== 200 || typeof r.json?.active !== 'boolean') {
      throw new Error(`introspection answered ${r.status} ${r.json?.error ?? ''}`);
    }
    if (r.json.active === want) return { at: r.at, polls, spent: r.at - start };
    if (r.at > end) return { miss: true, polls, spent: r.at - start };
  }
}

// ---- statistics -------------------------------------------------------------------------------

/// Nearest-rank percentile of a sorted array.
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const [p50, p90, p99] = [50, 90, 99].map((p) => percentile(s, p));
  return { n: s.length, p50, p90, p99, max: s[s.length - 1] ?? NaN };
}

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const four = (s) => `${fmt(s.p50)} / ${fmt(s.p90)} / ${fmt(s.p99)} / ${fmt(s.max)}`;

// ---- the benchmark ----------------------------------------------------------------------------

/// One phase: `rounds` times create a key on A, wait until B and C verify it, revoke it on A
/// and time until B and C refuse it.
async function run_phase(phase, rounds, ctx) {
  const { a, others, auth, deadline_ms } = ctx;
  const per_node = Object.fromEntries(others.map((o) => [
    o.name,
    { from_ack: [], from_send: [], polls: [], misses: 0, spent: 0n, verifications: 0 },
  ]));
  const every = { from_ack: [], from_send: [] };
  const delete_rtt = [];
  const created_seen = [];
  let own_refused = 0;
  let misses = 0;
  const failed_deletes = [];
  const started = Date.now();
  for (let i = 0; i < rounds; i++) {
    const created = await a.conn.request('POST', '/v1/keys', {
      headers: auth,
      json: { name: `r${i}`, environment: 'test' },
    });
    if (created.status !== 201 || typeof created.json?.key !== 'string' || typeof created.json?.id !== 'string') {
      throw new Error(`POST /v1/keys on A answered ${created.status} ${created.json?.code ?? ''}`);
    }
    const { key, id } = created.json;
    const seen = await Promise.all(others.map((o) => poll_until(o.conn, key, 'VALID', ['NOT_FOUND'], create_deadline_ms)
      .catch((e) => {
        throw new Error(`node ${o.name}: ${e.message}`);
      })));
    const late = others.filter((o, k) => seen[k].miss).map((o) => o.name);
    if (late.length > 0) {
      throw new Error(`round ${i}: a new key did not verify on node ${late.join(', ')} within ${create_deadline_ms} ms`);
    }
    created_seen.push(Math.max(...seen.map((s) => ms_between(created.at, s.at))));

    // Polling starts with the DELETE, so the first REVOKED answer is caught even when it comes
    // before A's 204 (then "from A's 204" is negative). One Promise.all over everything, so that
    // a failure anywhere is reported, never left unhandled.
    const sent = now_ns();
    const deleted = a.conn.request('DELETE', `/v1/keys/${encodeURIComponent(id)}`, { headers: auth })
      .then(async (ack) => {
        if (ack.status !== 204) return { ack, own_refused: false };
        // The node that took the command applied it before answering: it refuses at once.
        const own = await ctx.a_verify.request('POST', '/v1/keys/verify', { json: { key } });
        return { ack, own_refused: own.status === 200 && own.json?.code === 'REVOKED' };
      });
    const refused = others.map((o) => poll_until(o.conn, key, 'REVOKED', ['VALID'], deadline_ms)
      .catch((e) => {
        throw new Error(`node ${o.name}: ${e.message}`);
      }));
    const [{ ack, own_refused: refused_at_once }, ...results] = await Promise.all([deleted, ...refused]);
    if (ack.status !== 204) {
      // A refused command (e.g. 503 after the server's 5 s handler deadline) times nothing.
      failed_deletes.push(`${ack.status} ${ack.json?.code ?? ''}`.trim());
      continue;
    }
    if (refused_at_once) own_refused++;
    delete_rtt.push(ms_between(sent, ack.at));
    let slowest = -Infinity;
    let round_missed = false;
    results.forEach((r, k) => {
      const stats = per_node[others[k].name];
      stats.polls.push(r.polls);
      stats.spent += r.spent;
      stats.verifications += r.polls;
      if (r.miss) {
        stats.misses++;
        round_missed = true;
        return;
      }
      stats.from_ack.push(ms_between(ack.at, r.at));
      stats.from_send.push(ms_between(sent, r.at));
      slowest = r.at > slowest ? r.at : slowest;
    });
    if (round_missed) {
      misses++;
    } else {
      every.from_ack.push(ms_between(ack.at, slowest));
      every.from_send.push(ms_between(sent, slowest));
    }
  }
  return {
    phase,
    rounds,
    seconds: (Date.now() - started) / 1000,
    per_node: Object.fromEntries(Object.entries(per_node).map(([n, s]) => [n, {
      from_ack: summary(s.from_ack),
      from_send: summary(s.from_send),
      polls: summary(s.polls),
      round_trip_us: s.verifications > 0 ? Number(s.spent) / 1e3 / s.verifications : NaN,
      misses: s.misses,
    }])),
    every: { from_ack: summary(every.from_ack), from_send: summary(every.from_send) },
    delete_rtt: summary(delete_rtt),
    created_seen: summary(created_seen),
    own_refused,
    misses,
    failed_deletes,
  };
}

/// The OAuth phase: `rounds` times issue an access token on A, wait until B and C introspect it
/// as active, revoke it on A and time until B and C answer {"active":false}. Same result shape
/// as run_phase ("DELETE" is the revocation request here).
async function run_token_phase(rounds, ctx) {
  const { a, others, auth, deadline_ms, client_auth } = ctx;
  const per_node = Object.fromEntries(others.map((o) => [
    o.name,
    { from_ack: [], from_send: [], polls: [], misses: 0, spent: 0n, verifications: 0 },
  ]));
  const every = { from_ack: [], from_send: [] };
  const delete_rtt = [];
  const created_seen = [];
  const failed_deletes = [];
  let own_refused = 0;
  let misses = 0;
  const started = Date.now();
  for (let i = 0; i < rounds; i++) {
    const issued = await a.conn.request('POST', '/oauth/token', {
      headers: client_auth, form: { grant_type: 'client_credentials' },
    });
    const token = issued.json?.access_token;
    if (issued.status !== 200 || typeof token !== 'string') {
      throw new Error(`POST /oauth/token on A answered ${issued.status} ${issued.json?.error ?? ''}`);
    }
    const seen = await Promise.all(others.map((o) => poll_introspect(o.conn, auth, token, true, create_deadline_ms)));
    if (seen.some((x) => x.miss)) throw new Error(`round ${i}: a new token was not active on every node`);
    created_seen.push(Math.max(...seen.map((x) => ms_between(issued.at, x.at))));
    const sent = now_ns();
    const revoked = a.conn.request('POST', '/oauth/revoke', { headers: client_auth, form: { token } })
      .then(async (ack) => {
        if (ack.status !== 200) return { ack, own_refused: false };
        const own = await ctx.a_verify.request('POST', '/oauth/introspect', { headers: auth, form: { token } });
        return { ack, own_refused: own.status === 200 && own.json?.active === false };
      });
    const refused = others.map((o) => poll_introspect(o.conn, auth, token, false, deadline_ms));
    const [{ ack, own_refused: at_once }, ...results] = await Promise.all([revoked, ...refused]);
    if (ack.status !== 200) {
      failed_deletes.push(`${ack.status} ${ack.json?.error ?? ''}`.trim());
      continue;
    }
    if (at_once) own_refused++;
    delete_rtt.push(ms_between(sent, ack.at));
    let slowest = -Infinity;
    let round_missed = false;
    results.forEach((r, k) => {
      const stats = per_node[others[k].name];
      stats.polls.push(r.polls);
      stats.spent += r.spent;
      stats.verifications += r.polls;
      if (r.miss) {
        stats.misses++;
        round_missed = true;
        return;
      }
      stats.from_ack.push(ms_between(ack.at, r.at));
      stats.from_send.push(ms_between(sent, r.at));
      slowest = r.at > slowest ? r.at : slowest;
    });
    if (round_missed) {
      misses++;
    } else {
      every.from_ack.push(ms_between(ack.at, slowest));
      every.from_send.push(ms_between(sent, slowest));
    }
  }
  return {
    phase: 'oauth',
    rounds,
    seconds: (Date.now() - started) / 1000,
    per_node: Object.fromEntries(Object.entries(per_node).map(([n, st]) => [n, {
      from_ack: summary(st.from_ack),
      from_send: summary(st.from_send),
      polls: summary(st.polls),
      round_trip_us: st.verifications > 0 ? Number(st.spent) / 1e3 / st.verifications : NaN,
      misses: st.misses,
    }])),
    every: { from_ack: summary(every.from_ack), from_send: summary(every.from_send) },
    delete_rtt: summary(delete_rtt),
    created_seen: summary(created_seen),
    own_refused,
    misses,
    failed_deletes,
  };
}

function report_phase(r, title) {
  const columns = (s) => [s.p50, s.p90, s.p99, s.max].map((v) => fmt(v).padStart(8)).join('');
  const heads = ['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(8)).join('');
  const row = (label, s) => `${label.padEnd(28)} ${columns(s.from_ack)}    ${columns(s.from_send)}`;
  const per_node = Object.entries(r.per_node);
  const lines = [
    '',
    `${title} (${r.rounds} rounds, ${r.seconds.toFixed(1)} s)`,
    `${'node'.padEnd(28)} ${"from A's 204, ms".padEnd(36)} from DELETE sent, ms`,
    `${''.padEnd(28)} ${heads}    ${heads}`,
    ...per_node.map(([name, s]) => row(`${name}${s.misses ? ` (${s.misses} missed)` : ''}`, s)),
    row('every node (slowest of B, C)', r.every),
    `DELETE round trip on A: p50 ${fmt(r.delete_rtt.p50)} ms, p99 ${fmt(r.delete_rtt.p99)} ms, ` +
      `max ${fmt(r.delete_rtt.max)} ms; A refused right after its 204: ${r.own_refused}/${r.delete_rtt.n}` +
      (r.failed_deletes.length > 0 ? `; DELETE failed in ${r.failed_deletes.length} rounds (${r.failed_deletes.join(', ')})` : ''),
    `verifications per node until REVOKED (median): ` +
      per_node.map(([n, s]) => `${n} ${s.polls.p50}`).join(', ') +
      `; one verification round trip while polling (the resolution): ` +
      per_node.map(([n, s]) => `${n} ${Math.round(s.round_trip_us)} us`).join(', '),
  ];
  if (r.load) lines.push(`load during the phase: ${r.load}`);
  lines.push(`a new key verifying on every node, from A's 201: p50 ${fmt(r.created_seen.p50)} ms, ` +
    `p99 ${fmt(r.created_seen.p99)} ms, max ${fmt(r.created_seen.max)} ms`);
  process.stdout.write(lines.join('\n') + '\n');
}

function machine() {
  let cpu = 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    cpu = os.cpus()[0]?.model ?? cpu;
  }
  let distro = os.type();
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) distro = m[1];
  } catch {
    // keep os.type()
  }
  return { cpu, cores: os.cpus().length, distro };
}

function which(cmd) {
  return (process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(path.join(d, cmd)));
}

function psql_bin() {
  const pg15 = '/usr/lib/postgresql/15/bin/psql';
  return existsSync(pg15) ? pg15 : 'psql';
}

async function main() {
  const bin = process.env.KEYLEDGER_BIN;
  const database_url = process.env.DATABASE_URL;
  if (!bin || !existsSync(bin)) throw new setup_error('KEYLEDGER_BIN must name the keyledger executable');
  if (!database_url) throw new setup_error('DATABASE_URL must name a fresh database');
  const rounds = positive_int('BENCH_REVOKE_ROUNDS', 500);
  let load_rounds = positive_int('BENCH_REVOKE_LOAD_ROUNDS', 500, { allow_zero: true });
  const load_connections = positive_int('BENCH_REVOKE_LOAD_CONNECTIONS', 16);
  const poll_rounds = positive_int('BENCH_REVOKE_POLL_ROUNDS', 50, { allow_zero: true });
  const deadline_ms = positive_int('BENCH_REVOKE_DEADLINE_MS', 5000);
  const token_rounds = positive_int('BENCH_REVOKE_TOKEN_ROUNDS', 200, { allow_zero: true });
  if (load_rounds > 0 && !which('wrk')) {
    say('wrk is not installed: skipping the phase under verify load');
    load_rounds = 0;
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'keyledger-revocation-bench-'));
  const nodes = [];
  const conns = [];
  let wrk = null;
  let trigger_disabled = false;
  try {
    // One data dir (one server secret) for every process, so keys verify on every node.
    // One issuer for every node: an access token issued by A names it, and B and C accept only
    // their own issuer (docs/oauth.md: several nodes share KEYLEDGER_ISSUER).
    const env = keyledger_env({
      DATABASE_URL: database_url,
      KEYLEDGER_DATA_DIR: path.join(work, 'data'),
      KEYLEDGER_ISSUER: 'http://127.0.0.1:1',
    });
    say('migrating');
    await run(bin, ['migrate'], env);
    const workspace = `revbench-${Math.random().toString(36).slice(2, 10)}`;
    say(`bootstrapping workspace ${workspace}`);
    const out = (await run(bin, ['bootstrap', '--workspace', workspace], env)).trim().split('\n');
    let admin_key;
    try {
      admin_key = JSON.parse(out[out.length - 1]).key;
    } catch {
      admin_key = undefined;
    }
    if (typeof admin_key !== 'string') throw new setup_error('bootstrap printed no JSON line with "key"');
    const auth = { authorization: `Bearer ${admin_key}` };

    for (const name of ['A', 'B', 'C']) {
      const node = await start_node(name, bin, { ...env, KEYLEDGER_LISTEN: '127.0.0.1:0' }, work);
      node.conn = connection(node.port);
      conns.push(node.conn);
      nodes.push(node);
      say(`node ${name} listens on port ${node.port}`);
    }
    const [a, ...others] = nodes;
    const a_verify = connection(a.port);
    conns.push(a_verify);
    const ctx = { a, others, auth, deadline_ms, a_verify };
    if (token_rounds > 0) {
      // An OAuth client of the workspace, for the OAuth phase (its secret stays in memory).
      const client = await a.conn.request('POST', '/v1/oauth/clients', {
        headers: auth, json: { type: 'confidential', name: 'revbench', grant_types: ['client_credentials'] },
      });
      if (client.status !== 201) throw new setup_error(`registering an OAuth client answered ${client.status}`);
      ctx.client_auth = {
        authorization: `Basic ${Buffer.from(`${client.json.id}:${client.json.client_secret}`).toString('base64')}`,
      };
    }

    const m = machine();
    const results = [];
    say(`phase notify: ${rounds} rounds`);
    results.push(['notify', 'LISTEN/NOTIFY as shipped', await run_phase('notify', rounds, ctx)]);

    if (load_rounds > 0) {
      // A valid key for wrk, and wrk hammering node B with it for the whole phase.
      const created = await a.conn.request('POST', '/v1/keys', {
        headers: auth,
        json: { name: 'load', environment: 'test' },
      });
      if (created.status !== 201 || typeof created.json?.key !== 'string') {
        throw new Error(`POST /v1/keys (load key) answered ${created.status}`);
      }
      const seen = await poll_until(others[0].conn, created.json.key, 'VALID', ['NOT_FOUND'], deadline_ms);
      if (seen.miss) throw new Error('the load key did not verify on node B');
      say(`phase load: ${load_rounds} rounds while wrk -t1 -c${load_connections} verifies on node B`);
      const wrk_log = path.join(work, 'wrk.log');
      const fd = openSync(wrk_log, 'w');
      wrk = spawn('wrk', ['-t1', `-c${load_connections}`, '-d3600s', '-s', path.join(here, 'verify.lua'),
        `http://127.0.0.1:${others[0].port}/v1/keys/verify`], {
        env: { ...process.env, BENCH_KEY: created.json.key },
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      children.add(wrk);
      const phase = await run_phase('load', load_rounds, ctx);
      if (wrk.exitCode !== null || wrk.signalCode !== null) {
        throw new setup_error(`wrk stopped before the phase ended:\n${last_lines(wrk_log)}`);
      }
      // SIGINT makes wrk stop and print its summary: the load really was there, and all 2xx.
      await stop_child(wrk, 5_000, 'SIGINT');
      wrk = null;
      const summary_text = readFileSync(wrk_log, 'utf8');
      const rate = /^Requests\/sec:\s*([0-9.]+)/m.exec(summary_text)?.[1];
      const non2xx = /Non-2xx or 3xx responses:\s*([0-9]+)/.exec(summary_text)?.[1];
      if (rate === undefined) throw new setup_error(`cannot read wrk's summary:\n${last_lines(wrk_log)}`);
      if (non2xx !== undefined) throw new Error(`node B gave ${non2xx} non-2xx answers to wrk`);
      phase.load = `${Math.round(Number(rate))} verifications/s on node B`;
      const krps = Math.round(Number(rate) / 1000);
      results.push(['load', `node B under verify load (wrk -t1 -c${load_connections}, ~${krps}k req/s)`, phase]);
    }

    if (poll_rounds > 0) {
      // Without the trigger no NOTIFY is sent: B and C learn of the revocation from the
      // subscription's poll alone, as after a lost notification.
      say(`phase poll: ${poll_rounds} rounds with the NOTIFY trigger disabled (poll fallback only)`);
      await run(psql_bin(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database_url, '-c',
        'ALTER TABLE events DISABLE TRIGGER events_notify_after_insert'], process.env);
      trigger_disabled = true;
      results.push(['poll', 'NOTIFY trigger disabled: the 250 ms poll alone', await run_phase('poll', poll_rounds, ctx)]);
      await run(psql_bin(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database_url, '-c',
        'ALTER TABLE events ENABLE TRIGGER events_notify_after_insert'], process.env);
      trigger_disabled = false;
    }

    if (token_rounds > 0) {
      say(`phase oauth: ${token_rounds} rounds (access token revoked on A, introspected on B and C)`);
      results.push(['oauth', 'OAuth access token: POST /oauth/revoke on A, introspection on B and C', await run_token_phase(token_rounds, ctx)]);
    }

    // Report.
    process.stdout.write(`\nmachine:   ${m.cpu}, ${m.cores} cores, ${m.distro}\n`);
    process.stdout.write('nodes:     3 x keyledger serve (defaults), one PostgreSQL; A takes every command, B and C are polled\n');
    process.stdout.write('polling:   POST /v1/keys/verify back to back on one kept-alive connection per node, from the moment the DELETE is sent\n');
    for (const [, title, r] of results) report_phase(r, `phase ${r.phase}: ${title}`);

    // The bar: p99 of "refused by every node", judged on the slower measure (from the DELETE
    // sent). Every phase is held against it; only the notify phase - the system as shipped, on a
    // machine that is not saturated - decides the exit status. The load phase saturates both
    // cores on a 2-core machine (docs/performance.md says what that measures), and the poll
    // phase shows what a lost notification costs.
    const judge = (r) => {
      const reasons = [];
      if (r.failed_deletes.length > 0) reasons.push(`${r.failed_deletes.length} DELETEs failed`);
      if (r.misses > 0) reasons.push(`${r.misses} rounds not refused everywhere within ${deadline_ms} ms`);
      if (!(r.every.from_send.p99 <= bar_p99_ms)) reasons.push(`p99 ${fmt(r.every.from_send.p99)} ms > ${bar_p99_ms} ms`);
      if (r.own_refused !== r.delete_rtt.n) {
        reasons.push(`A accepted a revoked key after its 204 in ${r.delete_rtt.n - r.own_refused} rounds`);
      }
      return { verdict: reasons.length === 0 ? 'PASS' : 'FAIL', reasons };
    };
    const verdicts = results.map(([name, , r]) => ({ name, ...judge(r) }));

    const date = new Date().toISOString().slice(0, 10);
    const cpu = m.cpu.replace(/\s+\d+-Core Processor$/, '');
    process.stdout.write('\nrows for docs/performance.md (every node = slowest of B and C; p50 / p90 / p99 / max, ms):\n');
    results.forEach(([, title, r], k) => {
      process.stdout.write(`| ${date} | ${cpu}, ${m.cores} cores | ${title} | ${r.rounds} | ` +
        `${four(r.every.from_ack)} | ${four(r.every.from_send)} | ${fmt(r.delete_rtt.p50)} / ${fmt(r.delete_rtt.p99)} | ` +
        `${r.misses + r.failed_deletes.length} | ${verdicts[k].verdict} |\n`);
    });
    for (const v of verdicts) {
      if (v.name === 'notify') continue;
      process.stdout.write(`bar in phase ${v.name} (information, not the exit status): ${v.verdict}` +
        `${v.reasons.length > 0 ? ` (${v.reasons.join('; ')})` : ''}\n`);
    }
    const judged = verdicts.find((v) => v.name === 'notify');
    process.stdout.write(`BAR p99<=${bar_p99_ms}ms every node, from the DELETE sent (phase notify): ${judged.verdict}` +
      `${judged.reasons.length > 0 ? ` (${judged.reasons.join('; ')})` : ''}\n`);
    const verdict = judged.verdict;

    for (const c of conns) c.close();
    for (const n of nodes) await stop_child(n.child);
    return verdict === 'PASS' ? 0 : 1;
  } catch (e) {
    for (const n of nodes) {
      if (n.child.exitCode !== null || n.child.signalCode !== null) {
        say(`node ${n.name} exited; last lines of its log:\n${last_lines(n.log)}`);
      }
    }
    throw e;
  } finally {
    for (const c of conns) c.close();
    if (wrk) await stop_child(wrk, 2_000);
    if (trigger_disabled) {
      await run(psql_bin(), ['-X', '-q', '-d', database_url, '-c',
        'ALTER TABLE events ENABLE TRIGGER events_notify_after_insert'], process.env).catch(() => {});
    }
    for (const n of nodes) await stop_child(n.child);
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  (status) => process.exit(status),
  (e) => {
    say(`error: ${e instanceof setup_error ? e.message : e.stack ?? e}`);
    process.exit(2);
  },
);
