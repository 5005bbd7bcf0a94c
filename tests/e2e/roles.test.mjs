// Who may do what (API4_SPEC "Principals", docs/users-and-roles.md "Roles and what they may
// do"): every role (owner, admin, member, auditor) x every management endpoint, acting both
// through a session and through a key the user owns; members manage only their own keys
// (others' are 404), auditors only read; a key never does more than its owner may now:
// demoting the owner narrows the key's effective scopes at once, removing the owner disables
// the key at once (disabled_reason owner_removed); the last owner can be neither demoted nor
// removed (409 LAST_OWNER).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assert_error,
  command_event_count,
  management_scopes,
  random_suffix,
  start_stack,
  unique_email,
} from './harness.mjs';
import { add_user, create_owned_key, login, login_ok, login_owner, roles, set_role } from './people.mjs';

let stack;
let api;
/// role -> { id, email, password, session, key (secret), key_id, spare_keys }
const people = {};

const full_scopes = ['leads:read', 'leads:write', ...management_scopes];
const member_scopes = ['leads:read', 'leads:write', 'keys:read', 'keys:write'];

before(async () => {
  stack = await start_stack();
  api = stack.api;
  const owner_session = await login_owner(api, stack.server, stack.workspace);
  people.owner = {
    id: stack.workspace.owner_user_id,
    email: stack.workspace.owner_email,
    password: stack.workspace.owner_password,
    session: owner_session,
  };
  const owner_actor = { session: owner_session };
  people.admin = await add_user(api, stack.server, owner_actor, { role: 'admin' });
  people.member = await add_user(api, stack.server, owner_actor, { role: 'member' });
  // An auditor cannot create keys: this one made hers while she was an admin (so the key holds
  // scopes her role no longer allows), plus spares to be the targets of "own key" writes.
  const auditor = await add_user(api, stack.server, owner_actor, { role: 'admin' });
  for (const role of ['owner', 'admin', 'member', 'auditor']) {
    const p = role === 'auditor' ? auditor : people[role];
    const k = await create_owned_key(api, { session: p.session }, {
      name: `${role}-full`,
      scopes: role === 'member' ? member_scopes : full_scopes,
    });
    p.key = k.key;
    p.key_id = k.id;
  }
  auditor.spare_keys = [];
  for (let i = 0; i < 12; i++) {
    auditor.spare_keys.push(await create_owned_key(api, { session: auditor.session }, { name: `auditor-spare-${i}`, scopes: ['leads:read'] }));
  }
  await set_role(api, owner_actor, auditor.id, 'auditor');
  auditor.role = 'auditor';
  auditor.session = await login_ok(api, stack.server, { email: auditor.email, password: auditor.password });
  assert.equal(auditor.session.role, 'auditor');
  people.auditor = auditor;
});

after(async () => {
  if (stack) await stack.close();
});

const owner_actor = () => ({ session: people.owner.session });
const actor_of = (role, via) => (via === 'session' ? { session: people[role].session } : { key: people[role].key });

/// A key owned by the workspace owner (created with the bootstrap admin key).
async function owners_key(name = `victim-${random_suffix(5)}`) {
  const r = await api.create_key(stack.admin_key, { name, environment: 'test', scopes: ['leads:read'] });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/// A fresh key owned by `role`'s user.
async function own_key(role) {
  if (role === 'auditor') {
    const k = people.auditor.spare_keys.pop();
    assert.ok(k, 'out of auditor spare keys');
    return k;
  }
  return create_owned_key(api, { session: people[role].session }, { name: `own-${random_suffix(5)}`, scopes: ['leads:read'] });
}

/// A fresh invited user (no password needed) with `role`.
async function fresh_user(role = 'member') {
  const r = await api.post('/v1/users', { ...owner_actor(), json: { email: unique_email(`t-${role}`), display_name: 'Target', role } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/// Expectations per role: owner, admin, member, auditor. A value is a status or a list of
/// acceptable statuses.
const by_role = (owner, admin, member, auditor) => ({ owner, admin, member, auditor });

/// Every management endpoint. `target` makes what the call acts on (fresh for writes), `own`
/// says the target is a fresh key of the acting user; `run(actor, target)` makes the call;
/// `unchanged(target)` checks a refused call left the target as it was. `expect_key` overrides
/// `expect` when the actor is the user's key.
const cases = [
  { name: 'GET /v1/keys', run: (a) => api.get('/v1/keys', a), expect: by_role(200, 200, 200, 200) },
  {
    name: "GET /v1/keys/{owner's key}",
    target: async () => ({ id: stack.workspace.key_id }),
    run: (a, t) => api.get(`/v1/keys/${t.id}`, a),
    expect: by_role(200, 200, 404, 200),
  },
  {
    name: 'GET /v1/keys/{own key}',
    own: true,
    run: (a, t) => api.get(`/v1/keys/${t.id}`, a),
    expect: by_role(200, 200, 200, 200),
  },
  {
    name: 'POST /v1/keys',
    run: (a) => api.post('/v1/keys', { ...a, json: { name: 'matrix-new', environment: 'test', scopes: ['leads:read'] } }),
    expect: by_role(201, 201, 201, 403),
  },
  {
    name: "PATCH /v1/keys/{owner's key}",
    target: () => owners_key(),
    run: (a, t) => api.patch(`/v1/keys/${t.id}`, { ...a, json: { name: 'matrix-renamed' } }),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.name, t.name),
    expect: by_role(200, 200, 404, 403),
  },
  {
    name: 'PATCH /v1/keys/{own key}',
    own: true,
    run: (a, t) => api.patch(`/v1/keys/${t.id}`, { ...a, json: { name: 'matrix-own-renamed' } }),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.name, t.name),
    expect: by_role(200, 200, 200, 403),
  },
  {
    name: "POST /v1/keys/{owner's key}/rotate",
    target: () => owners_key(),
    run: (a, t) => api.post(`/v1/keys/${t.id}/rotate`, { ...a, json: { grace_period_seconds: 0 } }),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.valid, true),
    expect: by_role(201, 201, 404, 403),
  },
  {
    name: 'POST /v1/keys/{own key}/rotate',
    own: true,
    run: (a, t) => api.post(`/v1/keys/${t.id}/rotate`, { ...a, json: { grace_period_seconds: 0 } }),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.valid, true),
    expect: by_role(201, 201, 201, 403),
  },
  {
    name: "DELETE /v1/keys/{owner's key}",
    target: () => owners_key(),
    run: (a, t) => api.del(`/v1/keys/${t.id}`, a),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.valid, true),
    expect: by_role(204, 204, 404, 403),
  },
  {
    name: 'DELETE /v1/keys/{own key}',
    own: true,
    run: (a, t) => api.del(`/v1/keys/${t.id}`, a),
    unchanged: async (t) => assert.equal((await api.verify(t.key)).json.valid, true),
    expect: by_role(204, 204, 204, 403),
  },
  {
    name: "GET /v1/keys/{owner's key}/requests",
    target: async () => ({ id: stack.workspace.key_id }),
    run: (a, t) => api.get(`/v1/keys/${t.id}/requests`, a),
    expect: by_role(200, 200, [403, 404], 200),
  },
  {
    // Request logs are audit.read, which members do not have, even for their own keys.
    name: 'GET /v1/keys/{own key}/requests',
    own: true,
    run: (a, t) => api.get(`/v1/keys/${t.id}/requests`, a),
    expect: by_role(200, 200, 403, 200),
  },
  { name: 'GET /v1/auth-failures', run: (a) => api.get('/v1/auth-failures', a), expect: by_role(200, 200, 403, 200) },
  { name: 'GET /v1/users', run: (a) => api.get('/v1/users', a), expect: by_role(200, 200, 403, 200) },
  {
    name: "GET /v1/users/{owner's id}",
    run: (a) => api.get(`/v1/users/${people.owner.id}`, a),
    expect: by_role(200, 200, 403, 200),
  },
  {
    name: 'POST /v1/users (a member)',
    run: (a) => api.post('/v1/users', { ...a, json: { email: unique_email('m-inv'), display_name: 'Invited', role: 'member' } }),
    expect: by_role(201, 201, 403, 403),
  },
  {
    name: 'POST /v1/users (an owner)',
    run: (a) => api.post('/v1/users', { ...a, json: { email: unique_email('o-inv'), display_name: 'Invited Owner', role: 'owner' } }),
    expect: by_role(201, 403, 403, 403),
  },
  {
    name: 'PATCH /v1/users/{a member} -> auditor',
    target: () => fresh_user('member'),
    run: (a, t) => api.patch(`/v1/users/${t.id}`, { ...a, json: { role: 'auditor' } }),
    unchanged: async (t) => assert.equal((await api.get(`/v1/users/${t.id}`, owner_actor())).json.role, 'member'),
    expect: by_role(200, 200, 403, 403),
  },
  {
    name: 'PATCH /v1/users/{a member} -> owner',
    target: () => fresh_user('member'),
    run: (a, t) => api.patch(`/v1/users/${t.id}`, { ...a, json: { role: 'owner' } }),
    unchanged: async (t) => assert.equal((await api.get(`/v1/users/${t.id}`, owner_actor())).json.role, 'member'),
    expect: by_role(200, 403, 403, 403),
  },
  {
    name: 'PATCH /v1/users/{another owner} -> admin',
    target: () => fresh_user('owner'),
    run: (a, t) => api.patch(`/v1/users/${t.id}`, { ...a, json: { role: 'admin' } }),
    unchanged: async (t) => assert.equal((await api.get(`/v1/users/${t.id}`, owner_actor())).json.role, 'owner'),
    expect: by_role(200, 403, 403, 403),
  },
  {
    name: 'DELETE /v1/users/{a member}',
    target: () => fresh_user('member'),
    run: (a, t) => api.del(`/v1/users/${t.id}`, a),
    unchanged: async (t) => assert.equal((await api.get(`/v1/users/${t.id}`, owner_actor())).status, 200),
    expect: by_role(204, 204, 403, 403),
  },
  {
    name: 'DELETE /v1/users/{another owner}',
    target: () => fresh_user('owner'),
    run: (a, t) => api.del(`/v1/users/${t.id}`, a),
    unchanged: async (t) => assert.equal((await api.get(`/v1/users/${t.id}`, owner_actor())).status, 200),
    expect: by_role(204, 403, 403, 403),
  },
  {
    name: 'GET /v1/workspace',
    run: (a) => api.get('/v1/workspace', a),
    expect: by_role(200, 200, 403, 200),
    // The spec names workspace:admin as the key scope for settings; an auditor's key cannot
    // hold it, and whether a read needs it is not said.
    expect_key: by_role(200, 200, 403, [200, 403]),
  },
  {
    name: 'PATCH /v1/workspace (the same settings)',
    run: async (a) => api.patch('/v1/workspace', { ...a, json: { scope_catalog: (await api.get('/v1/workspace', owner_actor())).json.scope_catalog } }),
    expect: by_role(200, 200, 403, 403),
  },
];

/// The error codes of refusals: 403 FORBIDDEN, 404 NOT_FOUND.
const refusal_code = { 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

async function run_case(c, role, via) {
  const actor = actor_of(role, via);
  const expected_raw = (via === 'key' && c.expect_key ? c.expect_key : c.expect)[role];
  const expected = Array.isArray(expected_raw) ? expected_raw : [expected_raw];
  let target;
  if (c.own) target = await own_key(role);
  else if (c.target) target = await c.target();
  const events = await command_event_count(stack.db);
  const r = await c.run(actor, target);
  const what = `${role} via ${via}: ${c.name}`;
  assert.ok(expected.includes(r.status), `${what}: expected ${expected.join('|')}, got ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400) {
    assert_error(r, r.status, refusal_code[r.status] ?? r.json?.code, what);
    assert.equal(await command_event_count(stack.db), events, `${what}: a refused call appended events`);
    if (c.unchanged) await c.unchanged(target);
  }
  return r;
}

/// Runs every case and fails once at the end listing every cell that went wrong (so one wrong
/// cell does not hide the others).
async function run_all(cells) {
  const failures = [];
  for (const cell of cells) {
    try {
      await cell();
    } catch (e) {
      failures.push(e.message.split('\n')[0].slice(0, 300));
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cells.length} cells failed:\n${failures.join('\n')}`);
}

describe('the role x endpoint matrix', () => {
  for (const via of ['session', 'key']) {
    for (const role of roles) {
      test(`${role} via ${via}`, async () => {
        assert.equal(people[role].session.role, role);
        await run_all(cases.map((c) => () => run_case(c, role, via)));
      });
    }
  }

  test('GET /v1/keys/self answers each key with its own object', async () => {
    for (const role of roles) {
      const r = await api.get('/v1/keys/self', { key: people[role].key });
      assert.equal(r.status, 200, `${role}: ${r.text}`);
      assert.equal(r.json.id, people[role].key_id);
      assert.equal(r.json.owner_user_id, people[role].id);
    }
  });
});

describe('members see and manage only their own keys', () => {
  test('a member\'s list holds only their keys; owners, admins and auditors see them all', async () => {
    const mine = await own_key('member');
    const theirs = await owners_key('not-the-members');
    for (const actor of [{ session: people.member.session }, { key: people.member.key }]) {
      const r = await api.get('/v1/keys?limit=100', actor);
      assert.equal(r.status, 200, r.text);
      const ids = r.json.data.map((k) => k.id);
      assert.ok(ids.includes(mine.id), 'the member sees their key');
      assert.ok(!ids.includes(theirs.id), 'the member sees another user\'s key');
      for (const k of r.json.data) assert.equal(k.owner_user_id, people.member.id, `${k.id} is not the member's`);
    }
    for (const role of ['owner', 'admin', 'auditor']) {
      const r = await api.get('/v1/keys?limit=100', { session: people[role].session });
      assert.equal(r.status, 200, r.text);
      const ids = r.json.data.map((k) => k.id);
      assert.ok(ids.includes(mine.id) && ids.includes(theirs.id), `${role} sees every key`);
    }
  });

  test('another member\'s key is 404 to a member, like another workspace\'s', async () => {
    const other = await add_user(api, stack.server, owner_actor(), { role: 'member' });
    const theirs = await create_owned_key(api, { session: other.session }, { name: 'other-members', scopes: ['leads:read'] });
    for (const actor of [{ session: people.member.session }, { key: people.member.key }]) {
      assert_error(await api.get(`/v1/keys/${theirs.id}`, actor), 404, 'NOT_FOUND', 'GET');
      assert_error(await api.patch(`/v1/keys/${theirs.id}`, { ...actor, json: { enabled: false } }), 404, 'NOT_FOUND', 'PATCH');
      assert_error(await api.post(`/v1/keys/${theirs.id}/rotate`, { ...actor, json: {} }), 404, 'NOT_FOUND', 'rotate');
      assert_error(await api.del(`/v1/keys/${theirs.id}`, actor), 404, 'NOT_FOUND', 'DELETE');
    }
    const v = await api.verify(theirs.key);
    assert.equal(v.json.valid, true, v.text);
  });

  test('keys carry only what the creator\'s role allows (403) and the catalog has (400)', async () => {
    const create = (actor, scopes) => api.post('/v1/keys', { ...actor, json: { name: 'scoped', environment: 'test', scopes } });
    for (const actor of [{ session: people.member.session }, { key: people.member.key }]) {
      for (const s of ['users:read', 'users:write', 'workspace:admin', 'audit:read', 'oauth:introspect']) {
        assert_error(await create(actor, ['leads:read', s]), 403, 'FORBIDDEN', `member creating ${s}`);
      }
      for (const s of ['keys:read', 'keys:write', 'leads:write', 'reports:read']) {
        const r = await create(actor, [s]);
        assert.equal(r.status, 201, `member creating ${s}: ${r.text}`);
        assert.equal(r.json.owner_user_id, people.member.id);
        assert.deepEqual(r.json.effective_scopes, [s]);
      }
    }
    for (const role of ['owner', 'admin']) {
      const r = await create({ session: people[role].session }, full_scopes);
      assert.equal(r.status, 201, `${role} creating every scope: ${r.text}`);
      assert.deepEqual(r.json.effective_scopes, full_scopes);
      assert_error(await create({ session: people[role].session }, ['calendar:read']), 400, 'INVALID_FIELD', `${role}: not in the catalog`);
    }
    // PATCHing a member's own key to a scope the role does not allow is refused the same way.
    const mine = await own_key('member');
    assert_error(await api.patch(`/v1/keys/${mine.id}`, { session: people.member.session, json: { scopes: ['users:read'] } }), 403, 'FORBIDDEN', 'member PATCH users:read');
    assert_error(await api.patch(`/v1/keys/${mine.id}`, { session: people.member.session, json: { scopes: ['calendar:read'] } }), 400, 'INVALID_FIELD', 'member PATCH outside the catalog');
  });

  test('a key needs the scope as well as the role: the owner\'s keys:read key cannot read users', async () => {
    const narrow = await create_owned_key(api, owner_actor(), { name: 'owner-narrow', scopes: ['keys:read'] });
    assert.equal((await api.get('/v1/keys', { key: narrow.key })).status, 200);
    await run_all(
      [
        ['GET', '/v1/users'],
        ['GET', '/v1/users/' + people.owner.id],
        ['GET', '/v1/auth-failures'], // audit:read (API4_SPEC "Principals")
        ['GET', `/v1/keys/${stack.workspace.key_id}/requests`], // audit:read
        ['POST', '/v1/keys', { name: 'x', environment: 'test' }],
        ['POST', '/v1/users', { email: unique_email('narrow'), display_name: 'N', role: 'member' }],
        ['PATCH', '/v1/workspace', {}],
      ].map(([m, p, json]) => async () => {
        const r = await api.request(m, p, { key: narrow.key, json });
        assert.equal(r.status, 403, `${m} ${p} with keys:read only: got ${r.status} ${r.text.slice(0, 120)}`);
        assert_error(r, 403, 'FORBIDDEN', `${m} ${p} with keys:read only`);
      }),
    );
  });

  test('an auditor\'s key holds only its readable scopes now and never sees a secret', async () => {
    const r = await api.get(`/v1/keys/${people.auditor.key_id}`, { key: people.auditor.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.scopes, full_scopes, 'the key keeps its scopes');
    assert.deepEqual(r.json.effective_scopes, ['leads:read', 'keys:read', 'users:read', 'audit:read']);
    const v = await api.verify(people.auditor.key);
    assert.deepEqual(v.json.scopes, ['leads:read', 'keys:read', 'users:read', 'audit:read'], v.text);
    // Reads never return a secret.
    for (const p of ['/v1/keys?limit=100', `/v1/keys/${people.member.key_id}`, '/v1/users']) {
      const res = await api.get(p, { session: people.auditor.session });
      assert.equal(res.status, 200, res.text);
      for (const role of roles) assert.ok(!res.text.includes(people[role].key), `${p} shows ${role}'s key`);
      assert.ok(!res.text.includes(people.owner.password), `${p} shows a password`);
    }
  });
});

describe('a key never does more than its owner may now', () => {
  test('demoting the owner narrows the key\'s effective scopes at once; promoting widens them', async () => {
    const u = await add_user(api, stack.server, owner_actor(), { role: 'admin' });
    const k = await create_owned_key(api, { session: u.session }, { name: 'demoted-keys', scopes: full_scopes });
    const v0 = await api.verify(k.key);
    assert.deepEqual(v0.json.scopes, full_scopes, v0.text);

    // No waiting: the verification right after the PATCH returns already sees it.
    await set_role(api, owner_actor(), u.id, 'auditor');
    const v1 = await api.verify(k.key);
    assert.equal(v1.json.valid, true, v1.text);
    assert.deepEqual(v1.json.scopes, ['leads:read', 'keys:read', 'users:read', 'audit:read'], 'auditor');
    const refused = await api.verify(k.key, { required_scopes: ['leads:write'] });
    assert.deepEqual(refused.json, { valid: false, code: 'INSUFFICIENT_SCOPE' });
    const check = await api.get('/v1/check', { key: k.key, headers: { 'x-keyledger-required-scopes': 'leads:write' } });
    assert_error(check, 403, 'INSUFFICIENT_SCOPE', 'check after demotion');
    const shown = await api.get(`/v1/keys/${k.id}`, owner_actor());
    assert.deepEqual(shown.json.scopes, full_scopes, 'the key\'s own scopes stay');
    assert.deepEqual(shown.json.effective_scopes, ['leads:read', 'keys:read', 'users:read', 'audit:read']);
    // The key lost its management reach too.
    assert_error(await api.create_key(k.key, { name: 'x', environment: 'test' }), 403, 'FORBIDDEN', 'create after demotion');
    assert_error(await api.post('/v1/users', { key: k.key, json: { email: unique_email('d'), display_name: 'D', role: 'member' } }), 403, 'FORBIDDEN', 'invite after demotion');

    await set_role(api, owner_actor(), u.id, 'member');
    const v2 = await api.verify(k.key);
    assert.deepEqual(v2.json.scopes, member_scopes, 'member');
    const ok_check = await api.get('/v1/check', { key: k.key, headers: { 'x-keyledger-required-scopes': 'leads:write' } });
    assert.equal(ok_check.status, 200, ok_check.text);
    assert.equal(ok_check.headers.get('x-keyledger-scopes'), member_scopes.join(' '));

    await set_role(api, owner_actor(), u.id, 'admin');
    const v3 = await api.verify(k.key);
    assert.deepEqual(v3.json.scopes, full_scopes, 'admin again');
    assert.equal((await api.create_key(k.key, { name: 'x', environment: 'test' })).status, 201);
  });

  test('a role change ends the user\'s sessions (they log in again with the new role)', async () => {
    const u = await add_user(api, stack.server, owner_actor(), { role: 'admin' });
    await set_role(api, owner_actor(), u.id, 'member');
    assert_error(await api.get('/v1/sessions/current', { session: u.session }), 401, 'UNAUTHORIZED', 'old session after the role change');
    const again = await login_ok(api, stack.server, { email: u.email, password: u.password });
    assert.equal(again.role, 'member');
    assert_error(await api.get('/v1/users', { session: again }), 403, 'FORBIDDEN', 'a member lists users');
  });

  test('removing the owner disables their keys at once; the list says owner_removed', async () => {
    const u = await add_user(api, stack.server, owner_actor(), { role: 'admin' });
    const k1 = await create_owned_key(api, { session: u.session }, { name: 'removed-1', scopes: ['leads:read'] });
    const k2 = await create_owned_key(api, { session: u.session }, { name: 'removed-2', environment: 'live', scopes: ['keys:read', 'users:read'] });
    const bystander = await owners_key('bystander');
    assert.equal((await api.verify(k1.key)).json.valid, true);

    const del = await api.del(`/v1/users/${u.id}`, owner_actor());
    assert.equal(del.status, 204, del.text);
    // At once: no polling.
    for (const k of [k1, k2]) {
      assert.deepEqual((await api.verify(k.key)).json, { valid: false, code: 'DISABLED' }, `${k.name} verifies DISABLED`);
      const c = await api.get('/v1/check', { key: k.key });
      assert_error(c, 401, 'DISABLED', `${k.name} at the gateway`);
    }
    assert_error(await api.get('/v1/keys', { key: k2.key }), 401, 'UNAUTHORIZED', 'the removed user\'s key as Authorization');
    assert_error(await api.get('/v1/sessions/current', { session: u.session }), 401, 'UNAUTHORIZED', 'the removed user\'s session');
    assert_error(await api.get(`/v1/users/${u.id}`, owner_actor()), 404, 'NOT_FOUND', 'the removed user');
    assert.ok(!(await api.get('/v1/users', owner_actor())).json.data.some((x) => x.id === u.id), 'listed after removal');

    const listed = await api.get('/v1/keys?limit=100', owner_actor());
    for (const k of [k1, k2]) {
      const item = listed.json.data.find((x) => x.id === k.id);
      assert.ok(item, `${k.name} is still listed`);
      assert.equal(item.disabled_reason, 'owner_removed', JSON.stringify(item));
      assert.equal(item.status, 'disabled', JSON.stringify(item));
      assert.equal(item.owner_user_id, u.id);
      assert.deepEqual(item.effective_scopes, []);
    }
    const disabled = await api.get('/v1/keys?status=disabled&limit=100', owner_actor());
    for (const k of [k1, k2]) assert.ok(disabled.json.data.some((x) => x.id === k.id), `status=disabled lists ${k.name}`);
    // Every other key keeps working.
    assert.equal((await api.verify(bystander.key)).json.valid, true);
    assert.equal((await api.verify(people.admin.key)).json.valid, true);
    // The person cannot log in any more (no workspace left).
    const relogin = await login(api, stack.server, { email: u.email, password: u.password });
    assert.ok([400, 401].includes(relogin.status), `${relogin.status} ${relogin.text}`);
    assert.equal(relogin.session, undefined);
  });

  test('a key disabled by PATCH says disabled; an enabled one says null', async () => {
    const k = await owners_key('paused');
    assert.equal((await api.get(`/v1/keys/${k.id}`, owner_actor())).json.disabled_reason, null);
    const p = await api.patch(`/v1/keys/${k.id}`, { ...owner_actor(), json: { enabled: false } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.disabled_reason, 'disabled');
    assert.equal(p.json.status, 'disabled');
    assert.equal((await api.verify(k.key)).json.code, 'DISABLED');
  });
});

describe('the last owner', () => {
  test('can be neither demoted nor removed (409 LAST_OWNER), by themselves or by a key', async () => {
    const owner = people.owner;
    const events = await command_event_count(stack.db);
    // The matrix invited further owners; remove them, so that the bootstrap owner is the last.
    const users = (await api.get('/v1/users', owner_actor())).json.data;
    for (const u of users.filter((x) => x.role === 'owner' && x.id !== owner.id)) {
      assert.equal((await api.del(`/v1/users/${u.id}`, owner_actor())).status, 204);
    }
    const after_cleanup = await command_event_count(stack.db);
    assert.ok(after_cleanup >= events);
    for (const actor of [owner_actor(), { key: stack.admin_key }, { key: people.owner.key }]) {
      for (const role of ['admin', 'member', 'auditor']) {
        assert_error(await api.patch(`/v1/users/${owner.id}`, { ...actor, json: { role } }), 409, 'LAST_OWNER', `demote to ${role}`);
      }
      assert_error(await api.del(`/v1/users/${owner.id}`, actor), 409, 'LAST_OWNER', 'remove');
    }
    assert.equal(await command_event_count(stack.db), after_cleanup, 'refused: nothing appended');
    // An admin may not touch an owner at all.
    assert_error(await api.patch(`/v1/users/${owner.id}`, { session: people.admin.session, json: { role: 'admin' } }), 403, 'FORBIDDEN', 'admin demotes owner');
    assert_error(await api.del(`/v1/users/${owner.id}`, { session: people.admin.session }), 403, 'FORBIDDEN', 'admin removes owner');
    // Setting the same role is no change at all.
    const same = await api.patch(`/v1/users/${owner.id}`, { ...owner_actor(), json: { role: 'owner' } });
    assert.equal(same.status, 200, same.text);
    assert.equal(await command_event_count(stack.db), after_cleanup, 'no change, no event');
  });

  test('with a second owner, either may step down; then the other is the last', async () => {
    const second = await add_user(api, stack.server, owner_actor(), { role: 'owner' });
    // The second owner demotes the first; the first owner's keys now act as an admin's.
    await set_role(api, { session: second.session }, people.owner.id, 'admin');
    assert_error(await api.patch(`/v1/users/${second.id}`, { session: second.session, json: { role: 'admin' } }), 409, 'LAST_OWNER', 'second is now the last');
    assert_error(await api.del(`/v1/users/${second.id}`, { session: second.session }), 409, 'LAST_OWNER', 'second removes self');
    // The demoted first owner (an admin now) cannot touch the remaining owner.
    assert_error(await api.del(`/v1/users/${second.id}`, { key: stack.admin_key }), 403, 'FORBIDDEN', 'demoted admin removes the owner');
    // Restore: the second owner promotes the first back, then steps down.
    await set_role(api, { session: second.session }, people.owner.id, 'owner');
    people.owner.session = await login_ok(api, stack.server, { email: people.owner.email, password: people.owner.password });
    const bye = await api.del(`/v1/users/${second.id}`, { session: second.session });
    assert.equal(bye.status, 204, bye.text);
    assert_error(await api.get('/v1/sessions/current', { session: second.session }), 401, 'UNAUTHORIZED', 'removed self: session over');
    assert.equal((await api.get('/v1/users', owner_actor())).json.data.filter((u) => u.role === 'owner').length, 1);
  });
});
