// No secret reaches a log line or an event: after creating, verifying, revoking and failing
// authentication with keys, bootstrapping owners, inviting, setting passwords and logging in,
// the server's stderr (at debug level) and the event log contain none of the keys, their
// bodies, their keyed hashes, the owners' passwords, invitation tokens, session ids, CSRF
// tokens, nor the server secret.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { key_body, make_key, run_keyledger, start_stack, unique_email } from './harness.mjs';
import { login_ok, login_owner, strong_password } from './people.mjs';

let stack;

before(async () => {
  stack = await start_stack({ env: { KEYLEDGER_LOG_LEVEL: 'debug' } });
});

after(async () => {
  if (stack) await stack.close();
});

/// Every form of a key that must never be written down.
function forms_of(key) {
  const body = key_body(key);
  return [key, body, body.slice(0, 32)];
}

test('keys, hashes and the server secret never reach the log or the events', async () => {
  const { api, admin_key } = stack;
  const secrets = [...forms_of(admin_key)];

  // A second workspace: its bootstrap's stderr must not show the key it prints on stdout.
  const b = await run_keyledger(['bootstrap', '--workspace', 'secrets-second'], {
    DATABASE_URL: stack.db.url,
    KEYLEDGER_DATA_DIR: stack.data_dir,
  });
  assert.equal(b.code, 0, b.stderr);
  const second = JSON.parse(b.stdout.trim());
  secrets.push(...forms_of(second.key));
  assert.ok(!b.stderr.includes(second.key), 'bootstrap logged its admin key');
  assert.ok(!b.stderr.includes(key_body(second.key)), 'bootstrap logged the key body');
  assert.ok(!b.stderr.includes(second.owner_password), 'bootstrap logged the owner password');

  // People: owners' passwords, a session and its CSRF token, an invitation's token and the
  // password set with it, a failed login with a password-like guess.
  const people_secrets = [stack.workspace.owner_password, second.owner_password];
  const owner = await login_owner(api, stack.server, stack.workspace);
  people_secrets.push(owner.id, owner.csrf);
  const inv = await api.post('/v1/users', { session: owner, json: { email: unique_email('secret'), display_name: 'Secret', role: 'member' } });
  assert.equal(inv.status, 201, inv.text);
  const password = strong_password();
  people_secrets.push(inv.json.invitation_token, password);
  assert.equal((await api.post('/v1/users/set-password', { json: { token: inv.json.invitation_token, password } })).status, 204);
  const member = await login_ok(api, stack.server, { email: inv.json.email, password });
  people_secrets.push(member.id, member.csrf);
  const guess = strong_password();
  people_secrets.push(guess);
  assert.equal((await api.post('/v1/sessions', { json: { email: inv.json.email, password: guess } })).status, 401);
  assert.equal((await api.del('/v1/sessions/current', { session: member })).status, 204);

  // Create, verify, use.
  const live = await api.create_key(admin_key, { name: 'live-one', environment: 'live', scopes: ['keys:read'] });
  const test_key = await api.create_key(admin_key, { name: 'test-one', environment: 'test', scopes: ['leads:read'] });
  assert.equal(live.status, 201, live.text);
  assert.equal(test_key.status, 201, test_key.text);
  secrets.push(...forms_of(live.json.key), ...forms_of(test_key.json.key));
  assert.equal((await api.verify(live.json.key)).json.valid, true);
  assert.equal((await api.get_key(live.json.key, live.json.id)).status, 200);
  assert.equal((await api.request('GET', `/v1/keys/${live.json.id}`, { key: live.json.key, bearer: false })).status, 200);
  // 403: a valid key without the scope.
  assert.equal((await api.create_key(test_key.json.key, { name: 'x', environment: 'test' })).status, 403);

  // The lifecycle: an idempotent create (its answer, with the secret, is stored sealed) and
  // its replay, a rotation (a second secret), a PATCH, gateway checks, usage telemetry.
  const idem = await api.create_key(admin_key, { name: 'idem-one', environment: 'live' }, { idempotency_key: 'secrets-idem-1' });
  assert.equal(idem.status, 201, idem.text);
  assert.equal((await api.create_key(admin_key, { name: 'idem-one', environment: 'live' }, { idempotency_key: 'secrets-idem-1' })).text, idem.text);
  secrets.push(...forms_of(idem.json.key));
  const rotated = await api.rotate_key(admin_key, idem.json.id, { grace_period_seconds: 60 }, { idempotency_key: 'secrets-idem-2' });
  assert.equal(rotated.status, 201, rotated.text);
  secrets.push(...forms_of(rotated.json.key));
  assert.equal((await api.patch_key(admin_key, rotated.json.id, { name: 'renamed' })).status, 200);
  assert.equal((await api.get('/v1/check', { key: rotated.json.key })).status, 200);
  assert.equal((await api.get('/v1/check', { key: idem.json.key, headers: { 'x-keyledger-required-scopes': 'a:b' } })).status, 403);
  assert.equal((await api.get('/v1/keys/self', { key: rotated.json.key })).status, 200);

  // Revoke, then use the revoked key everywhere.
  assert.equal((await api.revoke_key(admin_key, live.json.id)).status, 204);
  assert.equal((await api.verify(live.json.key)).json.code, 'REVOKED');
  assert.equal((await api.get_key(live.json.key, live.json.id)).status, 401);

  // Failed authentication with keys nobody issued, a typo of a real one, and garbage.
  const unknown = make_key('kl', 'live');
  const typo = `${test_key.json.key.slice(0, -1)}${test_key.json.key.endsWith('a') ? 'b' : 'a'}`;
  secrets.push(...forms_of(unknown), typo);
  for (const k of [unknown, typo, `${admin_key}x`]) {
    assert.equal((await api.get_key(k, live.json.id)).status, 401);
    assert.equal((await api.verify(k)).json.valid, false);
  }
  // Keys inside bad requests: unknown field, malformed JSON, oversized body.
  assert.equal(
    (await api.post('/v1/keys', { key: admin_key, json: { name: 'a', environment: 'test', key: test_key.json.key } })).status,
    400,
  );
  assert.equal(
    (await api.post('/v1/keys/verify', { body: `{"key":"${test_key.json.key}"`, headers: { 'content-type': 'application/json' } })).status,
    400,
  );
  assert.equal(
    (await api.post('/v1/keys/verify', { json: { key: test_key.json.key, extra: test_key.json.key } })).status,
    400,
  );
  assert.equal(
    (await api.post('/v1/keys', { key: admin_key, body: test_key.json.key, headers: { 'content-type': 'text/plain' } })).status,
    415,
  );

  // A key where an id belongs (a common mistake) and in a query string: paths are logged, keys
  // must not be.
  assert.equal((await api.get_key(admin_key, test_key.json.key)).status, 404);
  assert.equal((await api.revoke_key(admin_key, test_key.json.key)).status, 404);
  const in_query = await api.get(`/healthz?key=${test_key.json.key}`);
  // The probe may ignore or refuse (400 UNKNOWN_FIELD) a query; either way nothing is logged.
  assert.ok([200, 400].includes(in_query.status), `${in_query.status} ${in_query.text}`);
  assert.ok(!in_query.text.includes(test_key.json.key), 'the key is echoed');
  const as_filter = await api.list_keys(admin_key, { name: test_key.json.key });
  assert.equal(as_filter.status, 200, as_filter.text);
  assert.deepEqual(as_filter.json, { data: [], next_cursor: null });
  const as_check_query = await api.get(`/v1/check?scopes=${test_key.json.key}`, { key: test_key.json.key });
  assert.ok(as_check_query.status < 500, as_check_query.text);
  assert.equal((await api.verify(test_key.json.key)).json.valid, true, 'the key still works');

  // A restart logs start-up (secret loading, projection rebuild) once more.
  await stack.server.restart();
  assert.equal((await api.verify(test_key.json.key)).json.valid, true);

  // Stop, so that the shutdown lines are in the capture too.
  const exit = await stack.server.stop();
  assert.deepEqual(exit, { code: 0, signal: null });

  // The keyed hashes, as stored in the events (the only place they may be).
  const created = await stack.db.query("SELECT payload FROM events WHERE type = 'KeyCreated'");
  const hashes = created.rows.flatMap((r) => r.payload.match(/\b[0-9a-f]{64}\b/g) ?? []);
  assert.ok(hashes.length >= 4, `expected a key hash per created key, found ${hashes.length}`);
  const secret_file = (await readFile(path.join(stack.data_dir, 'server.secret'), 'utf8')).trim();
  assert.ok(secret_file.length >= 32, 'server.secret exists in the data dir');

  const log = stack.server.stderr + stack.server.stdout;
  const lines = stack.server.log_lines();
  assert.ok(lines.length >= 5, `the server logged too little to judge:\n${log}`);
  assert.ok(lines.some((l) => l.event === 'listening'));

  for (const s of secrets) {
    assert.ok(!log.includes(s), `a key (or its body) is in the server log: ${s.slice(0, 12)}...`);
  }
  for (const h of hashes) {
    assert.ok(!log.includes(h), 'a key hash is in the server log');
  }
  assert.ok(!log.includes(secret_file), 'the server secret is in the server log');
  for (const s of people_secrets) {
    assert.ok(!log.includes(s), `a password, token or session id is in the server log: ${s.slice(0, 4)}...`);
  }
  assert.ok(!log.toLowerCase().includes('bearer '), 'an Authorization header is in the server log');

  // The event log holds hashes and visible starts, never a key.
  const all = await stack.db.query('SELECT payload, metadata FROM events');
  const stored = all.rows.map((r) => `${r.payload}\n${r.metadata}`).join('\n');
  for (const s of secrets) {
    assert.ok(!stored.includes(s), `a key (or its body) is in the events table: ${s.slice(0, 12)}...`);
  }
  assert.ok(!stored.includes(secret_file), 'the server secret is in the events table');
  for (const s of people_secrets) {
    assert.ok(!stored.includes(s), `a password, token or session id is in the events table: ${s.slice(0, 4)}...`);
  }

  // Nor do the tables beside the log: usage telemetry and stored (sealed) idempotent answers.
  for (const table of ['key_last_use', 'key_requests', 'auth_failures', 'idempotency_keys', 'user_credentials', 'invitations', 'sessions']) {
    const rows = await stack.db.query(`SELECT * FROM ${table}`);
    const text = rows.rows
      .map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v))).join('\n'))
      .join('\n');
    for (const s of secrets) assert.ok(!text.includes(s), `a key (or its body) is in ${table}: ${s.slice(0, 12)}...`);
    for (const s of people_secrets) assert.ok(!text.includes(s), `a password, token or session id is in ${table}: ${s.slice(0, 4)}...`);
    assert.ok(!text.includes(secret_file), `the server secret is in ${table}`);
  }
  const sealed = await stack.db.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE complete');
  assert.ok(sealed.rows[0].n >= 2, 'the idempotent answers were stored');
});
