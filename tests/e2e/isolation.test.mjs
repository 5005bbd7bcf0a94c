// Workspaces are isolated (API4_SPEC "Isolation"): for EVERY endpoint of the served OpenAPI
// document that takes an id in its path, workspace A's credentials (its owner's session and
// a key with every scope) on workspace B's ids answer 404 NOT_FOUND and change nothing (the
// events table keeps its count; B's keys, users and settings read back the same). The
// endpoints come from GET /openapi.json, so a new id-taking endpoint is swept without editing
// this file. Lists and logins do not leak across either.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, command_event_count, management_scopes, start_stack } from './harness.mjs';
import { add_user, create_owned_key, login, login_owner } from './people.mjs';

let stack;
let api;
let doc;
const a = {};  // workspace A: the stack's own
const b = {};  // workspace B

const http_methods = ['get', 'put', 'post', 'delete', 'patch'];

before(async () => {
  stack = await start_stack();
  api = stack.api;
  a.ws = stack.workspace;
  a.owner = await login_owner(api, stack.server, a.ws);
  a.key = await create_owned_key(api, { session: a.owner }, { name: 'a-everything', scopes: ['leads:read', 'leads:write', ...management_scopes] });
  a.member = await add_user(api, stack.server, { session: a.owner }, { role: 'member' });
  a.member_key = await create_owned_key(api, { session: a.member.session }, { name: 'a-member', scopes: ['keys:read', 'keys:write'] });

  b.ws = await stack.bootstrap_workspace();
  b.owner = await login_owner(api, stack.server, b.ws);
  b.member = await add_user(api, stack.server, { session: b.owner }, { role: 'member' });
  b.admin = await add_user(api, stack.server, { session: b.owner }, { role: 'admin' });
  b.key = await create_owned_key(api, { session: b.owner }, { name: 'b-owned', scopes: ['leads:read'] });
  b.member_key = await create_owned_key(api, { session: b.member.session }, { name: 'b-member', scopes: ['keys:read'] });
  const hook = { url: 'https://hooks.example.com/isolation', event_types: ['*'] };
  for (const [ws, owner] of [[a, a.owner], [b, b.owner]]) {
    const made = await api.post('/v1/webhooks', { session: owner, json: hook });
    assert.equal(made.status, 201, made.text);
    ws.webhook = made.json;
  }

  const served = await api.get('/openapi.json');
  assert.equal(served.status, 200, served.text.slice(0, 200));
  doc = served.json;
});

after(async () => {
  if (stack) await stack.close();
});

/// Follows a local $ref ("#/components/parameters/key_id").
function deref(node) {
  let n = node;
  for (let hops = 0; n && typeof n === 'object' && typeof n.$ref === 'string'; hops++) {
    assert.ok(hops < 20, 'a $ref cycle');
    let target = doc;
    for (const part of n.$ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    n = target;
  }
  return n;
}

/// The id-taking operations: { template, method, params } for every path parameter whose name
/// is "id" or ends in "id"/"_id" (e.g. /v1/check/{path} forwards a gateway's path: not an id).
function id_operations() {
  const out = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const path_level = (item.parameters ?? []).map(deref);
    for (const method of http_methods) {
      const op = item[method];
      if (!op) continue;
      const params = [...path_level, ...(op.parameters ?? []).map(deref)]
        .filter((p) => p?.in === 'path')
        .map((p) => p.name);
      const in_template = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const names = [...new Set([...params, ...in_template])];
      // Operations for a person's session only (a person's own OAuth grants): keys get 401.
      const session_only = Array.isArray(op.security) && op.security.length > 0 &&
        op.security.every((s) => Object.keys(s).length === 1 && 'session_cookie' in s);
      if (names.some((n) => /id$/i.test(n))) out.push({ template, method: method.toUpperCase(), params: names, session_only });
    }
  }
  return out;
}

/// B's ids that a path under `collection` could take; every B id for a collection this file
/// does not know yet (so a new endpoint is still swept).
function b_ids(collection) {
  const keys = [b.key.id, b.member_key.id, b.ws.key_id];
  const users = [b.ws.owner_user_id, b.member.id, b.admin.id];
  if (collection === 'keys') return keys;
  if (collection === 'users') return users;
  if (collection === 'webhooks') return [b.webhook.id, ...keys];
  return [...keys, ...users, b.ws.workspace_id];
}

/// A body that would change something were the call allowed, by template shape; {} otherwise.
const shape = (t) => t.replace(/\{[^}]+\}/g, '{}');
const bodies = {
  'PATCH /v1/keys/{}': { name: 'hijacked', enabled: false },
  'POST /v1/keys/{}/rotate': { grace_period_seconds: 0 },
  'PATCH /v1/users/{}': { role: 'auditor' },
  'PATCH /v1/webhooks/{}': { url: 'https://hijacked.example/h', enabled: false },
  'POST /v1/webhooks/{}/rotate-secret': { overlap_seconds: 0 },
};

/// What B looks like through B's owner's session (no key use, so no last-used changes).
async function b_snapshot() {
  const keys = await api.get('/v1/keys?limit=100', { session: b.owner });
  const users = await api.get('/v1/users', { session: b.owner });
  const ws = await api.get('/v1/workspace', { session: b.owner });
  const webhooks = await api.get('/v1/webhooks', { session: b.owner });
  for (const r of [keys, users, ws, webhooks]) assert.equal(r.status, 200, r.text);
  // Usage telemetry (last use) is written in batches, apart from the keys' state: left out.
  const key_state = keys.json.data.map(({ last_used_at, last_used_ip, ...rest }) => rest);
  return { keys: key_state, next_cursor: keys.json.next_cursor, users: users.json, workspace: ws.json, webhooks: webhooks.json };
}

describe('the cross-workspace sweep', () => {
  test('every id-taking endpoint answers 404 for the other workspace\'s ids and changes nothing', async () => {
    const ops = id_operations();
    const templates = new Set(ops.map((o) => `${o.method} ${shape(o.template)}`));
    for (const known of [
      'GET /v1/keys/{}', 'PATCH /v1/keys/{}', 'DELETE /v1/keys/{}', 'POST /v1/keys/{}/rotate',
      'GET /v1/keys/{}/requests', 'GET /v1/users/{}', 'PATCH /v1/users/{}', 'DELETE /v1/users/{}',
    ]) {
      assert.ok(templates.has(known), `the served openapi.json lacks ${known} (found: ${[...templates].join(', ')})`);
    }

    const before_b = await b_snapshot();
    const events = await command_event_count(stack.db);
    const actors = {
      'A owner session': { session: a.owner },
      'A owner key (every scope)': { key: a.key.key },
      'A bootstrap admin key': { key: a.ws.key },
      'A member session': { session: a.member.session },
      'A member key': { key: a.member_key.key },
    };
    let calls = 0;
    for (const op of ops) {
      const collection = op.template.split('/').filter((s) => s !== '')[1];
      for (const id of b_ids(collection)) {
        const url = op.template.replace(/\{[^}]+\}/g, encodeURIComponent(id));
        const body = bodies[`${op.method} ${shape(op.template)}`] ?? (['POST', 'PATCH', 'PUT'].includes(op.method) ? {} : undefined);
        for (const [who, actor] of Object.entries(actors)) {
          const r = await api.request(op.method, url, { ...actor, json: body });
          const what = `${who}: ${op.method} ${url}`;
          // A member may be refused (403) an endpoint before any lookup (e.g. users.*): that
          // reveals nothing about B either. Owners and keys with every scope must get 404.
          const allowed = op.session_only && 'key' in actor ? [401] : who.includes('member') ? [404, 403] : [404];
          assert.ok(allowed.includes(r.status), `${what}: expected ${allowed.join('|')}, got ${r.status} ${r.text}`);
          assert_error(r, r.status, { 404: 'NOT_FOUND', 403: 'FORBIDDEN', 401: 'UNAUTHORIZED' }[r.status], what);
          for (const secret of [b.key.key, b.member_key.key, b.ws.key]) assert.ok(!r.text.includes(secret));
          calls++;
        }
        assert.equal(await command_event_count(stack.db), events, `${op.method} ${op.template} with ${id}: events appended`);
      }
    }
    assert.ok(calls >= 8 * 3 * 5, `only ${calls} calls`);
    assert.deepEqual(await b_snapshot(), before_b, 'workspace B reads back the same');
    // B's keys still work, with their names.
    for (const k of [b.key, b.member_key]) {
      const v = await api.verify(k.key);
      assert.equal(v.json.valid, true, v.text);
      assert.equal(v.json.name, k.name);
    }
  });

  test('and the other way round: B\'s owner on A\'s ids', async () => {
    const events = await command_event_count(stack.db);
    for (const op of id_operations()) {
      const collection = op.template.split('/').filter((s) => s !== '')[1];
      const ids = collection === 'users' ? [a.ws.owner_user_id, a.member.id]
        : collection === 'webhooks' ? [a.webhook.id] : [a.key.id, a.member_key.id, a.ws.key_id];
      for (const id of ids) {
        const url = op.template.replace(/\{[^}]+\}/g, encodeURIComponent(id));
        const body = bodies[`${op.method} ${shape(op.template)}`] ?? (['POST', 'PATCH', 'PUT'].includes(op.method) ? {} : undefined);
        for (const actor of [{ session: b.owner }, { key: b.ws.key }]) {
          const r = await api.request(op.method, url, { ...actor, json: body });
          if (op.session_only && 'key' in actor) assert_error(r, 401, 'UNAUTHORIZED', `B on A: ${op.method} ${url}`);
          else assert_error(r, 404, 'NOT_FOUND', `B on A: ${op.method} ${url}`);
        }
      }
    }
    assert.equal(await command_event_count(stack.db), events);
    assert.equal((await api.verify(a.key.key)).json.valid, true);
  });
});

describe('nothing else crosses either', () => {
  test('lists show only the caller\'s workspace', async () => {
    const keys = await api.get('/v1/keys?limit=100', { session: a.owner });
    const users = await api.get('/v1/users', { session: a.owner });
    const failures = await api.get('/v1/auth-failures', { session: a.owner });
    const ws = await api.get('/v1/workspace', { session: a.owner });
    for (const r of [keys, users, failures, ws]) assert.equal(r.status, 200, r.text);
    for (const k of keys.json.data) assert.equal(k.workspace_id, a.ws.workspace_id);
    const b_key_ids = [b.key.id, b.member_key.id, b.ws.key_id];
    assert.ok(!keys.json.data.some((k) => b_key_ids.includes(k.id)));
    const b_user_ids = [b.ws.owner_user_id, b.member.id, b.admin.id];
    assert.ok(!users.json.data.some((u) => b_user_ids.includes(u.id)), users.text);
    assert.equal(ws.json.id, a.ws.workspace_id);
    // A name filter matching B's key finds nothing.
    const by_name = await api.get(`/v1/keys?name=${encodeURIComponent(b.key.name)}`, { session: a.owner });
    assert.deepEqual(by_name.json, { data: [], next_cursor: null });
  });

  test('a workspace\'s session cannot log in to another workspace', async () => {
    const r = await login(api, stack.server, {
      email: a.ws.owner_email,
      password: a.ws.owner_password,
      workspace: b.ws.workspace_id,
    });
    assert.ok([400, 401].includes(r.status), `A's owner into B: ${r.status} ${r.text}`);
    assert.equal(r.session, undefined);
  });

  test('a person in both workspaces: a role or a removal in A changes nothing in B', async () => {
    // Inviting B's member into A as an admin is allowed (people are global)...
    const inv = await api.post('/v1/users', { session: a.owner, json: { email: b.member.email, display_name: 'Shared', role: 'admin' } });
    assert.equal(inv.status, 201, inv.text);
    assert.equal(inv.json.id, b.member.id, 'one email is one person');
    // ...but gives A no reach into B, and the person's B key still acts as a B member.
    assert_error(await api.get(`/v1/keys/${b.member_key.id}`, { session: a.owner }), 404, 'NOT_FOUND', 'A owner on the shared person\'s B key');
    assert_error(await api.get('/v1/users', { key: b.member_key.key }), 403, 'FORBIDDEN', 'the B member key lists B users');
    const v = await api.verify(b.member_key.key);
    assert.deepEqual(v.json.scopes, ['keys:read'], v.text);
    // Removing the person from A leaves their B membership and B key alone.
    const del = await api.del(`/v1/users/${b.member.id}`, { session: a.owner });
    assert.equal(del.status, 204, del.text);
    const after_removal = await api.verify(b.member_key.key);
    assert.equal(after_removal.json.valid, true, `the B key after removal from A: ${after_removal.text}`);
    const in_b = await api.get(`/v1/users/${b.member.id}`, { session: b.owner });
    assert.equal(in_b.status, 200, in_b.text);
    assert.equal(in_b.json.role, 'member');
  });
});
