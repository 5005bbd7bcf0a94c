// Fault: node B's LISTEN connection lost alone (its backend terminated with
// pg_terminate_backend, the database and every other connection untouched) just before node A
// revokes a key. The notification of that revocation has nobody to reach on B; B must still
// refuse the key within 100 ms of A's 204 (the subscription's standby connection, already
// listening, takes over and reads what was missed; p95 of 20 rounds, and every round inside the 250 ms poll interval that would
// otherwise carry it).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { start_stack, wait_for } from './harness.mjs';

let stack;
let node_b;

before(async () => {
  stack = await start_stack();
});

after(async () => {
  if (stack) await stack.close();
});

const rounds = 20;
/// The brief's bound for a revocation to reach every node, a lost notification included.
const bound_ms = 100;
/// The subscription's poll interval (infra/pg/pg_subscription.hpp).
const poll_interval_ms = 250;

/// The subscriptions' LISTEN backends on this database, { pid, primary }: each node's
/// subscription names its two connections keyledger_subscription (docs/operations.md,
/// "Faults"); the primary has run reads, the standby only its LISTEN.
async function listen_backends(db) {
  const r = await db.query(
    `SELECT pid, query NOT LIKE 'LISTEN%' AS primary FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'keyledger_subscription'
      ORDER BY pid`,
  );
  return r.rows;
}

/// Node B's backends (all but A's `a_pids`) once it has `want` of them (the standby is opened
/// just after a reconnection).
async function b_backends(db, a_pids, want = 2) {
  let last;
  await wait_for(async () => {
    last = (await listen_backends(db)).filter((b) => !a_pids.includes(b.pid));
    return last.length === want && last.filter((b) => b.primary).length === 1;
  }, { deadline_ms: 5_000, interval_ms: 5, what: "B's primary and standby LISTEN backends" });
  return last;
}

/// Polls `api.verify(key)` as fast as it answers until the code is `code`; resolves the
/// instant (performance.now()) of the first such answer, or throws at the deadline.
async function until_code(api, key, code, deadline_ms) {
  const end = performance.now() + deadline_ms;
  let last;
  for (;;) {
    last = await api.verify(key);
    if (last.json?.code === code) return performance.now();
    if (performance.now() > end) throw new Error(`no ${code} within ${deadline_ms} ms; last: ${last.status} ${last.text}`);
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

test('a lost LISTEN connection: a revocation still reaches the other node within 100 ms', async () => {
  const { api, admin_key, db } = stack;
  const a_pids = (await wait_for(async () => {
    const now = await listen_backends(db);
    return now.length === 2 ? now : null;
  }, { what: "A's two LISTEN backends" })).map((b) => b.pid);
  node_b = await stack.start_extra_server();
  const b = node_b.api;
  const after_ack = [];
  const after_loss = [];
  const secrets = [admin_key];
  for (let round = 0; round < rounds; round++) {
    const k = await api.create_key(admin_key, { name: `listen-${round}`, environment: 'live' });
    assert.equal(k.status, 201, k.text);
    secrets.push(k.json.key);
    await until_code(b, k.json.key, 'VALID', 5_000);

    // B's primary LISTEN backend, whichever pid it has now (the standby takes over at each cut).
    const pid_b = (await b_backends(db, a_pids)).find((x) => x.primary).pid;
    const lost_at = performance.now();
    const t = await db.query('SELECT pg_terminate_backend($1) AS ok', [pid_b]);
    assert.equal(t.rows[0].ok, true);

    // The revocation right after: its NOTIFY finds no listener on B.
    const r = await api.revoke_key(admin_key, k.json.id);
    assert.equal(r.status, 204, r.text);
    const acked_at = performance.now();
    const refused_at = await until_code(b, k.json.key, 'REVOKED', 5_000);
    after_ack.push(refused_at - acked_at);
    after_loss.push(refused_at - lost_at);
    // A was not touched: it refuses too (it answered 204 only once its own view had it).
    assert.equal((await api.verify(k.json.key)).json.code, 'REVOKED');
  }

  const sorted = [...after_ack].sort((x, y) => x - y);
  const worst_loss = Math.max(...after_loss);
  console.log(
    `faults.listen: B refused a revocation after its LISTEN connection was cut, from A's 204: ` +
      `p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms; ` +
      `from the cut: max ${worst_loss.toFixed(1)} ms (${rounds} rounds)`,
  );
  // The reconnection is a new backend (25-40 ms to connect on a loaded 2-core machine): one
  // round in 20 may meet a scheduling stall, none may miss the poll interval.
  const shown = after_ack.map((x) => x.toFixed(1)).join(', ');
  assert.ok(percentile(sorted, 95) <= bound_ms, `a lost notification cost p95 ${percentile(sorted, 95).toFixed(1)} ms > ${bound_ms} ms: ${shown}`);
  assert.ok(sorted.at(-1) <= poll_interval_ms, `a lost notification cost ${sorted.at(-1).toFixed(1)} ms: ${shown}`);
  // From the cut, the time also holds A's own revocation (append, commit, A's view) and the
  // cut's detection by B, which the server does not control: reported, bounded by the poll.
  assert.ok(worst_loss <= 2 * poll_interval_ms, `from the cut to B refusing: ${after_loss.map((x) => x.toFixed(1))}`);

  // Each cut was noticed and the standby took over; A's connections were never touched.
  await until_code(b, secrets[0], 'VALID', 1_000);
  const failovers = node_b.server.log_lines().filter((l) => l.event === 'pg_subscription_failover');
  const b_events = node_b.server.log_lines().filter((l) => /^pg_subscription_/.test(l.event ?? ''));
  assert.equal(failovers.length, rounds, `B logged pg_subscription_failover for each cut: ${JSON.stringify(b_events)}`);
  assert.ok(failovers.every((l) => l.level === 'warn'), JSON.stringify(failovers[0]));
  const a_events = stack.server.log_lines().filter((l) => /^pg_subscription_/.test(l.event ?? ''));
  assert.deepEqual(a_events, [], 'A lost nothing');
  assert.deepEqual((await listen_backends(db)).filter((x) => a_pids.includes(x.pid)).length, 2, "A's LISTEN backends are the same as before");
  assert.equal((await b.get('/readyz')).status, 200);

  // No key reaches either node's log.
  for (const s of secrets) {
    assert.ok(!stack.server.stderr.includes(s) && !node_b.server.stderr.includes(s), 'a key in a log line');
  }
});
