// People (API4_SPEC "Users", "Bootstrap"): bootstrap's owner and one-time password, logging in
// with it; invitations (POST /v1/users -> one-time token -> set-password -> login), the token
// working once, weak passwords, invalid invitations, a person in two workspaces; and no
// password, token or session id ever in the log or the events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, command_event_count, iso_timestamp, start_stack, unique_email } from './harness.mjs';
import {
  add_user,
  assert_login_answer,
  assert_user_object,
  login,
  login_ok,
  login_owner,
  strong_password,
} from './people.mjs';

let stack;
let api;
let owner;  // the bootstrap owner's session
/// Every secret seen (passwords, tokens, session ids, CSRF tokens): none may reach the log.
const secrets = [];

before(async () => {
  stack = await start_stack();
  api = stack.api;
  secrets.push(stack.workspace.owner_password);
  owner = await login_owner(api, stack.server, stack.workspace);
  secrets.push(owner.id, owner.csrf);
});

after(async () => {
  if (stack) await stack.close();
});

/// POST /v1/users as the owner.
function invite(fields, actor = { session: owner }) {
  return api.post('/v1/users', { ...actor, json: fields });
}

function set_password(token, password) {
  return api.post('/v1/users/set-password', { json: { token, password } });
}

async function users_of(actor = { session: owner }) {
  const r = await api.get('/v1/users', actor);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.json), ['data'], r.text);
  for (const u of r.json.data) assert_user_object(u, 'GET /v1/users item');
  return r.json.data;
}

describe('bootstrap', () => {
  test('prints one JSON line with the owner, a one-time password and the admin key', () => {
    const ws = stack.workspace;
    const members = ['workspace_id', 'name', 'prefix', 'owner_user_id', 'owner_email', 'owner_password', 'key_id', 'key'];
    const printed = Object.keys(ws).filter((k) => k !== 'stderr');
    assert.deepEqual([...printed].sort(), [...members].sort(), JSON.stringify({ ...ws, key: '…', owner_password: '…' }));
    assert.match(ws.owner_user_id, /^usr_[0-9A-Za-z]{22}$/);
    assert.match(ws.owner_password, /^[0-9A-Za-z]{24}$/, 'owner_password: 24 base62 characters');
    assert.match(ws.owner_email, /@e2e\.example$/);
    assert.ok(!ws.stderr.includes(ws.owner_password), 'bootstrap logged the owner password');
    assert.ok(!ws.stderr.includes(ws.key), 'bootstrap logged the admin key');
  });

  test('the owner logs in with the one-time password', async () => {
    const r = await login(api, stack.server, { email: stack.workspace.owner_email, password: stack.workspace.owner_password });
    assert.equal(r.status, 201, r.text);
    assert_login_answer(r.json, 'owner login');
    assert.equal(r.json.user_id, stack.workspace.owner_user_id);
    assert.equal(r.json.workspace_id, stack.workspace.workspace_id);
    assert.equal(r.json.role, 'owner');
    secrets.push(r.session.id, r.session.csrf);
    // The email is matched case-insensitively.
    const upper = await login(api, stack.server, { email: stack.workspace.owner_email.toUpperCase(), password: stack.workspace.owner_password });
    assert.equal(upper.status, 201, upper.text);
    secrets.push(upper.session.id);
    const current = await api.get('/v1/sessions/current', { session: r.session });
    assert.equal(current.status, 200, current.text);
    assert.deepEqual(Object.keys(current.json).sort(), ['csrf_token', 'email', 'expires_at', 'role', 'user_id', 'workspace_id']);
    assert.equal(current.json.email, stack.workspace.owner_email);
    assert.equal(current.json.role, 'owner');
  });

  test('the owner is the workspace\'s one user and owns the admin key, which has every management scope', async () => {
    const users = await users_of();
    assert.deepEqual(users, [
      {
        id: stack.workspace.owner_user_id,
        email: stack.workspace.owner_email,
        display_name: users[0]?.display_name,
        role: 'owner',
        password_set: true,
      },
    ]);
    const k = await api.get_key(stack.admin_key, stack.workspace.key_id);
    assert.equal(k.status, 200, k.text);
    assert.equal(k.json.owner_user_id, stack.workspace.owner_user_id);
    assert.equal(k.json.disabled_reason, null);
    for (const s of ['keys:read', 'keys:write', 'users:read', 'users:write', 'workspace:admin', 'audit:read', 'oauth:introspect']) {
      assert.ok(k.json.effective_scopes.includes(s), `the admin key has ${s}: ${k.text}`);
    }
    // The admin key manages users too.
    assert.equal((await api.get('/v1/users', { key: stack.admin_key })).status, 200);
  });

  test('the default owner email is admin@localhost', async () => {
    const ws = await stack.bootstrap_workspace(undefined, { owner_email: null });
    assert.equal(ws.owner_email, 'admin@localhost');
    secrets.push(ws.owner_password);
    const s = await login_ok(api, stack.server, { email: 'admin@localhost', password: ws.owner_password });
    assert.equal(s.workspace_id, ws.workspace_id);
    assert.equal(s.role, 'owner');
    secrets.push(s.id, s.csrf);
  });

  test('a bootstrap password never works for another workspace\'s owner', async () => {
    const ws = await stack.bootstrap_workspace();
    secrets.push(ws.owner_password);
    assert.notEqual(ws.owner_password, stack.workspace.owner_password);
    const r = await login(api, stack.server, { email: stack.workspace.owner_email, password: ws.owner_password });
    assert_error(r, 401, 'INVALID_CREDENTIALS', 'another bootstrap\'s password');
  });
});

describe('invitations', () => {
  test('invite -> one-time token -> set-password -> login', async () => {
    const email = unique_email('invitee');
    const before_invite = Date.now();
    const inv = await invite({ email, display_name: 'Ivy Invitee', role: 'member' });
    assert.equal(inv.status, 201, inv.text);
    assert.deepEqual(
      Object.keys(inv.json).sort(),
      ['display_name', 'email', 'id', 'invitation_expires_at', 'invitation_token', 'role'],
      inv.text,
    );
    assert.match(inv.json.id, /^usr_[0-9A-Za-z]{22}$/);
    assert.equal(inv.json.email, email);
    assert.equal(inv.json.display_name, 'Ivy Invitee');
    assert.equal(inv.json.role, 'member');
    assert.equal(typeof inv.json.invitation_token, 'string');
    assert.ok(inv.json.invitation_token.length >= 32, 'the token carries enough randomness');
    assert.match(inv.json.invitation_expires_at, iso_timestamp);
    assert.ok(Date.parse(inv.json.invitation_expires_at) > before_invite + 3_600_000, 'the token lives for more than an hour');
    assert.match(inv.headers.get('cache-control') ?? '', /no-store/, 'the token is never cached');
    secrets.push(inv.json.invitation_token);

    // Listed and readable, without a password yet.
    const listed = (await users_of()).find((u) => u.id === inv.json.id);
    assert.deepEqual(listed, { id: inv.json.id, email, display_name: 'Ivy Invitee', role: 'member', password_set: false });
    const one = await api.get(`/v1/users/${inv.json.id}`, { session: owner });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, listed);

    // No password, no login.
    assert_error(await login(api, stack.server, { email, password: 'whatever-it-is-12' }), 401, 'INVALID_CREDENTIALS', 'before set-password');

    const password = strong_password();
    secrets.push(password);
    const sp = await set_password(inv.json.invitation_token, password);
    assert.equal(sp.status, 204, sp.text);
    assert.equal(sp.text, '');
    assert.equal((await users_of()).find((u) => u.id === inv.json.id).password_set, true);

    const r = await login(api, stack.server, { email, password });
    assert.equal(r.status, 201, r.text);
    assert_login_answer(r.json, 'invitee login');
    assert.deepEqual(
      { user_id: r.json.user_id, workspace_id: r.json.workspace_id, role: r.json.role },
      { user_id: inv.json.id, workspace_id: stack.workspace.workspace_id, role: 'member' },
    );
    secrets.push(r.session.id, r.session.csrf);
  });

  test('the token works once', async () => {
    const email = unique_email('once');
    const inv = await invite({ email, display_name: 'Once', role: 'auditor' });
    assert.equal(inv.status, 201, inv.text);
    const token = inv.json.invitation_token;
    const first = strong_password();
    const second = strong_password();
    secrets.push(token, first, second);
    assert.equal((await set_password(token, first)).status, 204);
    const events = await command_event_count(stack.db);
    assert_error(await set_password(token, second), 400, 'INVALID_TOKEN', 'the token a second time');
    assert.equal(await command_event_count(stack.db), events, 'a used token changes nothing');
    assert_error(await login(api, stack.server, { email, password: second }), 401, 'INVALID_CREDENTIALS', 'the refused password');
    const s = await login_ok(api, stack.server, { email, password: first });
    assert.equal(s.role, 'auditor');
    secrets.push(s.id, s.csrf);
  });

  test('tokens nobody issued are 400 INVALID_TOKEN', async () => {
    const inv = await invite({ email: unique_email('real'), display_name: 'Real', role: 'member' });
    assert.equal(inv.status, 201, inv.text);
    const real = inv.json.invitation_token;
    secrets.push(real);
    const flipped = real.slice(0, -2) + (real.endsWith('AA') ? 'BB' : 'AA');
    const events = await command_event_count(stack.db);
    for (const token of [
      'x',
      'A'.repeat(43),
      flipped,
      `${real}x`,
      real.slice(1),
      stack.admin_key,
    ]) {
      assert_error(await set_password(token, strong_password()), 400, 'INVALID_TOKEN', `token ${token.slice(0, 12)}…`);
    }
    // An oversized token may be refused as a field before it is looked up.
    // (or by the JSON parser's string cap, INVALID_JSON).
    assert_error(await set_password('Z'.repeat(5000), strong_password()), 400, ['INVALID_TOKEN', 'INVALID_FIELD', 'INVALID_JSON'], 'a 5000-byte token');
    assert.equal(await command_event_count(stack.db), events);
    // The real token still works after all those guesses.
    assert.equal((await set_password(real, strong_password())).status, 204);
  });

  test('passwords of 12 to 1024 bytes; others 400 WEAK_PASSWORD', async () => {
    const fresh_token = async () => {
      const inv = await invite({ email: unique_email('pw'), display_name: 'Pw', role: 'member' });
      assert.equal(inv.status, 201, inv.text);
      secrets.push(inv.json.invitation_token);
      return inv.json;
    };
    for (const weak of ['', 'short', 'a'.repeat(11), 'é'.repeat(5) + 'a', 'x'.repeat(1025)]) {
      const inv = await fresh_token();
      const r = await set_password(inv.invitation_token, weak);
      assert_error(r, 400, 'WEAK_PASSWORD', `password of ${Buffer.byteLength(weak)} bytes`);
      assert.equal((await users_of()).find((u) => u.id === inv.id).password_set, false);
    }
    // Lengths are bytes: six two-byte characters are 12 bytes; 1024 bytes is the top.
    for (const ok of ['é'.repeat(6), 'b'.repeat(12), 'c'.repeat(1024), 'with spaces and ünïcödé']) {
      const inv = await fresh_token();
      const r = await set_password(inv.invitation_token, ok);
      assert.equal(r.status, 204, `password of ${Buffer.byteLength(ok)} bytes: ${r.text}`);
      const s = await login_ok(api, stack.server, { email: inv.email, password: ok });
      secrets.push(s.id, s.csrf);
    }
  });

  test('set-password: malformed requests are 400', async () => {
    for (const [body, code] of [
      [{ password: strong_password() }, 'MISSING_FIELD'],
      [{ token: 'x' }, 'MISSING_FIELD'],
      [{ token: 'x', password: strong_password(), extra: 1 }, 'UNKNOWN_FIELD'],
      [{ token: 1, password: strong_password() }, 'INVALID_FIELD'],
      [{ token: 'x', password: 123456789012 }, 'INVALID_FIELD'],
    ]) {
      assert_error(await api.post('/v1/users/set-password', { json: body }), 400, code, JSON.stringify(body));
    }
    assert_error(await api.post('/v1/users/set-password', { body: '{"token":', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON');
  });

  test('inviting a member again is 409 ALREADY_MEMBER, whatever the letter case', async () => {
    const email = unique_email('twice');
    assert.equal((await invite({ email, display_name: 'Twice', role: 'member' })).status, 201);
    const events = await command_event_count(stack.db);
    assert_error(await invite({ email, display_name: 'Twice', role: 'admin' }), 409, 'ALREADY_MEMBER', 'same email');
    assert_error(await invite({ email: email.toUpperCase(), display_name: 'Twice', role: 'member' }), 409, 'ALREADY_MEMBER', 'upper case');
    assert_error(await invite({ email: stack.workspace.owner_email, display_name: 'Owner', role: 'member' }), 409, 'ALREADY_MEMBER', 'the owner');
    assert.equal(await command_event_count(stack.db), events);
  });

  test('invalid invitations are 400 and change nothing', async () => {
    const events = await command_event_count(stack.db);
    const cases = [
      [{ display_name: 'No Email', role: 'member' }, ['MISSING_FIELD']],
      [{ email: unique_email('x'), display_name: 'No Role' }, ['MISSING_FIELD']],
      [{ email: unique_email('x'), display_name: 'X', role: 'superuser' }, ['INVALID_FIELD', 'INVALID_ROLE']],
      [{ email: unique_email('x'), display_name: 'X', role: 'Owner' }, ['INVALID_FIELD', 'INVALID_ROLE']],
      [{ email: 'not-an-email', display_name: 'X', role: 'member' }, ['INVALID_FIELD', 'INVALID_EMAIL']],
      [{ email: 'two@@example.com', display_name: 'X', role: 'member' }, ['INVALID_FIELD', 'INVALID_EMAIL']],
      [{ email: 'sp ace@example.com', display_name: 'X', role: 'member' }, ['INVALID_FIELD', 'INVALID_EMAIL']],
      [{ email: `${stack.admin_key}@example.com`, display_name: 'X', role: 'member' }, ['INVALID_FIELD', 'INVALID_EMAIL']],
      [{ email: unique_email('x'), display_name: '', role: 'member' }, ['INVALID_FIELD', 'INVALID_DISPLAY_NAME']],
      [{ email: unique_email('x'), display_name: 'a\u0007b', role: 'member' }, ['INVALID_FIELD', 'INVALID_DISPLAY_NAME']],
      [{ email: unique_email('x'), display_name: 'x'.repeat(101), role: 'member' }, ['INVALID_FIELD', 'INVALID_DISPLAY_NAME']],
      [{ email: unique_email('x'), display_name: 'X', role: 'member', password: 'nope-nope-nope' }, ['UNKNOWN_FIELD']],
      [{ email: 7, display_name: 'X', role: 'member' }, ['INVALID_FIELD']],
    ];
    for (const [body, codes] of cases) {
      const r = await invite(body);
      assert_error(r, 400, codes, JSON.stringify(body).slice(0, 80));
      assert.ok(!r.text.includes(stack.admin_key), 'the key-shaped email is echoed');
    }
    assert.equal(await command_event_count(stack.db), events);
  });

  test('display_name is required (API4_SPEC: POST /v1/users {email, display_name, role})', async () => {
    const events = await command_event_count(stack.db);
    assert_error(await invite({ email: unique_email('noname'), role: 'member' }), 400, 'MISSING_FIELD', 'no display_name');
    assert.equal(await command_event_count(stack.db), events);
  });

  test('a removed user can be invited again; someone with a password gets no token', async () => {
    const email = unique_email('again');
    const first = await invite({ email, display_name: 'Again', role: 'member' });
    assert.equal(first.status, 201, first.text);
    secrets.push(first.json.invitation_token);
    assert.equal((await api.del(`/v1/users/${first.json.id}`, { session: owner })).status, 204);
    assert_error(await set_password(first.json.invitation_token, strong_password()), 400, 'INVALID_TOKEN', 'the removed user\'s token');
    const second = await invite({ email, display_name: 'Again', role: 'auditor' });
    assert.equal(second.status, 201, second.text);
    assert.equal(second.json.id, first.json.id, 'the same person');
    assert.equal(typeof second.json.invitation_token, 'string', 'no password yet: a fresh token');
    secrets.push(second.json.invitation_token);
    const password = strong_password();
    secrets.push(password);
    assert.equal((await set_password(second.json.invitation_token, password)).status, 204);

    // Removed and invited again once they have a password: no token, their password works.
    assert.equal((await api.del(`/v1/users/${first.json.id}`, { session: owner })).status, 204);
    const third = await invite({ email, display_name: 'Again', role: 'member' });
    assert.equal(third.status, 201, third.text);
    assert.equal(third.json.invitation_token, null, third.text);
    assert.equal(third.json.invitation_expires_at, null, third.text);
    const s = await login_ok(api, stack.server, { email, password });
    assert.equal(s.role, 'member');
    secrets.push(s.id, s.csrf);
  });

  test('GET /v1/users/{id}: unknown and malformed ids are 404', async () => {
    for (const id of ['usr_0000000000000000000000', 'usr_x', 'key_0000000000000000000000', stack.workspace.key_id]) {
      assert_error(await api.get(`/v1/users/${id}`, { session: owner }), 404, 'NOT_FOUND', id);
    }
  });

  test('a person in two workspaces names one at login (else 400 CHOOSE_WORKSPACE)', async () => {
    const person = await add_user(api, stack.server, { session: owner }, { role: 'member' });
    secrets.push(person.password, person.session.id, person.session.csrf);
    const ws2 = await stack.bootstrap_workspace();
    secrets.push(ws2.owner_password);
    const owner2 = await login_owner(api, stack.server, ws2);
    secrets.push(owner2.id, owner2.csrf);
    const inv = await invite({ email: person.email, display_name: 'Same Person', role: 'auditor' }, { session: owner2 });
    assert.equal(inv.status, 201, inv.text);
    assert.equal(inv.json.id, person.id, 'one email is one person');
    if (typeof inv.json.invitation_token === 'string') secrets.push(inv.json.invitation_token);

    const events = await command_event_count(stack.db);
    assert_error(await login(api, stack.server, { email: person.email, password: person.password }), 400, 'CHOOSE_WORKSPACE', 'no workspace named');
    assert.equal(await command_event_count(stack.db), events);
    const in1 = await login_ok(api, stack.server, { email: person.email, password: person.password, workspace: stack.workspace.workspace_id });
    assert.deepEqual([in1.workspace_id, in1.role], [stack.workspace.workspace_id, 'member']);
    const in2 = await login_ok(api, stack.server, { email: person.email, password: person.password, workspace: ws2.workspace_id });
    assert.deepEqual([in2.workspace_id, in2.role], [ws2.workspace_id, 'auditor']);
    const by_name = await login_ok(api, stack.server, { email: person.email, password: person.password, workspace: ws2.name });
    assert.equal(by_name.workspace_id, ws2.workspace_id, 'a workspace may be named by its name');
    secrets.push(in1.id, in2.id, by_name.id, in1.csrf, in2.csrf);
    // Each session sees its own workspace only.
    const c1 = await api.get('/v1/sessions/current', { session: in1 });
    const c2 = await api.get('/v1/sessions/current', { session: in2 });
    assert.equal(c1.json?.workspace_id, stack.workspace.workspace_id, c1.text);
    assert.equal(c2.json?.workspace_id, ws2.workspace_id, c2.text);
    // A workspace the person is not in: the same 401 as a wrong password (nothing to learn).
    const ws3 = await stack.bootstrap_workspace();
    secrets.push(ws3.owner_password);
    const r3 = await login(api, stack.server, { email: person.email, password: person.password, workspace: ws3.workspace_id });
    assert.ok([400, 401].includes(r3.status), `not a member of the named workspace: ${r3.status} ${r3.text}`);
    assert.equal(r3.session, undefined);
  });
});

function cell_text(v) {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) return JSON.stringify(v);
  return String(v);
}

test('no password, invitation token, session id or CSRF token in the log or the events', async () => {
  assert.ok(secrets.length >= 20, `only ${secrets.length} secrets collected`);
  const log = stack.server.stderr + stack.server.stdout;
  const events = await stack.db.query('SELECT payload, metadata FROM events');
  const stored = events.rows.map((r) => `${r.payload}\n${r.metadata}`).join('\n');
  for (const s of secrets) {
    assert.equal(typeof s, 'string');
    assert.ok(!log.includes(s), `a secret is in the server log: ${s.slice(0, 4)}…`);
    assert.ok(!stored.includes(s), `a secret is in the events table: ${s.slice(0, 4)}…`);
  }
  // Nor in the tables beside the log, whatever hotel named them (only hashes belong there).
  const tables = await stack.db.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'events'",
  );
  for (const { table_name } of tables.rows) {
    const rows = await stack.db.query(`SELECT * FROM "${table_name}"`);
    const text = rows.rows
      .map((r) => Object.values(r).map(cell_text).join('\n'))
      .join('\n');
    for (const s of secrets) assert.ok(!text.includes(s), `a secret is in table ${table_name}: ${s.slice(0, 4)}…`);
  }
});
