// The verifiable log on real servers: two nodes sign checkpoints (one per size, none missing a
// signature), the CLI's public key is the served one, a workspace's auditor reads and proves its
// own events and none of another's, an export verifies offline and against an older checkpoint,
// and a payload altered in the real table (as a superuser, triggers off) is named by the offline
// verifier and makes a restarted node's /readyz answer 503 LOG_MISMATCH.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { poll, run_keyledger, run_psql, start_stack, wait_for } from './harness.mjs';

const audit_env = { KEYLEDGER_AUDIT_CHECKPOINT_EVENTS: '5', KEYLEDGER_AUDIT_CHECKPOINT_SECONDS: '1' };
let stack;
let other_node;
let second;
let dir;

before(async () => {
  stack = await start_stack({ env: audit_env });
  other_node = await stack.start_extra_server(audit_env);
  second = await stack.bootstrap_workspace('e2e-audit-b');
  dir = await mkdtemp(path.join(tmpdir(), 'keyledger-audit-'));
});

after(async () => {
  if (stack) await stack.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (args) =>
  run_keyledger(['audit', ...args], { DATABASE_URL: stack.db.url, KEYLEDGER_DATA_DIR: stack.data_dir });

async function head() {
  const rows = await run_psql(stack.db.url, 'SELECT coalesce(max(global_seq), 0) FROM events');
  return Number(rows[0][0]);
}

async function checkpoints(api, key) {
  const out = [];
  for (let from = 0; ; ) {
    const r = await api.get(`/v1/audit/checkpoints?from=${from}&limit=1000`, { key });
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.checkpoints);
    if (r.json.next_from === null) return out;
    from = r.json.next_from;
  }
}

/// Waits until a checkpoint covers the whole log as it is now.
async function signed_head(api, key) {
  const size = await head();
  return poll(() => checkpoints(api, key), (cps) => cps.length > 0 && cps.at(-1).tree_size >= size, {
    deadline_ms: 10_000,
    what: `a checkpoint of size ${size}`,
  });
}

test('both nodes serve the same key, and the CLI prints it', async () => {
  const a = await stack.api.get('/v1/audit/public-key');
  const b = await other_node.api.get('/v1/audit/public-key');
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json, b.json);
  assert.equal(a.json.algorithm, 'Ed25519');
  assert.match(a.json.verifier_key, /^keyledger\/log_[0-9A-Za-z]{22}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  const printed = await cli(['public-key']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout.trim(), a.json.verifier_key);
});

test('two nodes sign one checkpoint per size, each of the log as it was', async () => {
  for (let i = 0; i < 12; ++i) {
    const api = i % 2 === 0 ? stack.api : other_node.api;
    const key = i % 3 === 0 ? second.key : stack.admin_key;
    const r = await api.create_key(key, { name: `audit ${i}`, environment: 'live' });
    assert.equal(r.status, 201, r.text);
  }
  const cps = await signed_head(stack.api, stack.admin_key);
  const sizes = cps.map((c) => c.tree_size);
  assert.deepEqual(sizes, [...new Set(sizes)].sort((x, y) => x - y), 'strictly increasing sizes');
  assert.deepEqual(await checkpoints(other_node.api, stack.admin_key), cps, 'both nodes list the same');
  const key = (await stack.api.get('/v1/audit/public-key')).json.verifier_key;
  // Each root is the tree of exactly that many events: a consistency proof from each to the next
  // verifies offline (the CLI's verifier checks the whole export below); here, proofs exist.
  for (let i = 1; i < cps.length; ++i) {
    const r = await stack.api.get(
      `/v1/audit/proofs/consistency?from_size=${cps[i - 1].tree_size}&to_size=${cps[i].tree_size}`,
      { key: stack.admin_key },
    );
    assert.equal(r.status, 200, r.text);
  }
  assert.ok(cps.every((c) => c.note.startsWith(key.split('+')[0] + '\n')), 'every note names the log');
});

test("a workspace's auditor proves its own events, and sees none of another's", async () => {
  await signed_head(stack.api, stack.admin_key);
  const pages = [];
  for (let after = 0; ; ) {
    const r = await stack.api.get(`/v1/audit/events?after=${after}&limit=4`, { key: stack.admin_key });
    assert.equal(r.status, 200, r.text);
    pages.push(r.text);
    for (const e of r.json.events) {
      assert.ok(!e.payload.includes(second.workspace_id), `an event of the other workspace: ${e.payload}`);
    }
    if (!r.json.more) break;
    after = r.json.next_after;
  }
  assert.ok(pages.length >= 2, 'more than one page');
  const file = path.join(dir, 'events-a.ndjson');
  await writeFile(file, pages.join('\n') + '\n');
  const key = (await stack.api.get('/v1/audit/public-key')).json.verifier_key;
  const v = await cli(['verify', file, '--public-key', key]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`^OK: \\d+ event\\(s\\) of workspace ${stack.workspace.workspace_id} proven`));

  const theirs = await other_node.api.get('/v1/audit/events?limit=1000', { key: second.key });
  assert.equal(theirs.status, 200, theirs.text);
  assert.ok(theirs.json.events.length >= 4);
  for (const e of theirs.json.events) assert.ok(!e.payload.includes(stack.workspace.workspace_id));
});

test('an export verifies offline, and against an older checkpoint', async () => {
  const [older] = await checkpoints(stack.api, stack.admin_key);
  const older_file = path.join(dir, 'older.note');
  await writeFile(older_file, older.note);
  await stack.api.create_key(stack.admin_key, { name: 'after the older one', environment: 'test' });
  await signed_head(stack.api, stack.admin_key);
  const file = path.join(dir, 'export.ndjson');
  const exported = await cli(['export', '--out', file]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, /exported \d+ events and \d+ checkpoints/);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.equal(JSON.parse(lines[0]).format, 'keyledger-audit-export/1');
  const key = (await stack.api.get('/v1/audit/public-key')).json.verifier_key;
  const key_file = path.join(dir, 'log.vkey');
  await writeFile(key_file, key + '\n');
  const v = await cli(['verify', file, '--public-key', key_file, '--checkpoint', older_file]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^OK: \d+ events \(seq 1-\d+\): chain and Merkle tree recomputed/);
  assert.match(v.stdout, /is a prefix/);
  // A wrong key: refused, exit 1.
  const wrong = key.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
  const w = await cli(['verify', file, '--public-key', wrong]);
  assert.equal(w.code, 2, w.stdout + w.stderr);  // not a verifier key: its id does not match
});

test('a payload altered in the table is named offline and by a restarted node', async () => {
  await signed_head(stack.api, stack.admin_key);
  const seq = 3;
  await run_psql(
    stack.db.url,
    `ALTER TABLE events DISABLE TRIGGER USER; ` +
      `UPDATE events SET payload = replace(payload, '"', ' "') WHERE global_seq = ${seq}; ` +
      `ALTER TABLE events ENABLE TRIGGER USER`,
  );
  const file = path.join(dir, 'tampered.ndjson');
  assert.equal((await cli(['export', '--out', file])).code, 0);
  const key = (await stack.api.get('/v1/audit/public-key')).json.verifier_key;
  const v = await cli(['verify', file, '--public-key', key]);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`^FAILED: event ${seq}: its hash does not match`));

  await other_node.server.restart();
  const r = await poll(() => other_node.api.get('/readyz'), (x) => x.status === 503, {
    deadline_ms: 10_000,
    what: '/readyz to report the mismatch',
  });
  assert.equal(r.json.code, 'LOG_MISMATCH', r.text);
  assert.match(r.json.message, new RegExp(`seq ${seq}: hash mismatch`));
  await wait_for(
    () => other_node.server.log_lines().some((l) => l.event === 'audit_log_mismatch'),
    { what: 'the mismatch in the log' },
  );
});
