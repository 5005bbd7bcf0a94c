// Fault: kill -9 of the server while 16 clients create, rotate and revoke keys over the HTTP
// API. After the restart every acknowledged command (2xx received) is in the log and in the
// view, nothing unacknowledged is half-applied (a rotation is its KeyRotated and the new key's
// KeyCreated, both or neither), nothing appears that no client asked for, and
// `keyledger verify-log` finds the log gapless with its hash chain intact.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { job_event_types, run_keyledger, start_stack, wait_for } from './harness.mjs';

let stack;

before(async () => {
  stack = await start_stack();
});

after(async () => {
  if (stack) await stack.close();
});

const clients = 16;
/// Kills, each after this many more acknowledged commands.
const rounds = 3;
const acks_per_round = 120;
/// The old key of a rotation keeps working for this long: it stays VALID during the test.
const grace_period_seconds = 3600;

/// One client: creates keys and rotates or revokes its own keys (so that no two clients race
/// on one key and every refusal is a fault, not a conflict). Every command is recorded with its
/// outcome: `acked` (2xx received), else `unknown` (no answer: it may or may not have happened).
function start_client(n, api, admin, journal, should_stop) {
  const active = [];  // { id, secret } of this client's keys it may still change
  const record = (entry) => journal.push({ client: n, ...entry });
  const run = async () => {
    while (!should_stop()) {
      const roll = randomInt(100);
      const op = active.length === 0 || roll < 40 ? 'create' : roll < 70 ? 'rotate' : 'revoke';
      const target = op === 'create' ? undefined : active.splice(randomInt(active.length), 1)[0];
      let r;
      try {
        if (op === 'create') {
          r = await api.create_key(admin, { name: `crash-${n}`, environment: 'live', scopes: ['leads:read'] });
        } else if (op === 'rotate') {
          r = await api.rotate_key(admin, target.id, { grace_period_seconds });
        } else {
          r = await api.revoke_key(admin, target.id);
        }
      } catch (e) {
        // The connection died with the server: the command's fate is unknown.
        record({ op, target: target?.id, outcome: 'unknown', error: String(e.cause?.code ?? e.message) });
        continue;
      }
      const expected = op === 'revoke' ? 204 : 201;
      if (r.status !== expected) {
        record({ op, target: target?.id, outcome: 'unknown', status: r.status, text: r.text });
        continue;
      }
      record({ op, target: target?.id, outcome: 'acked', id: r.json?.id, secret: r.json?.key });
      if (op === 'create') active.push({ id: r.json.id, secret: r.json.key });
      if (op === 'rotate') {
        active.push({ id: r.json.id, secret: r.json.key });
        // The old key is rotated: it cannot be rotated again; it stays VALID until grace ends.
      }
    }
  };
  return run();
}

/// The commands' events of this workspace's keys (the bootstrap admin key left out), in order.
async function key_events(db, admin_key_id) {
  const rows = await db.psql(
    `SELECT global_seq, substr(stream_id, 9), type, payload FROM events
      WHERE stream_id LIKE 'api_key-%' AND stream_id <> 'api_key-${admin_key_id}'
        AND type NOT IN (${job_event_types.map((t) => `'${t}'`).join(', ')})
      ORDER BY global_seq`,
  );
  return rows.map(([seq, key_id, type, payload]) => ({ seq: Number(seq), key_id, type, payload: JSON.parse(payload) }));
}

test('kill -9 under 16 writing clients: every acknowledged command survives, nothing is half-applied', async () => {
  const { api, admin_key, db } = stack;
  const admin_key_id = stack.workspace.key_id;
  const journal = [];
  let restart_ms = 0;
  for (let round = 0; round < rounds; round++) {
    let stop = false;
    const before = journal.filter((e) => e.outcome === 'acked').length;
    const running = Array.from({ length: clients }, (_, n) => start_client(n, api, admin_key, journal, () => stop));
    await wait_for(() => journal.filter((e) => e.outcome === 'acked').length >= before + acks_per_round, {
      deadline_ms: 30_000,
      interval_ms: 5,
      what: `${acks_per_round} acknowledged commands`,
    });
    // No answer other than a 2xx before the kill: a refusal here would be a bug of its own.
    assert.deepEqual(journal.filter((e) => e.outcome !== 'acked' && e.round === undefined), [], 'every command before the kill succeeded');

    // kill -9 while the clients keep sending (each has just sent its next command), then
    // start again on the same database.
    const child = stack.server.child;
    const killed_at = performance.now();
    child.kill('SIGKILL');
    stop = true;
    assert.equal((await child.exit_promise).signal, 'SIGKILL');
    await Promise.all(running);
    for (const e of journal) if (e.outcome === 'unknown') e.round ??= round;
    await stack.server.crash_and_start();
    restart_ms = Math.max(restart_ms, performance.now() - killed_at);
    // Their commands' fate is unknown: those keys are not touched again (start_client keeps
    // only acknowledged keys, per round).
  }

  const acked = journal.filter((e) => e.outcome === 'acked');
  const unknown = journal.filter((e) => e.outcome === 'unknown');
  const count = (list, op) => list.filter((e) => e.op === op).length;
  console.log(
    `faults.crash: ${acked.length} acknowledged (create ${count(acked, 'create')}, rotate ${count(acked, 'rotate')}, ` +
      `revoke ${count(acked, 'revoke')}), ${unknown.length} in flight at the kill ` +
      `(create ${count(unknown, 'create')}, rotate ${count(unknown, 'rotate')}, revoke ${count(unknown, 'revoke')}); ` +
      `${rounds} kills; kill to listening again at most ${restart_ms.toFixed(0)} ms`,
  );
  // Every client has a command in flight at a kill, but the server has often answered it
  // already (the answer waits in the client's socket, to be read after the kill): over the
  // kills, some commands must have been cut short, or the test proved nothing about them.
  assert.ok(unknown.length > 0, 'the kills cut no command short');
  for (const e of unknown) {
    // Only a dead connection, never an answer: the server was killed mid-request.
    assert.equal(e.status, undefined, `an answer other than 2xx: ${JSON.stringify(e)}`);
  }

  // ---- the log --------------------------------------------------------------------------------
  const events = await key_events(db, admin_key_id);
  const of_key = new Map();
  for (const e of events) {
    if (!of_key.has(e.key_id)) of_key.set(e.key_id, []);
    of_key.get(e.key_id).push(e);
  }
  const types_of = (id) => (of_key.get(id) ?? []).map((e) => e.type);

  // A rotation is whole: every KeyRotated has the new key's KeyCreated naming the old key, and
  // the other way round.
  const rotated = events.filter((e) => e.type === 'KeyRotated');
  const created_by_rotation = events.filter((e) => e.type === 'KeyCreated' && e.payload.rotated_from);
  for (const r of rotated) {
    const created = (of_key.get(r.payload.rotated_to) ?? []).find((e) => e.type === 'KeyCreated');
    assert.ok(created, `KeyRotated of ${r.key_id} without the KeyCreated of ${r.payload.rotated_to}`);
    assert.equal(created.payload.rotated_from, r.key_id, 'the new key names the old one');
  }
  for (const c of created_by_rotation) {
    const old = (of_key.get(c.payload.rotated_from) ?? []).filter((e) => e.type === 'KeyRotated');
    assert.equal(old.length, 1, `KeyCreated of ${c.key_id} from ${c.payload.rotated_from}: the old key's KeyRotated`);
    assert.equal(old[0].payload.rotated_to, c.key_id);
  }

  // Every acknowledged command is in the log.
  for (const a of acked) {
    if (a.op === 'create') {
      assert.deepEqual(types_of(a.id).slice(0, 1), ['KeyCreated'], `acknowledged create of ${a.id}`);
      assert.equal(of_key.get(a.id)[0].payload.rotated_from ?? null, null);
    } else if (a.op === 'rotate') {
      assert.ok(types_of(a.target).includes('KeyRotated'), `acknowledged rotation of ${a.target}`);
      assert.equal(rotated.find((r) => r.key_id === a.target).payload.rotated_to, a.id);
    } else {
      assert.ok(types_of(a.target).includes('KeyRevoked'), `acknowledged revocation of ${a.target}`);
    }
  }

  // Nothing that no client asked for: each event is an acknowledged command or the one
  // command its client had in flight.
  const acked_creates = new Set(acked.filter((a) => a.op === 'create').map((a) => a.id));
  const asked = (op, id) => journal.some((e) => e.op === op && e.target === id);
  const unacked_creates = events.filter((e) => e.type === 'KeyCreated' && !e.payload.rotated_from && !acked_creates.has(e.key_id));
  assert.ok(unacked_creates.length <= count(unknown, 'create'), `${unacked_creates.length} creates nobody was told about, ${count(unknown, 'create')} in flight`);
  for (const r of rotated) assert.ok(asked('rotate', r.key_id), `a rotation of ${r.key_id} nobody asked for`);
  for (const e of events.filter((x) => x.type === 'KeyRevoked')) {
    assert.ok(asked('revoke', e.key_id), `a revocation of ${e.key_id} nobody asked for`);
  }
  const unexpected = events.filter((e) => !['KeyCreated', 'KeyRotated', 'KeyRevoked'].includes(e.type));
  assert.deepEqual(unexpected, [], 'no other event');
  for (const [id, list] of of_key) {
    const types = list.map((e) => e.type);
    assert.equal(types[0], 'KeyCreated', `${id} starts with its creation: ${types}`);
    assert.ok(types.filter((t) => t === 'KeyRotated').length <= 1 && types.filter((t) => t === 'KeyRevoked').length <= 1, `${id}: ${types}`);
  }
  const applied_in_flight =
    unacked_creates.length +
    unknown.filter((u) => u.op === 'rotate' && types_of(u.target).includes('KeyRotated')).length +
    unknown.filter((u) => u.op === 'revoke' && types_of(u.target).includes('KeyRevoked')).length;
  console.log(`faults.crash: ${events.length} key events in the log; ${applied_in_flight} of the ${unknown.length} unacknowledged commands were applied (whole)`);

  // ---- the view, after the restart ----------------------------------------------------------------
  const secrets = new Map(acked.filter((a) => a.op !== 'revoke').map((a) => [a.id, a.secret]));
  const ids = [...of_key.keys()];
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        const types = types_of(id);
        const revoked = types.includes('KeyRevoked');
        const rotation = rotated.find((r) => r.key_id === id);
        const g = await api.get_key(admin_key, id);
        assert.equal(g.status, 200, `GET ${id}: ${g.text}`);
        assert.equal(g.json.status, revoked ? 'revoked' : 'active', `${id} (${types}): ${g.text}`);
        assert.equal(g.json.rotated_to, rotation ? rotation.payload.rotated_to : null, `${id} rotated_to`);
        if (secrets.has(id)) {
          const v = await api.verify(secrets.get(id));
          assert.equal(v.status, 200, v.text);
          assert.equal(v.json.code, revoked ? 'REVOKED' : 'VALID', `${id} (${types}) verifies as its log says`);
        }
      }),
    );
  }
  // Every acknowledged create and rotation gave a secret that was checked above.
  for (const a of acked.filter((x) => x.op !== 'revoke')) assert.ok(of_key.has(a.id), a.id);

  // ---- the hash chain ---------------------------------------------------------------------------
  const total = Number((await db.psql('SELECT count(*) FROM events'))[0][0]);
  const v = await run_keyledger(['verify-log'], { DATABASE_URL: db.url, KEYLEDGER_DATA_DIR: stack.data_dir });
  assert.equal(v.code, 0, `verify-log: ${v.stdout} ${v.stderr}`);
  const report = JSON.parse(v.stdout.trim());
  assert.equal(report.ok, true, v.stdout);
  assert.equal(report.events_checked, total, v.stdout);

  // The restarted server takes commands again.
  const again = await api.create_key(admin_key, { name: 'after-crash', environment: 'test' });
  assert.equal(again.status, 201, again.text);
  assert.equal((await api.verify(again.json.key)).json.code, 'VALID');
});
