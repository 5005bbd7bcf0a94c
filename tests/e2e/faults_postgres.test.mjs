// Fault: PostgreSQL restarted (`pg_ctl restart -m fast`) under verification load, with two
// server nodes on it. The cluster is this test's own (private_pg.mjs): the shared test cluster
// serves other tests. During the outage every verification keeps answering 200 from memory;
// writes get 503 with Retry-After and the JSON error body; within 5 s of PostgreSQL accepting
// connections again writes succeed on both nodes; both views catch up, and a key revoked on A
// just after recovery is refused by B within 100 ms.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { bootstrap, client, migrate, run_keyledger, server, wait_for } from './harness.mjs';
import { start_private_cluster } from './private_pg.mjs';

let cluster;
let data_dir;
const nodes = [];

before(async () => {
  cluster = await start_private_cluster();
  data_dir = await mkdtemp(path.join(tmpdir(), 'keyledger-faults-'));
});

after(async () => {
  for (const n of nodes) n.kill();
  if (cluster) await cluster.remove();
  if (data_dir) await rm(data_dir, { recursive: true, force: true });
});

/// Writes must work again this soon after PostgreSQL accepts connections (the brief's figure).
const write_recovery_bound_ms = 5_000;
/// A revocation reaches every node within this (docs/api.md).
const revocation_bound_ms = 100;
const verifiers_per_node = 3;
/// Between two writes of one writer, and two /readyz probes: pacing, so that a fast 503 does
/// not turn into a flood (nothing waits on it).
const pace_ms = 20;
const pace = () => new Promise((r) => setTimeout(r, pace_ms));

/// Whether a new connection to the database succeeds now (short connect timeout).
async function accepting(url) {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

test('PostgreSQL restarted under load: verifications never fail, writes 503 then recover, revocations still spread', async () => {
  // ---- two nodes on the private cluster -------------------------------------------------------
  const admin = new pg.Client({ connectionString: cluster.admin_url });
  await admin.connect();
  await admin.query("CREATE DATABASE keyledger ENCODING 'UTF8' TEMPLATE template0");
  await admin.end();
  const url = cluster.url_of('keyledger');
  await migrate(url, data_dir);
  const ws = await bootstrap(url, data_dir);
  for (let i = 0; i < 2; i++) nodes.push(await server.start({ database_url: url, data_dir }));
  const [a, b] = nodes.map((n) => client(n));
  const secrets = [ws.key];
  const create = async (api, name) => {
    const r = await api.create_key(ws.key, { name, environment: 'live', scopes: ['leads:read'] });
    assert.equal(r.status, 201, r.text);
    secrets.push(r.json.key);
    return r.json;
  };
  const keys = [];
  for (let i = 0; i < 4; i++) keys.push(await create(a, `verify-${i}`));
  const to_revoke = await create(a, 'revoked-after-recovery');
  for (const k of [...keys, to_revoke]) {
    await wait_for(async () => (await b.verify(k.key)).json?.code === 'VALID', { what: `B sees ${k.id}` });
  }

  // ---- load: verifications on both nodes, a writer per node, a /readyz probe --------------------
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let stop = false;
  const verifications = [];
  const writes = [];
  const readyz = [];
  const verifier = async (api, node) => {
    for (let i = 0; !stop; i++) {
      const at = now();
      try {
        const r = await api.verify(keys[i % keys.length].key);
        verifications.push({ node, at, status: r.status, code: r.json?.code });
      } catch (e) {
        verifications.push({ node, at, error: String(e.cause?.code ?? e.message) });
      }
    }
  };
  const writer = async (api, node) => {
    for (let i = 0; !stop; i++) {
      const at = now();
      try {
        const r = await api.create_key(ws.key, { name: `during-${node}-${i}`, environment: 'test' });
        writes.push({ node, at, done: now(), status: r.status, retry_after: r.headers.get('retry-after'), res: r });
        if (r.status === 201) secrets.push(r.json.key);
      } catch (e) {
        writes.push({ node, at, done: now(), error: String(e.cause?.code ?? e.message) });
      }
      await pace();
    }
  };
  const probe = async () => {
    while (!stop) {
      const r = await a.get('/readyz').catch((e) => ({ status: 0, text: String(e) }));
      readyz.push({ at: now(), status: r.status, code: r.json?.code });
      await pace();
    }
  };
  const load = [
    ...Array.from({ length: verifiers_per_node }, () => verifier(a, 'A')),
    ...Array.from({ length: verifiers_per_node }, () => verifier(b, 'B')),
    writer(a, 'A'),
    writer(b, 'B'),
    probe(),
  ];
  try {
    await wait_for(() => writes.filter((w) => w.status === 201).length >= 4 && verifications.length >= 50, {
      deadline_ms: 10_000,
      what: 'the load to run',
    });

    // ---- the restart --------------------------------------------------------------------------
    const restart_at = now();
    await cluster.restart('fast');
    const pg_ctl_done = now();
    // pg_ctl -w returns once the server accepts connections; check it independently.
    assert.ok(await accepting(url), 'PostgreSQL accepts connections after pg_ctl restart -w');
    const up_at = pg_ctl_done;

    // Writes succeed again on both nodes within the bound.
    const recovered = {};
    await wait_for(
      () => {
        for (const node of ['A', 'B']) {
          const ok = writes.find((w) => w.node === node && w.at >= up_at && w.status === 201);
          if (ok) recovered[node] ??= ok.done - up_at;
        }
        return recovered.A !== undefined && recovered.B !== undefined;
      },
      { deadline_ms: write_recovery_bound_ms + 5_000, what: 'writes to succeed again on both nodes' },
    );
    const outage = writes.filter((w) => w.status === 503);
    const last_503 = Math.max(...outage.map((w) => w.done), -Infinity);

    // The views caught up: both ready, and every acknowledged write verifies on both nodes.
    for (const api of [a, b]) {
      await wait_for(async () => (await api.get('/readyz')).status === 200, { what: 'ready again' });
    }
    // Verification load kept going over the whole outage and a little after.
    await wait_for(() => verifications.some((v) => v.at > now() - 50 && v.at > up_at + 200), { what: 'verifications after recovery' });

    // A revocation just after recovery reaches B within the bound.
    const r = await a.revoke_key(ws.key, to_revoke.id);
    assert.equal(r.status, 204, r.text);
    const revoked_at = performance.now();
    let took;
    for (;;) {
      const v = await b.verify(to_revoke.key);
      took = performance.now() - revoked_at;
      if (v.json?.code === 'REVOKED') break;
      assert.ok(took < 5_000, `B still answers ${v.text} ${took.toFixed(0)} ms after A's 204`);
    }
    stop = true;
    await Promise.all(load);

    // ---- what was measured -----------------------------------------------------------------------
    const during = verifications.filter((v) => v.at >= restart_at && v.at <= up_at);
    const not_ready = readyz.filter((x) => x.at >= restart_at && x.status !== 200);
    console.log(
      `faults.postgres: pg_ctl restart -m fast took ${(pg_ctl_done - restart_at).toFixed(0)} ms; ` +
        `${verifications.length} verifications (${during.length} during the restart), ` +
        `${verifications.filter((v) => v.status !== 200 || v.code !== 'VALID').length} not VALID; ` +
        `${writes.length} writes, ${outage.length} answered 503, last 503 ${(last_503 - up_at).toFixed(0)} ms after PostgreSQL was up; ` +
        `first write OK after PostgreSQL was up: A ${recovered.A.toFixed(0)} ms, B ${recovered.B.toFixed(0)} ms; ` +
        `/readyz on A not 200 for ${not_ready.length} probes (codes ${[...new Set(not_ready.map((x) => `${x.status} ${x.code}`))].join(', ')}); ` +
        `revocation on A refused by B ${took.toFixed(1)} ms after the 204`,
    );

    // Every verification answered 200 VALID from memory, during the outage too.
    assert.ok(during.length >= 10, `verifications overlapped the restart: ${during.length}`);
    const failed = verifications.filter((v) => v.status !== 200 || v.code !== 'VALID');
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} verifications failed`);

    // Writes: 201, or 503 with Retry-After and the error body; never a dropped connection.
    assert.ok(outage.length >= 1, 'the outage was seen by writes (503)');
    for (const w of writes) {
      assert.equal(w.error, undefined, `a write lost its connection: ${JSON.stringify(w)}`);
      if (w.status === 201) continue;
      const logged = () =>
        nodes.flatMap((n) => n.log_lines()).filter((l) => l.request_id && l.request_id === w.res.json?.request_id);
      assert.equal(w.status, 503, `a write during the outage: ${w.status} ${w.res.text}; logged: ${JSON.stringify(logged())}`);
      assert.match(w.retry_after ?? '', /^[1-9][0-9]*$/, `Retry-After on ${w.res.text}`);
      for (const f of ['error', 'message', 'code', 'request_id']) {
        assert.equal(typeof w.res.json?.[f], 'string', `503 body ${w.res.text}`);
      }
      assert.match(w.res.headers.get('content-type') ?? '', /^application\/json/);
    }
    assert.ok(recovered.A <= write_recovery_bound_ms && recovered.B <= write_recovery_bound_ms, JSON.stringify(recovered));
    assert.ok(took <= revocation_bound_ms, `B refused the revocation ${took.toFixed(1)} ms after A's 204`);

    // Every acknowledged write is in the log and verifies on both nodes.
    const acked = writes.filter((w) => w.status === 201).map((w) => w.res.json);
    const check = new pg.Client({ connectionString: url });
    await check.connect();
    const ids = (await check.query("SELECT substr(stream_id, 9) AS id FROM events WHERE type = 'KeyCreated'")).rows.map((row) => row.id);
    await check.end();
    for (const k of acked) {
      assert.ok(ids.includes(k.id), `acknowledged ${k.id} is in the log`);
      for (const api of [a, b]) assert.equal((await api.verify(k.key)).json?.code, 'VALID', k.id);
    }
    const v = await run_keyledger(['verify-log'], { DATABASE_URL: url, KEYLEDGER_DATA_DIR: data_dir });
    assert.equal(v.code, 0, `verify-log: ${v.stdout} ${v.stderr}`);
  } finally {
    stop = true;
    await Promise.allSettled(load);
  }

  // What an operator sees: warnings, no secret.
  for (const n of nodes) {
    const events = new Set(n.log_lines().filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.event));
    console.log(`faults.postgres: node warn/error events: ${[...events].join(', ')}`);
    for (const s of secrets) assert.ok(!n.stderr.includes(s), 'a key in a log line');
  }
  for (const n of nodes) {
    const exit = await n.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, 'each node stops cleanly after the outage');
  }
});
