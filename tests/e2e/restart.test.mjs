// State comes back from the event log: after a restart (same database, same data dir and so
// the same server secret) a revoked key is still REVOKED and a valid key still valid.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assert_error, start_stack, valid_answer } from './harness.mjs';

let stack;

before(async () => {
  stack = await start_stack();
});

after(async () => {
  if (stack) await stack.close();
});

test('keys survive a restart with their state', async () => {
  const { api, admin_key } = stack;
  const kept = await api.create_key(admin_key, {
    name: 'survivor',
    environment: 'live',
    scopes: ['leads:read'],
  });
  assert.equal(kept.status, 201, kept.text);
  const revoked = await api.create_key(admin_key, { name: 'revoked-before-restart', environment: 'test' });
  assert.equal(revoked.status, 201, revoked.text);
  assert.equal((await api.revoke_key(admin_key, revoked.json.id)).status, 204);
  const meta_before = await api.get_key(admin_key, revoked.json.id);
  assert.equal(meta_before.status, 200, meta_before.text);
  const events_before = (await stack.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n;

  await stack.server.restart();  // asserts exit code 0 on SIGTERM

  // Start-up rebuilt the active-key view from the log before it listened.
  const ready = await api.get('/readyz');
  assert.equal(ready.status, 200, ready.text);

  const v_kept = await api.verify(kept.json.key);
  assert.deepEqual(v_kept.json, valid_answer(kept.json, stack.workspace.workspace_id));
  const v_revoked = await api.verify(revoked.json.key);
  assert.deepEqual(v_revoked.json, { valid: false, code: 'REVOKED' });

  // The admin key (hashed with the same server secret) still authenticates.
  const meta_after = await api.get_key(admin_key, revoked.json.id);
  assert.equal(meta_after.status, 200, meta_after.text);
  // Usage (last_used_*) is telemetry written in the background, not state from the log.
  const state = ({ last_used_at, last_used_ip, ...rest }) => rest;
  assert.deepEqual(state(meta_after.json), state(meta_before.json));

  // Restarting appended nothing.
  const events_after = (await stack.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n;
  assert.equal(events_after, events_before);

  // Changes after the restart work as before.
  assert.equal((await api.revoke_key(admin_key, kept.json.id)).status, 204);
  assert.deepEqual((await api.verify(kept.json.key)).json, { valid: false, code: 'REVOKED' });
});

test('a second restart replays the revocation made after the first', async () => {
  const { api, admin_key } = stack;
  const k = await api.create_key(admin_key, { name: 'late', environment: 'test' });
  assert.equal(k.status, 201, k.text);
  await stack.server.restart();
  assert.equal((await api.verify(k.json.key)).json.valid, true);
  assert.equal((await api.revoke_key(admin_key, k.json.id)).status, 204);
  await stack.server.restart();
  assert.deepEqual((await api.verify(k.json.key)).json, { valid: false, code: 'REVOKED' });
  assert_error(await api.get_key(admin_key, 'key_0000000000000000000000'), 404, 'NOT_FOUND');
});
