// Replay to any instant against the real server and PostgreSQL: GET /v1/keys/{id}?as_of= at each
// instant of a key's life is what GET answered then; GET /v1/keys/{id}/history tells the same
// life in order; and `keyledger audit replay` on what `keyledger audit export` wrote (which holds
// the very rows of the events table) prints exactly what GET /v1/keys?as_of= answers, with no
// database.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { poll, run_keyledger, start_stack } from './harness.mjs';

let stack;
let api;
let admin;
let dir;

// Checkpoints often, so that an export (which ends at the signed tree) soon holds every event.
const audit_env = { KEYLEDGER_AUDIT_CHECKPOINT_EVENTS: '1', KEYLEDGER_AUDIT_CHECKPOINT_SECONDS: '1' };

before(async () => {
  stack = await start_stack({ env: audit_env });
  api = stack.api;
  admin = stack.admin_key;
  dir = await mkdtemp(path.join(tmpdir(), 'keyledger-replay-'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  if (stack) await stack.close();
});

/// Last use is telemetry: the past answers null.
const without_last_use = (k) => ({ ...k, last_used_at: null, last_used_ip: null });

/// The events of an export file, parsed.
async function events_of(file) {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith('{"event":'));
  return lines.map((l) => JSON.parse(l).event);
}

/// The events table as `keyledger audit export` writes it, once the export holds every event.
async function audit_export(expected_events) {
  const file = path.join(dir, 'audit-export.ndjson');
  await poll(
    async () => {
      const r = await run_keyledger(['audit', 'export', '--out', file], {
        DATABASE_URL: stack.db.url,
        KEYLEDGER_DATA_DIR: stack.data_dir,
      });
      return r.code === 0 ? (await events_of(file)).length : -1;
    },
    (n) => n === expected_events,
    { deadline_ms: 10_000, interval_ms: 100, what: `an export of ${expected_events} events` },
  );
  return file;
}

/// The events table built here from its rows (docs/cli.md, "audit replay"): a header line, then
/// one line per row with the exact stored texts.
async function export_file() {
  const rows = await stack.db.psql(
    `SELECT global_seq, stream_id, version, event_id, type, payload, metadata,
            (extract(epoch FROM recorded_at) * 1000000)::bigint, encode(hash, 'hex')
       FROM events ORDER BY global_seq`,
  );
  const lines = [JSON.stringify({ format: 'keyledger-export/1' })];
  for (const [seq, stream_id, version, event_id, type, payload, metadata, us, hash] of rows) {
    lines.push(
      JSON.stringify({
        event: {
          global_seq: Number(seq),
          stream_id,
          version: Number(version),
          event_id,
          type,
          payload,
          metadata,
          recorded_at_us: Number(us),
          hash,
        },
      }),
    );
  }
  const file = path.join(dir, 'export.ndjson');
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

test('as_of, history and audit replay agree with what the live API said', async () => {
  const created = await api.create_key(admin, {
    name: 'replayed',
    environment: 'live',
    scopes: ['leads:read'],
    expires_in_days: 30,
  });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  const snapshots = [];
  const snap = async (at) => {
    const r = await api.get_key(admin, id);
    assert.equal(r.status, 200, r.text);
    snapshots.push({ at, key: r.json });
  };
  await snap(created.json.created_at);

  const patched = await api.patch_key(admin, id, { name: 'replayed-2', scopes: ['leads:read', 'leads:write'] });
  assert.equal(patched.status, 200, patched.text);
  await snap(patched.json.updated_at);
  const disabled = await api.patch_key(admin, id, { enabled: false });
  assert.equal(disabled.status, 200, disabled.text);
  await snap(disabled.json.updated_at);
  assert.equal((await api.revoke_key(admin, id)).status, 204);
  const revoked = await api.get_key(admin, id);
  await snap(revoked.json.revoked_at);
  assert.deepEqual(
    snapshots.map((s) => s.key.status),
    ['active', 'active', 'disabled', 'revoked'],
  );

  for (const { at, key } of snapshots) {
    const past = await api.get(`/v1/keys/${id}?as_of=${encodeURIComponent(at)}`, { key: admin });
    assert.equal(past.status, 200, `${at}: ${past.text}`);
    assert.deepEqual(past.json, without_last_use(key), `as of ${at}`);
  }
  const before_creation = new Date(Date.parse(created.json.created_at) - 1).toISOString();
  assert.equal((await api.get(`/v1/keys/${id}?as_of=${before_creation}`, { key: admin })).status, 404);
  const future = await api.get(`/v1/keys?as_of=${new Date(Date.now() + 3600_000).toISOString()}`, { key: admin });
  assert.equal(future.status, 400);
  assert.equal(future.json.code, 'INVALID_FIELD');

  const history = await api.get(`/v1/keys/${id}/history`, { key: admin });
  assert.equal(history.status, 200, history.text);
  assert.deepEqual(
    history.json.data.map((e) => e.type),
    ['KeyCreated', 'KeyUpdated', 'KeyDisabled', 'KeyRevoked'],
  );
  assert.deepEqual(
    history.json.data.map((e) => e.recorded_at),
    snapshots.map((s) => s.at),
  );
  for (const e of history.json.data) {
    assert.equal(e.actor, stack.workspace.key_id);
    assert.equal(e.acting_for, stack.workspace.owner_user_id);
    assert.equal(e.source_ip, '127.0.0.1');
    assert.match(e.request_id, /^req_/);
  }
  assert.match(history.json.data[1].description, /^Changed by usr_\w+ with key key_\w+: name "replayed" to "replayed-2"; scopes leads:read to leads:read, leads:write\.$/);
  assert.match(history.json.data[3].description, /^Revoked by usr_\w+ with key key_\w+\.$/);
  assert.ok(!history.text.includes(created.json.key), 'never the secret');

  // Offline, from the export: the API's answer, byte for byte, at each instant. The export is
  // the table's own rows, as read here.
  const rows = await export_file();
  const file = await audit_export((await events_of(rows)).length);
  assert.deepEqual(await events_of(file), await events_of(rows));
  for (const { at } of snapshots) {
    const listed = await api.get(`/v1/keys?limit=100&as_of=${encodeURIComponent(at)}`, { key: admin });
    assert.equal(listed.status, 200, listed.text);
    const replayed = await run_keyledger([
      'audit', 'replay', '--as-of', at, '--workspace', stack.workspace.workspace_id, '--json', file,
    ]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(replayed.stdout, `${listed.text}\n`, `as of ${at}`);
  }
  const table = await run_keyledger(['audit', 'replay', '--as-of', snapshots[2].at, file]);
  assert.equal(table.code, 0, table.stderr);
  const row = table.stdout.split('\n').find((l) => l.startsWith(id));
  assert.match(row, /replayed-2\s+live\s+disabled/);
});
