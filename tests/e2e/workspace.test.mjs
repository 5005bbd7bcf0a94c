// Workspace settings (API4_SPEC "Workspace"): GET and PATCH /v1/workspace (key policy and
// scope catalog), who may change them, and the catalog restricting key scopes: a key may
// carry only catalog scopes and keyledger's management scopes, and a scope dropped from the
// catalog stops being effective at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assert_error,
  command_event_count,
  default_scope_catalog,
  management_scopes,
  start_stack,
} from './harness.mjs';
import { add_user, create_owned_key, login_owner } from './people.mjs';

let stack;
let api;
let owner;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  owner = await login_owner(api, stack.server, stack.workspace);
});

after(async () => {
  if (stack) await stack.close();
});

const as_owner = () => ({ session: owner });
const default_policy = { default_lifespan_days: 90, max_lifespan_days: 365, allow_no_expiry: false, names_allow_spaces: true };

function assert_workspace(w, what = '') {
  const ctx = `${what}: ${JSON.stringify(w)}`;
  assert.deepEqual(Object.keys(w).sort(), ['id', 'key_policy', 'key_prefix', 'name', 'on_leak', 'scope_catalog'], ctx);
  assert.ok(['revoke', 'disable'].includes(w.on_leak), ctx);
  assert.deepEqual(Object.keys(w.key_policy).sort(), ['allow_no_expiry', 'default_lifespan_days', 'max_lifespan_days', 'names_allow_spaces'], ctx);
  assert.ok(Array.isArray(w.scope_catalog), ctx);
}

async function patch_workspace(json, actor = as_owner()) {
  return api.patch('/v1/workspace', { ...actor, json });
}

describe('GET /v1/workspace', () => {
  test('shows the workspace as bootstrapped', async () => {
    const r = await api.get('/v1/workspace', as_owner());
    assert.equal(r.status, 200, r.text);
    assert_workspace(r.json, 'GET');
    assert.deepEqual(r.json, {
      id: stack.workspace.workspace_id,
      name: stack.workspace.name,
      key_prefix: stack.workspace.prefix,
      key_policy: default_policy,
      scope_catalog: default_scope_catalog,
      on_leak: 'revoke',
    });
    const by_key = await api.get('/v1/workspace', { key: stack.admin_key });
    assert.equal(by_key.status, 200, by_key.text);
    assert.deepEqual(by_key.json, r.json);
  });

  test('bootstrap options reach the settings', async () => {
    const ws = await stack.bootstrap_workspace(undefined, {
      args: ['--allow-no-expiry', '--forbid-spaces-in-key-names', '--default-key-lifespan-days', '7', '--max-key-lifespan-days', '30'],
      scope_catalog: ['proposals:read', 'messages:write'],
      prefix: 'qg',
    });
    const r = await api.get('/v1/workspace', { key: ws.key });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      id: ws.workspace_id,
      name: ws.name,
      key_prefix: 'qg',
      key_policy: { default_lifespan_days: 7, max_lifespan_days: 30, allow_no_expiry: true, names_allow_spaces: false },
      scope_catalog: ['proposals:read', 'messages:write'],
      on_leak: 'revoke',
    });
  });

  test('a workspace bootstrapped without a catalog allows management scopes only', async () => {
    const ws = await stack.bootstrap_workspace(undefined, { scope_catalog: null });
    const r = await api.get('/v1/workspace', { key: ws.key });
    assert.deepEqual(r.json?.scope_catalog, [], r.text);
    assert_error(await api.create_key(ws.key, { name: 'x', environment: 'test', scopes: ['leads:read'] }), 400, 'INVALID_FIELD', 'no catalog');
    assert.equal((await api.create_key(ws.key, { name: 'x', environment: 'test', scopes: ['keys:read'] })).status, 201);
  });
});

describe('the catalog restricts key scopes', () => {
  test('only catalog and management scopes; anything else is 400 INVALID_FIELD naming the scope', async () => {
    const events = await command_event_count(stack.db);
    for (const scopes of [['calendar:read'], ['leads:read', 'leads:delete'], ['keys:admin'], ['Leads:read']]) {
      const r = await api.create_key(stack.admin_key, { name: 'outside', environment: 'test', scopes });
      assert_error(r, 400, 'INVALID_FIELD', JSON.stringify(scopes));
      assert.match(r.json.message, /scope/i, r.text);
    }
    assert.equal(await command_event_count(stack.db), events);
    const ok = await api.create_key(stack.admin_key, { name: 'inside', environment: 'test', scopes: [...default_scope_catalog, ...management_scopes] });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json.effective_scopes, [...default_scope_catalog, ...management_scopes]);
  });

  test('PATCH adds a catalog scope: keys may carry it at once', async () => {
    assert_error(await api.create_key(stack.admin_key, { name: 'early', environment: 'test', scopes: ['proposals:read'] }), 400, 'INVALID_FIELD', 'before');
    const catalog = [...default_scope_catalog, 'proposals:read'];
    const r = await patch_workspace({ scope_catalog: catalog });
    assert.equal(r.status, 200, r.text);
    assert_workspace(r.json, 'PATCH');
    assert.deepEqual(r.json.scope_catalog, catalog);
    assert.deepEqual((await api.get('/v1/workspace', as_owner())).json.scope_catalog, catalog);
    const k = await api.create_key(stack.admin_key, { name: 'later', environment: 'test', scopes: ['proposals:read'] });
    assert.equal(k.status, 201, k.text);
    assert.deepEqual((await api.verify(k.json.key)).json.scopes, ['proposals:read']);
  });

  test('a scope dropped from the catalog stops being effective at once, and comes back with it', async () => {
    const k = await api.create_key(stack.admin_key, { name: 'catalog-follow', environment: 'test', scopes: ['leads:read', 'reports:write', 'keys:read'] });
    assert.equal(k.status, 201, k.text);
    const current = (await api.get('/v1/workspace', as_owner())).json.scope_catalog;
    const without = current.filter((s) => s !== 'reports:write');
    assert.equal((await patch_workspace({ scope_catalog: without })).status, 200);
    // No waiting: the verification right after the PATCH sees it.
    const v = await api.verify(k.json.key);
    assert.deepEqual(v.json.scopes, ['leads:read', 'keys:read'], v.text);
    assert.deepEqual((await api.verify(k.json.key, { required_scopes: ['reports:write'] })).json, { valid: false, code: 'INSUFFICIENT_SCOPE' });
    const shown = await api.get(`/v1/keys/${k.json.id}`, as_owner());
    assert.deepEqual(shown.json.scopes, ['leads:read', 'reports:write', 'keys:read'], 'the key keeps its scopes');
    assert.deepEqual(shown.json.effective_scopes, ['leads:read', 'keys:read']);
    assert.equal((await patch_workspace({ scope_catalog: current })).status, 200);
    assert.deepEqual((await api.verify(k.json.key)).json.scopes, ['leads:read', 'reports:write', 'keys:read']);
  });

  test('invalid catalogs are 400 and change nothing', async () => {
    const events = await command_event_count(stack.db);
    const before_ws = (await api.get('/v1/workspace', as_owner())).json;
    const many = Array.from({ length: 65 }, (_, i) => `r${i}:read`);
    for (const scope_catalog of [
      ['keys:read'],
      ['leads:read', 'leads:read'],
      ['Bad Scope'],
      ['noaction'],
      [''],
      many,
      'leads:read',
      [1],
    ]) {
      const r = await patch_workspace({ scope_catalog });
      // 65 entries may meet the JSON parser's array cap first (INVALID_JSON): refused either way.
      const codes = scope_catalog === many ? ['INVALID_FIELD', 'INVALID_JSON'] : ['INVALID_FIELD'];
      assert_error(r, 400, codes, JSON.stringify(scope_catalog).slice(0, 60));
    }
    assert.equal(await command_event_count(stack.db), events);
    assert.deepEqual((await api.get('/v1/workspace', as_owner())).json, before_ws);
    // 64 is the most.
    const ok = await patch_workspace({ scope_catalog: many.slice(0, 64) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await patch_workspace({ scope_catalog: before_ws.scope_catalog })).status, 200);
  });
});

describe('the key policy', () => {
  test('PATCH key_policy: new keys follow it at once', async () => {
    const policy = { default_lifespan_days: 10, max_lifespan_days: 20, allow_no_expiry: false, names_allow_spaces: false };
    const r = await patch_workspace({ key_policy: policy });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.key_policy, policy);
    const k = await api.create_key(stack.admin_key, { name: 'short-lived', environment: 'test' });
    assert.equal(k.status, 201, k.text);
    const days = (Date.parse(k.json.expires_at) - Date.parse(k.json.created_at)) / 86_400_000;
    assert.ok(Math.abs(days - 10) < 0.01, `default lifespan 10 days, got ${days}`);
    assert_error(await api.create_key(stack.admin_key, { name: 'too long', environment: 'test' }), 400, 'INVALID_FIELD', 'spaces now forbidden');
    assert_error(await api.create_key(stack.admin_key, { name: 'toolong', environment: 'test', expires_in_days: 21 }), 400, 'INVALID_FIELD', 'over the max');
    assert.equal((await api.create_key(stack.admin_key, { name: 'max', environment: 'test', expires_in_days: 20 })).status, 201);
    assert_error(await api.create_key(stack.admin_key, { name: 'forever', environment: 'test', expires_at: null }), 400, 'INVALID_FIELD', 'no expiry not allowed');
    const back = await patch_workspace({ key_policy: default_policy });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.json.key_policy, default_policy);
  });

  test('invalid policies are 400 and change nothing; an empty PATCH changes nothing', async () => {
    const events = await command_event_count(stack.db);
    for (const key_policy of [
      { ...default_policy, default_lifespan_days: 400 },
      { ...default_policy, max_lifespan_days: 0 },
      { ...default_policy, max_lifespan_days: 3651 },
      { ...default_policy, default_lifespan_days: 0 },
      { ...default_policy, allow_no_expiry: 'yes' },
      { ...default_policy, default_lifespan_days: 1.5 },
      { ...default_policy, extra: 1 },
      'strict',
    ]) {
      const r = await patch_workspace({ key_policy });
      assert.equal(r.status, 400, `${JSON.stringify(key_policy)}: ${r.text}`);
      assert_error(r, 400, ['INVALID_FIELD', 'UNKNOWN_FIELD'], JSON.stringify(key_policy));
    }
    assert_error(await patch_workspace({ name: 'renamed' }), 400, ['UNKNOWN_FIELD', 'INVALID_FIELD'], 'name is not settable');
    assert_error(await patch_workspace({ key_prefix: 'zz' }), 400, ['UNKNOWN_FIELD', 'INVALID_FIELD'], 'prefix is not settable');
    assert.equal(await command_event_count(stack.db), events);
    const empty = await patch_workspace({});
    assert.equal(empty.status, 200, empty.text);
    assert_workspace(empty.json, 'empty PATCH');
    const same = await patch_workspace({ key_policy: default_policy, scope_catalog: empty.json.scope_catalog });
    assert.equal(same.status, 200, same.text);
    assert.equal(await command_event_count(stack.db), events, 'no change, no event');
  });
});

describe('on_leak', () => {
  test('PATCH on_leak: disable and back to revoke, one event each; bad values are 400 and change nothing', async () => {
    const events = await command_event_count(stack.db);
    for (const on_leak of ['delete', 'Revoke', '', true, null, ['revoke']]) {
      assert_error(await patch_workspace({ on_leak }), 400, 'INVALID_FIELD', JSON.stringify(on_leak));
    }
    assert.equal(await command_event_count(stack.db), events);
    const disable = await patch_workspace({ on_leak: 'disable' });
    assert.equal(disable.status, 200, disable.text);
    assert_workspace(disable.json, 'on_leak disable');
    assert.equal(disable.json.on_leak, 'disable');
    assert.equal((await api.get('/v1/workspace', as_owner())).json.on_leak, 'disable');
    assert.equal(await command_event_count(stack.db), events + 1);
    const rows = await stack.db.psql(
      `SELECT payload FROM events WHERE type = 'WorkspaceSettingsChanged' ORDER BY global_seq DESC LIMIT 1`,
    );
    assert.equal(JSON.parse(rows[0][0]).on_leak, 'disable');
    assert.equal((await patch_workspace({ on_leak: 'disable' })).status, 200);
    assert.equal(await command_event_count(stack.db), events + 1, 'the same value again: no event');
    const back = await patch_workspace({ on_leak: 'revoke' });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.on_leak, 'revoke');
    assert.equal(await command_event_count(stack.db), events + 2);
  });
});

describe('who may change the settings', () => {
  test('owners and admins (sessions, or keys with workspace:admin); not members, auditors, or keys without the scope', async () => {
    const admin = await add_user(api, stack.server, as_owner(), { role: 'admin' });
    const member = await add_user(api, stack.server, as_owner(), { role: 'member' });
    const auditor = await add_user(api, stack.server, as_owner(), { role: 'auditor' });
    const current = (await api.get('/v1/workspace', as_owner())).json;
    const body = { scope_catalog: current.scope_catalog };
    assert.equal((await patch_workspace(body, { session: admin.session })).status, 200);
    const admin_key = await create_owned_key(api, { session: admin.session }, { scopes: ['workspace:admin'] });
    assert.equal((await patch_workspace(body, { key: admin_key.key })).status, 200);
    const keys_only = await create_owned_key(api, { session: admin.session }, { scopes: ['keys:read', 'keys:write', 'users:write'] });
    assert_error(await patch_workspace(body, { key: keys_only.key }), 403, 'FORBIDDEN', 'admin key without workspace:admin');
    assert_error(await patch_workspace(body, { session: member.session }), 403, 'FORBIDDEN', 'member');
    assert_error(await patch_workspace(body, { session: auditor.session }), 403, 'FORBIDDEN', 'auditor');
    assert_error(await api.get('/v1/workspace', { session: member.session }), 403, 'FORBIDDEN', 'member reads');
    assert.equal((await api.get('/v1/workspace', { session: auditor.session })).status, 200, 'auditor reads');
    assert_error(await patch_workspace(body, {}), 401, 'UNAUTHORIZED', 'no credentials');
    assert_error(await api.get('/v1/workspace'), 401, 'UNAUTHORIZED', 'no credentials');
  });
});
