// The whole key lifecycle over HTTP against one server: create with every setting, read and
// list (filters, cursor paging, newest first), PATCH each field (a no-op appends nothing),
// enable/disable, rotate with a grace period, revoke, expiry (the background job records
// KeyExpired once and KeyExpiryApproaching 14 days ahead), GET /v1/keys/self, last used
// time/IP, the request log (none for off-the-record keys) and the failed-attempt counters.
//
// Two nodes share the database, both running the expiry job every 100 ms (and flushing usage
// every 100 ms), so that the tests can poll for effects with short deadlines and the job's
// events are seen to be recorded once although both nodes race to record them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assert_error,
  assert_key_object,
  checksum_ok,
  command_event_count,
  command_event_types,
  http_request,
  iso_timestamp,
  key_event_types,
  make_key,
  poll,
  random_suffix,
  rfc3339,
  start_stack,
  valid_answer,
} from './harness.mjs';

let stack;
let api;
let admin;

const fast_jobs = { KEYLEDGER_EXPIRY_INTERVAL_MS: '100', KEYLEDGER_USAGE_FLUSH_MS: '100' };

before(async () => {
  stack = await start_stack({ env: fast_jobs });
  api = stack.api;
  admin = stack.admin_key;
  // A second node on the same database runs the expiry job too: KeyExpired and
  // KeyExpiryApproaching must still be recorded once.
  await stack.start_extra_server(fast_jobs);
});

after(async () => {
  if (stack) await stack.close();
});

const day_ms = 24 * 3600 * 1000;
const ms = (t) => Date.parse(t);

/// POST /v1/keys with the admin key, asserting 201; resolves the created key object.
async function create(fields) {
  const r = await api.create_key(admin, fields);
  assert.equal(r.status, 201, `create ${JSON.stringify(fields)}: ${r.text}`);
  return r.json;
}

/// The key object without its secret, as GET answers it.
function without_secret(k) {
  const { key, ...rest } = k;
  return rest;
}

/// GET /v1/check from a chosen source address.
function check_from(local_address, key, headers = {}) {
  return http_request(stack.server.port, {
    path: '/v1/check',
    headers: key === undefined ? headers : { ...headers, authorization: `Bearer ${key}` },
    local_address,
  });
}

/// The requests a page of the request log stands for (each entry counts some); 0 for no page.
function sum_counts(entries) {
  return (entries ?? []).reduce((n, e) => n + e.count, 0);
}

function assert_near(actual_ms, expected_ms, tolerance_ms, what) {
  assert.ok(
    Math.abs(actual_ms - expected_ms) <= tolerance_ms,
    `${what}: ${new Date(actual_ms).toISOString()} is not within ${tolerance_ms} ms of ${new Date(expected_ms).toISOString()}`,
  );
}

// ---- create ---------------------------------------------------------------------------------

describe('create', () => {
  test('with every setting: the answer, Location, no-store, and GET agree', async () => {
    const fields = {
      name: 'Billing export',
      environment: 'live',
      scopes: ['leads:read', 'leads:write'],
      expires_in_days: 30,
      allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7', '2001:DB8:0:0:0:0:0:1'],
      postback_url: 'https://hooks.example.com/keyledger?tenant=7',
      off_the_record: true,
      enabled: false,
      rate_limit: { limit: 100, window_seconds: 60 },
    };
    const t0 = Date.now();
    const r = await api.create_key(admin, fields);
    assert.equal(r.status, 201, r.text);
    assert_key_object(r.json, { with_secret: true, what: 'create' });
    const k = r.json;
    assert.equal(r.headers.get('location'), `/v1/keys/${k.id}`);
    assert.match(r.headers.get('cache-control') ?? '', /no-store/);
    assert.ok(checksum_ok(k.key));
    assert.ok(k.key.startsWith('kl_live_'), k.key);
    assert.equal(k.start, k.key.slice(0, 'kl_live_'.length + 4));
    assert.deepEqual(
      { ...k, id: undefined, key: undefined, start: undefined, created_at: undefined, expires_at: undefined },
      {
        id: undefined,
        key: undefined,
        start: undefined,
        created_at: undefined,
        expires_at: undefined,
        name: 'Billing export',
        environment: 'live',
        scopes: ['leads:read', 'leads:write'],
        workspace_id: stack.workspace.workspace_id,
        enabled: false,
        status: 'disabled',
        updated_at: null,
        revoked_at: null,
        allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7/32', '2001:db8::1/128'],
        postback_url: 'https://hooks.example.com/keyledger?tenant=7',
        off_the_record: true,
        rate_limit: { limit: 100, window_seconds: 60 },
        rotated_from: null,
        rotated_to: null,
        last_used_at: null,
        last_used_ip: null,
        owner_user_id: stack.workspace.owner_user_id,
        disabled_reason: 'disabled',
        effective_scopes: ['leads:read', 'leads:write'],
      },
    );
    assert_near(ms(k.created_at), t0, 5_000, 'created_at');
    assert_near(ms(k.expires_at), ms(k.created_at) + 30 * day_ms, 1_000, 'expires_at = created_at + 30 days');

    const g = await api.get_key(admin, k.id);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json, without_secret(k));
    assert.equal(g.headers.get('cache-control')?.includes('no-store') ?? false, false, 'GET carries no secret');

    // Disabled from the start.
    assert.deepEqual((await api.verify(k.key, { ip: '10.1.2.3' })).json, { valid: false, code: 'DISABLED' });

    const types = await command_event_types(stack.db, k.id);
    assert.deepEqual(types, ['KeyCreated']);
  });

  test('defaults: no scopes, 90 days, anywhere, no postback, logged, enabled, unlimited', async () => {
    const k = await create({ name: 'defaults', environment: 'test' });
    assert_key_object(k, { with_secret: true });
    assert.deepEqual(k.scopes, []);
    assert_near(ms(k.expires_at), ms(k.created_at) + 90 * day_ms, 1_000, 'default lifespan');
    assert.deepEqual(k.allowed_cidrs, []);
    assert.equal(k.postback_url, null);
    assert.equal(k.off_the_record, false);
    assert.equal(k.enabled, true);
    assert.equal(k.status, 'active');
    assert.equal(k.rate_limit, null);
    const v = await api.verify(k.key);
    assert.deepEqual(v.json, valid_answer(k, stack.workspace.workspace_id));
  });

  test('an absolute expires_at is kept to the microsecond; names are trimmed', async () => {
    const at = rfc3339(Date.now() + 10 * day_ms);
    const k = await create({ name: '  ops report  ', environment: 'test', expires_at: at });
    assert.equal(k.expires_at, at);
    assert.equal(k.name, 'ops report');
  });

  test('postback URLs: https anywhere, http only to loopback, empty or null means none', async () => {
    const ok = [
      ['https://example.com/hook', 'https://example.com/hook'],
      ['http://127.0.0.1:9000/hook', 'http://127.0.0.1:9000/hook'],
      ['http://localhost/hook', 'http://localhost/hook'],
      ['http://[::1]:8080/hook', 'http://[::1]:8080/hook'],
      ['', null],
      [null, null],
    ];
    for (const [given, stored] of ok) {
      const k = await create({ name: 'postback-ok', environment: 'test', postback_url: given });
      assert.equal(k.postback_url, stored, JSON.stringify(given));
    }
  });

  test('invalid settings are 400 INVALID_FIELD and append nothing', async () => {
    const before_count = await command_event_count(stack.db);
    const base = { name: 'bad-setting', environment: 'test' };
    const cases = [
      { expires_at: rfc3339(Date.now() - 60_000) },
      { expires_at: null },  // this workspace does not allow keys that never expire
      { expires_at: rfc3339(Date.now() + 400 * day_ms) },
      { expires_at: 'tomorrow' },
      { expires_at: '2030-01-01T00:00:00+02:00' },
      { expires_in_days: 0 },
      { expires_in_days: 366 },
      { expires_in_days: -1 },
      { expires_in_days: 1.5 },
      { expires_in_days: '5' },
      { expires_in_days: 5, expires_at: rfc3339(Date.now() + 5 * day_ms) },
      { allowed_cidrs: ['10.0.0.1/8'] },
      { allowed_cidrs: ['10.0.0.0/33'] },
      { allowed_cidrs: ['not-an-ip'] },
      { allowed_cidrs: ['2001:db8::1/129'] },
      { allowed_cidrs: ['fe80::1%eth0'] },
      { allowed_cidrs: '10.0.0.0/8' },
      { allowed_cidrs: [10] },
      { allowed_cidrs: Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`) },
      { postback_url: 'http://example.com/hook' },
      { postback_url: 'ftp://example.com/hook' },
      { postback_url: 'https://user:pass@example.com/hook' },
      { postback_url: 'not a url' },
      { postback_url: 'https://example.com/hook#frag' },
      { postback_url: `https://example.com/${'a'.repeat(2100)}` },
      { postback_url: 7 },
      { off_the_record: 'yes' },
      { enabled: 1 },
      { rate_limit: { limit: 0, window_seconds: 60 } },
      { rate_limit: { limit: 1_000_001, window_seconds: 60 } },
      { rate_limit: { limit: 10, window_seconds: 0 } },
      { rate_limit: { limit: 10, window_seconds: 86_401 } },
      { rate_limit: { limit: 10 } },
      { rate_limit: { limit: 10, window_seconds: 60, burst: 3 } },
      { rate_limit: 10 },
      { name: make_key('kl', 'live') },
      { name: 'x'.repeat(65) },
      { name: '   ' },
      { name: 'zero\u200bwidth' },
    ];
    for (const c of cases) {
      const r = await api.create_key(admin, { ...base, ...c });
      // A nested unknown member may be called an unknown field; a missing one a missing field.
      const codes = ['INVALID_FIELD'];
      if (c.rate_limit?.burst) codes.push('UNKNOWN_FIELD');
      if (c.rate_limit && c.rate_limit.window_seconds === undefined && typeof c.rate_limit === 'object') {
        codes.push('MISSING_FIELD');
      }
      assert_error(r, 400, codes, JSON.stringify(c).slice(0, 80));
    }
    assert.equal(await command_event_count(stack.db), before_count, 'refused creates appended nothing');
  });
});

describe('workspace key policy', () => {
  let ws;
  before(async () => {
    ws = await stack.bootstrap_workspace(undefined, {
      args: [
        '--allow-no-expiry',
        '--forbid-spaces-in-key-names',
        '--default-key-lifespan-days', '10',
        '--max-key-lifespan-days', '20',
      ],
    });
  });

  test('its default and maximum lifespans apply', async () => {
    const d = await api.create_key(ws.key, { name: 'policy-default', environment: 'test' });
    assert.equal(d.status, 201, d.text);
    assert_near(ms(d.json.expires_at), ms(d.json.created_at) + 10 * day_ms, 1_000, 'default 10 days');
    const max = await api.create_key(ws.key, { name: 'policy-max', environment: 'test', expires_in_days: 20 });
    assert.equal(max.status, 201, max.text);
    assert_error(
      await api.create_key(ws.key, { name: 'policy-over', environment: 'test', expires_in_days: 21 }),
      400,
      'INVALID_FIELD',
      'beyond the maximum',
    );
    assert_error(
      await api.create_key(ws.key, { name: 'policy-over', environment: 'test', expires_at: rfc3339(Date.now() + 21 * day_ms) }),
      400,
      'INVALID_FIELD',
      'expires_at beyond the maximum',
    );
  });

  test('keys that never expire, where allowed; their rotation never expires either', async () => {
    const r = await api.create_key(ws.key, { name: 'forever', environment: 'live', expires_at: null });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.expires_at, null);
    const v = await api.verify(r.json.key);
    assert.deepEqual(v.json, valid_answer(r.json, ws.workspace_id));
    const rot = await api.rotate_key(ws.key, r.json.id, { grace_period_seconds: 60 });
    assert.equal(rot.status, 201, rot.text);
    assert.equal(rot.json.expires_at, null);
    const old = await api.get_key(ws.key, r.json.id);
    assert.match(old.json.expires_at, iso_timestamp, 'the old key now ends with its grace period');
  });

  test('names without spaces only', async () => {
    assert_error(
      await api.create_key(ws.key, { name: 'has space', environment: 'test' }),
      400,
      'INVALID_FIELD',
      'space in name',
    );
    const ok = await api.create_key(ws.key, { name: 'no_space-here', environment: 'test' });
    assert.equal(ok.status, 201, ok.text);
    assert_error(await api.patch_key(ws.key, ok.json.id, { name: 'now with space' }), 400, 'INVALID_FIELD', 'PATCH name');
  });
});

// ---- read and list ----------------------------------------------------------------------------

describe('GET /v1/keys', () => {
  const marker = `list-${random_suffix(8)}`;
  let made;  // oldest first

  before(async () => {
    made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await create({
          name: `${marker}-${i}`,
          environment: i % 2 === 0 ? 'live' : 'test',
          scopes: ['leads:read'],
          enabled: i !== 4,
        }),
      );
    }
    assert.equal((await api.revoke_key(admin, made[3].id)).status, 204);
  });

  const ids = (r) => r.json.data.map((k) => k.id);

  test('name filter (case-insensitive substring), newest first, full key objects', async () => {
    const r = await api.list_keys(admin, { name: marker.toUpperCase() });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['data', 'next_cursor']);
    assert.deepEqual(ids(r), made.map((k) => k.id).reverse());
    assert.equal(r.json.next_cursor, null);
    for (const item of r.json.data) assert_key_object(item, { what: 'list item' });
    const by_id = Object.fromEntries(r.json.data.map((k) => [k.id, k]));
    for (const k of made) assert.equal(by_id[k.id].name, k.name);
    assert.equal(by_id[made[3].id].status, 'revoked');
    assert.equal(by_id[made[4].id].status, 'disabled');
    assert.ok(!r.text.includes(made[0].key), 'a list never holds a secret');
  });

  test('environment and status filters', async () => {
    const live = await api.list_keys(admin, { name: marker, environment: 'live' });
    assert.equal(live.status, 200, live.text);
    assert.deepEqual(ids(live), [made[4].id, made[2].id, made[0].id]);
    const test_env = await api.list_keys(admin, { name: marker, environment: 'test' });
    assert.deepEqual(ids(test_env), [made[3].id, made[1].id]);
    const cases = {
      active: [made[2].id, made[1].id, made[0].id],
      revoked: [made[3].id],
      disabled: [made[4].id],
      expired: [],
    };
    for (const [status, want] of Object.entries(cases)) {
      const r = await api.list_keys(admin, { name: marker, status });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(ids(r), want, `status=${status}`);
    }
    const both = await api.list_keys(admin, { name: marker, status: 'active', environment: 'live' });
    assert.deepEqual(ids(both), [made[2].id, made[0].id]);
  });

  test('limit and cursor page through newest first without gaps or repeats', async () => {
    const seen = [];
    let cursor;
    let pages = 0;
    for (;;) {
      const r = await api.list_keys(admin, { name: marker, limit: 2, cursor });
      assert.equal(r.status, 200, r.text);
      pages++;
      assert.ok(r.json.data.length <= 2, r.text);
      seen.push(...ids(r));
      cursor = r.json.next_cursor;
      if (cursor === null) break;
      assert.equal(typeof cursor, 'string');
      assert.ok(pages < 10, 'paging does not end');
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, made.map((k) => k.id).reverse());
  });

  test('a cursor survives keys created after it was issued', async () => {
    const first = await api.list_keys(admin, { name: marker, limit: 2 });
    const newer = await create({ name: `${marker}-late`, environment: 'test' });
    const second = await api.list_keys(admin, { name: marker, limit: 2, cursor: first.json.next_cursor });
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(ids(second), [made[2].id, made[1].id]);
    assert.ok(!ids(second).includes(newer.id));
    assert.equal((await api.revoke_key(admin, newer.id)).status, 204);
  });

  test('bad query values are 400 INVALID_FIELD, unknown parameters 400 UNKNOWN_FIELD', async () => {
    for (const q of [
      { limit: 0 },
      { limit: 101 },
      { limit: 'ten' },
      { limit: -1 },
      { status: 'gone' },
      { status: 'ACTIVE' },
      { environment: 'prod' },
      { cursor: 'not-a-cursor' },
    ]) {
      assert_error(await api.list_keys(admin, q), 400, 'INVALID_FIELD', JSON.stringify(q));
    }
    assert_error(await api.list_keys(admin, { sort: 'name' }), 400, 'UNKNOWN_FIELD', 'sort=name');
  });

  test('the default limit is 20 and the list is the caller workspace only', async () => {
    const r = await api.list_keys(admin);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.data.length <= 20 && r.json.data.length > 0, `${r.json.data.length} items`);
    for (const k of r.json.data) assert.equal(k.workspace_id, stack.workspace.workspace_id);
    const other = await stack.bootstrap_workspace();
    const theirs = await api.list_keys(other.key, { name: marker });
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual(theirs.json, { data: [], next_cursor: null });
  });
});

describe('GET /v1/keys/self', () => {
  test('answers the calling key, needing no keys:* scope', async () => {
    const k = await create({ name: 'whoami', environment: 'live', scopes: ['leads:read'] });
    const r = await api.get('/v1/keys/self', { key: k.key });
    assert.equal(r.status, 200, r.text);
    assert_key_object(r.json, { what: 'self' });
    assert.equal(r.json.id, k.id);
    assert.deepEqual(r.json, { ...without_secret(k), last_used_at: r.json.last_used_at, last_used_ip: r.json.last_used_ip });
    const bare = await api.request('GET', '/v1/keys/self', { key: k.key, bearer: false });
    assert.equal(bare.status, 200, bare.text);
    assert.equal(bare.json.id, k.id);
    const mine = await api.get('/v1/keys/self', { key: admin });
    assert.equal(mine.json.id, stack.workspace.key_id);
  });

  test('needs a valid key', async () => {
    assert_error(await api.get('/v1/keys/self'), 401, 'UNAUTHORIZED', 'no key');
    assert_error(await api.get('/v1/keys/self', { key: make_key() }), 401, 'UNAUTHORIZED', 'unknown key');
    const k = await create({ name: 'whoami-revoked', environment: 'test' });
    assert.equal((await api.revoke_key(admin, k.id)).status, 204);
    assert_error(await api.get('/v1/keys/self', { key: k.key }), 401, 'UNAUTHORIZED', 'revoked key');
  });
});

// ---- PATCH ----------------------------------------------------------------------------------

describe('PATCH /v1/keys/{id}', () => {
  test('each field, one at a time: the answer, GET and the event appended', async () => {
    const k = await create({ name: 'patch-me', environment: 'live', scopes: ['leads:read'] });
    const steps = [
      [{ name: '  patched name ' }, { name: 'patched name' }, ['KeyUpdated']],
      [{ scopes: ['leads:read', 'reports:read'] }, { scopes: ['leads:read', 'reports:read'], effective_scopes: ['leads:read', 'reports:read'] }, ['KeyUpdated']],
      [{ allowed_cidrs: ['10.0.0.0/8', '::1'] }, { allowed_cidrs: ['10.0.0.0/8', '::1/128'] }, ['KeyUpdated']],
      [{ postback_url: 'https://example.com/p' }, { postback_url: 'https://example.com/p' }, ['KeyUpdated']],
      [{ postback_url: null }, { postback_url: null }, ['KeyUpdated']],
      [{ off_the_record: true }, { off_the_record: true }, ['KeyUpdated']],
      [{ rate_limit: { limit: 5, window_seconds: 10 } }, { rate_limit: { limit: 5, window_seconds: 10 } }, ['KeyUpdated']],
      [{ rate_limit: null }, { rate_limit: null }, ['KeyUpdated']],
      [{ enabled: false }, { enabled: false, status: 'disabled', disabled_reason: 'disabled' }, ['KeyDisabled']],
      [{ enabled: true }, { enabled: true, status: 'active', disabled_reason: null }, ['KeyEnabled']],
      [{ allowed_cidrs: [] }, { allowed_cidrs: [] }, ['KeyUpdated']],
    ];
    let expected = without_secret(k);
    let types = ['KeyCreated'];
    for (const [patch, change, appended] of steps) {
      const r = await api.patch_key(admin, k.id, patch);
      assert.equal(r.status, 200, `${JSON.stringify(patch)}: ${r.text}`);
      assert_key_object(r.json, { what: JSON.stringify(patch) });
      assert.match(r.json.updated_at, iso_timestamp);
      expected = { ...expected, ...change, updated_at: r.json.updated_at };
      assert.deepEqual(r.json, expected, JSON.stringify(patch));
      assert.deepEqual((await api.get_key(admin, k.id)).json, expected, `GET after ${JSON.stringify(patch)}`);
      types = [...types, ...appended];
      assert.deepEqual(await command_event_types(stack.db, k.id), types, JSON.stringify(patch));
    }
  });

  test('several fields at once append one KeyUpdated plus KeyDisabled', async () => {
    const k = await create({ name: 'patch-many', environment: 'test' });
    const r = await api.patch_key(admin, k.id, { name: 'patch-many-2', scopes: ['a:b'], enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, 'patch-many-2');
    assert.deepEqual(r.json.scopes, ['a:b']);
    assert.equal(r.json.status, 'disabled');
    assert.deepEqual(await command_event_types(stack.db, k.id), ['KeyCreated', 'KeyUpdated', 'KeyDisabled']);
  });

  test('a PATCH that changes nothing answers 200 and appends nothing', async () => {
    const k = await create({
      name: 'no-op',
      environment: 'live',
      scopes: ['leads:read'],
      allowed_cidrs: ['10.0.0.0/8'],
      postback_url: 'https://example.com/x',
      rate_limit: { limit: 3, window_seconds: 5 },
    });
    const before_total = await command_event_count(stack.db);
    const same = [
      {},
      { name: 'no-op' },
      { name: ' no-op ' },
      { scopes: ['leads:read'] },
      { allowed_cidrs: ['10.0.0.0/8'] },
      { postback_url: 'https://example.com/x' },
      { off_the_record: false },
      { enabled: true },
      { rate_limit: { limit: 3, window_seconds: 5 } },
      {
        name: 'no-op',
        scopes: ['leads:read'],
        allowed_cidrs: ['10.0.0.0/8'],
        postback_url: 'https://example.com/x',
        off_the_record: false,
        enabled: true,
        rate_limit: { limit: 3, window_seconds: 5 },
      },
    ];
    for (const patch of same) {
      const r = await api.patch_key(admin, k.id, patch);
      assert.equal(r.status, 200, `${JSON.stringify(patch)}: ${r.text}`);
      assert.deepEqual(r.json, without_secret(k), JSON.stringify(patch));
    }
    assert.deepEqual(await command_event_types(stack.db, k.id), ['KeyCreated']);
    assert.equal(await command_event_count(stack.db), before_total, 'no event anywhere');
  });

  test('enable/disable takes effect on verification at once', async () => {
    const k = await create({ name: 'toggle', environment: 'live', scopes: ['leads:read'] });
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
    assert.equal((await api.patch_key(admin, k.id, { enabled: false })).status, 200);
    assert.deepEqual((await api.verify(k.key)).json, { valid: false, code: 'DISABLED' });
    assert_error(await api.get('/v1/keys/self', { key: k.key }), 401, 'UNAUTHORIZED', 'disabled key');
    assert.equal((await api.patch_key(admin, k.id, { enabled: true })).status, 200);
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
  });

  test('scopes and CIDRs changed by PATCH are what verification enforces', async () => {
    const k = await create({ name: 'narrow', environment: 'live', scopes: ['leads:read'] });
    assert.equal((await api.verify(k.key, { required_scopes: ['leads:write'] })).json.code, 'INSUFFICIENT_SCOPE');
    await api.patch_key(admin, k.id, { scopes: ['leads:write'], allowed_cidrs: ['192.0.2.0/24'] });
    assert.equal((await api.verify(k.key, { required_scopes: ['leads:write'], ip: '192.0.2.9' })).json.code, 'VALID');
    assert.equal((await api.verify(k.key, { required_scopes: ['leads:read'], ip: '192.0.2.9' })).json.code, 'INSUFFICIENT_SCOPE');
    assert.equal((await api.verify(k.key, { ip: '198.51.100.1' })).json.code, 'FORBIDDEN_IP');
  });

  test('refusals: unknown 404, revoked 409 KEY_REVOKED, expired 409 KEY_EXPIRED, bad values 400', async () => {
    assert_error(await api.patch_key(admin, 'key_0000000000000000000000', { name: 'x' }), 404, 'NOT_FOUND', 'unknown');
    const other = await stack.bootstrap_workspace();
    const theirs = await api.create_key(other.key, { name: 'theirs', environment: 'test' });
    assert_error(await api.patch_key(admin, theirs.json.id, { name: 'mine now' }), 404, 'NOT_FOUND', 'other workspace');

    const revoked = await create({ name: 'patch-revoked', environment: 'test' });
    assert.equal((await api.revoke_key(admin, revoked.id)).status, 204);
    assert_error(await api.patch_key(admin, revoked.id, { name: 'again' }), 409, 'KEY_REVOKED', 'revoked');
    assert_error(await api.patch_key(admin, revoked.id, { enabled: false }), 409, 'KEY_REVOKED', 'revoked, disable');

    const expired = await create({ name: 'patch-expired', environment: 'test' });
    const rot = await api.rotate_key(admin, expired.id, { grace_period_seconds: 0 });
    assert.equal(rot.status, 201, rot.text);
    assert_error(await api.patch_key(admin, expired.id, { name: 'again' }), 409, 'KEY_EXPIRED', 'expired');

    const k = await create({ name: 'patch-bad', environment: 'test' });
    const bad = [
      [{ name: '' }, 'INVALID_FIELD'],
      [{ name: 5 }, 'INVALID_FIELD'],
      [{ scopes: ['Bad Scope'] }, 'INVALID_FIELD'],
      [{ allowed_cidrs: ['10.0.0.1/8'] }, 'INVALID_FIELD'],
      [{ postback_url: 'http://example.com' }, 'INVALID_FIELD'],
      [{ off_the_record: null }, 'INVALID_FIELD'],
      [{ enabled: 'no' }, 'INVALID_FIELD'],
      [{ rate_limit: { limit: 0, window_seconds: 1 } }, 'INVALID_FIELD'],
      [{ colour: 'red' }, 'UNKNOWN_FIELD'],
      [{ environment: 'live' }, ['UNKNOWN_FIELD', 'INVALID_FIELD']],
      [{ expires_at: rfc3339(Date.now() + day_ms) }, ['UNKNOWN_FIELD', 'INVALID_FIELD']],
    ];
    for (const [patch, code] of bad) {
      assert_error(await api.patch_key(admin, k.id, patch), 400, code, JSON.stringify(patch));
    }
    assert_error(
      await api.patch(`/v1/keys/${k.id}`, { key: admin, body: '[]', headers: { 'content-type': 'application/json' } }),
      400,
      ['INVALID_JSON', 'BAD_REQUEST'],
      'array body',
    );
    assert.deepEqual(await command_event_types(stack.db, k.id), ['KeyCreated'], 'refused PATCHes appended nothing');
  });
});

// ---- rotate -----------------------------------------------------------------------------------

describe('POST /v1/keys/{id}/rotate', () => {
  test('a new key with the same settings, linked both ways; the old works until grace end', async () => {
    const old = await create({
      name: 'rotate-me',
      environment: 'live',
      scopes: ['leads:read'],
      allowed_cidrs: ['10.0.0.0/8'],
      postback_url: 'https://example.com/rot',
      off_the_record: false,
      rate_limit: { limit: 1000, window_seconds: 60 },
    });
    const t0 = Date.now();
    const r = await api.rotate_key(admin, old.id, { grace_period_seconds: 2 });
    assert.equal(r.status, 201, r.text);
    assert_key_object(r.json, { with_secret: true, what: 'rotate' });
    const fresh = r.json;
    assert.equal(r.headers.get('location'), `/v1/keys/${fresh.id}`);
    assert.match(r.headers.get('cache-control') ?? '', /no-store/);
    assert.notEqual(fresh.id, old.id);
    assert.notEqual(fresh.key, old.key);
    assert.ok(checksum_ok(fresh.key) && fresh.key.startsWith('kl_live_'));
    for (const f of ['name', 'environment', 'scopes', 'workspace_id', 'allowed_cidrs', 'postback_url', 'off_the_record', 'enabled', 'rate_limit']) {
      assert.deepEqual(fresh[f], old[f], `the new key keeps ${f}`);
    }
    assert.equal(fresh.rotated_from, old.id);
    assert.equal(fresh.rotated_to, null);
    assert.equal(fresh.status, 'active');

    const g = await api.get_key(admin, old.id);
    assert.equal(g.json.rotated_to, fresh.id);
    assert.equal(g.json.rotated_from, null);
    assert_near(ms(g.json.expires_at), t0 + 2_000, 1_500, 'old expires_at = now + grace');
    assert.deepEqual((await api.get_key(admin, fresh.id)).json, without_secret(fresh));

    // Both work during the grace period (the old one unless this machine is very slow).
    const during = await api.verify(old.key, { ip: '10.0.0.1' });
    if (Date.now() < ms(g.json.expires_at)) assert.equal(during.json.code, 'VALID', during.text);
    assert.equal((await api.verify(fresh.key, { ip: '10.0.0.1' })).json.code, 'VALID');

    // Then the old one is EXPIRED, never before its new expires_at.
    const expired = await poll(
      () => api.verify(old.key, { ip: '10.0.0.1' }),
      (v) => v.json?.code !== 'VALID',
      { deadline_ms: 10_000, interval_ms: 50, what: 'the rotated key to stop' },
    );
    assert.ok(Date.now() >= ms(g.json.expires_at) - 50, 'refused before its grace period ended');
    assert.deepEqual(expired.json, { valid: false, code: 'EXPIRED' });
    assert.equal((await api.verify(fresh.key, { ip: '10.0.0.1' })).json.code, 'VALID');
    assert.equal((await api.get_key(admin, old.id)).json.status, 'expired');

    assert.deepEqual((await command_event_types(stack.db, old.id)).slice(0, 2), ['KeyCreated', 'KeyRotated']);
    assert.deepEqual(await command_event_types(stack.db, fresh.id), ['KeyCreated']);
  });

  test('grace 0: the old key is EXPIRED at once', async () => {
    const old = await create({ name: 'rotate-now', environment: 'test', scopes: ['leads:read'] });
    const r = await api.rotate_key(admin, old.id, { grace_period_seconds: 0 });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await api.verify(old.key)).json, { valid: false, code: 'EXPIRED' });
    assert.deepEqual((await api.verify(r.json.key)).json, valid_answer(r.json, stack.workspace.workspace_id));
    const g = await api.get_key(admin, old.id);
    assert.equal(g.json.status, 'expired');
    assert.equal(g.json.rotated_to, r.json.id);
  });

  test('default grace is 24 h (empty body), and only the newest key of a chain rotates', async () => {
    const first = await create({ name: 'chain', environment: 'test' });
    const t0 = Date.now();
    const r1 = await api.rotate_key(admin, first.id);
    assert.equal(r1.status, 201, r1.text);
    const g = await api.get_key(admin, first.id);
    assert_near(ms(g.json.expires_at), t0 + day_ms, 5_000, 'default grace 24 h');
    assert.equal((await api.verify(first.key)).json.code, 'VALID', 'still in its grace period');

    assert_error(await api.rotate_key(admin, first.id, { grace_period_seconds: 0 }), 409, 'KEY_ALREADY_ROTATED', 'rotate the old one again');
    const r2 = await api.rotate_key(admin, r1.json.id, { grace_period_seconds: 60 });
    assert.equal(r2.status, 201, r2.text);
    assert.equal(r2.json.rotated_from, r1.json.id);
    assert_error(await api.rotate_key(admin, r1.json.id, {}), 409, 'KEY_ALREADY_ROTATED', 'the middle one');
    assert.deepEqual(await command_event_types(stack.db, first.id), ['KeyCreated', 'KeyRotated']);
  });

  test('a rotation never extends the old key beyond its own expiry', async () => {
    const at = rfc3339(Date.now() + 60_000);
    const old = await create({ name: 'short-lived', environment: 'test', expires_at: at });
    const r = await api.rotate_key(admin, old.id, { grace_period_seconds: 3600 });
    assert.equal(r.status, 201, r.text);
    assert.equal((await api.get_key(admin, old.id)).json.expires_at, at);
  });

  test('refusals: revoked 409, expired 409, unknown 404, bad grace 400', async () => {
    const revoked = await create({ name: 'rot-revoked', environment: 'test' });
    await api.revoke_key(admin, revoked.id);
    assert_error(await api.rotate_key(admin, revoked.id, {}), 409, 'KEY_REVOKED', 'revoked');
    const short = await create({ name: 'rot-expired', environment: 'test' });
    const r = await api.rotate_key(admin, short.id, { grace_period_seconds: 0 });
    assert.equal(r.status, 201, r.text);
    // The old key is both rotated and expired: either refusal is right.
    assert_error(await api.rotate_key(admin, short.id, {}), 409, ['KEY_EXPIRED', 'KEY_ALREADY_ROTATED'], 'expired');
    assert_error(await api.rotate_key(admin, 'key_0000000000000000000000', {}), 404, 'NOT_FOUND', 'unknown');
    const k = await create({ name: 'rot-bad', environment: 'test' });
    for (const body of [
      { grace_period_seconds: -1 },
      { grace_period_seconds: 2_592_001 },
      { grace_period_seconds: 1.5 },
      { grace_period_seconds: '60' },
    ]) {
      assert_error(await api.rotate_key(admin, k.id, body), 400, 'INVALID_FIELD', JSON.stringify(body));
    }
    assert_error(await api.rotate_key(admin, k.id, { grace: 1 }), 400, 'UNKNOWN_FIELD', 'unknown member');
    const max = await api.rotate_key(admin, k.id, { grace_period_seconds: 2_592_000 });
    assert.equal(max.status, 201, `30 days is allowed: ${max.text}`);
  });

  test('a caller cannot rotate or widen a key beyond its own keys:* scopes (403 FORBIDDEN)', async () => {
    const writer = await create({ name: 'writer-only', environment: 'live', scopes: ['keys:write'] });
    const reader_key = await create({ name: 'holds-keys-read', environment: 'live', scopes: ['keys:read'] });
    assert_error(await api.rotate_key(writer.key, reader_key.id, {}), 403, 'FORBIDDEN', 'rotate a keys:read key');
    const plain = await create({ name: 'plain-scopes', environment: 'live', scopes: ['leads:read'] });
    assert_error(await api.patch_key(writer.key, plain.id, { scopes: ['keys:read'] }), 403, 'FORBIDDEN', 'PATCH in keys:read');
    const ok = await api.rotate_key(writer.key, plain.id, {});
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(await command_event_types(stack.db, reader_key.id), ['KeyCreated']);
  });
});

// ---- revoke -----------------------------------------------------------------------------------

describe('DELETE /v1/keys/{id}', () => {
  test('revokes that key only, at once', async () => {
    const a = await create({ name: 'revoke-a', environment: 'live' });
    const b = await create({ name: 'revoke-b', environment: 'live' });
    const d = await api.revoke_key(admin, a.id);
    assert.equal(d.status, 204, d.text);
    assert.deepEqual((await api.verify(a.key)).json, { valid: false, code: 'REVOKED' });
    assert.equal((await api.verify(b.key)).json.code, 'VALID');
    const g = await api.get_key(admin, a.id);
    assert.equal(g.json.status, 'revoked');
    assert.match(g.json.revoked_at, iso_timestamp);
    assert.deepEqual(await command_event_types(stack.db, a.id), ['KeyCreated', 'KeyRevoked']);
  });

  test('revoking the old key of a rotation leaves the new one working', async () => {
    const old = await create({ name: 'revoke-rotated', environment: 'test' });
    const r = await api.rotate_key(admin, old.id, { grace_period_seconds: 3600 });
    assert.equal((await api.revoke_key(admin, old.id)).status, 204);
    assert.equal((await api.verify(old.key)).json.code, 'REVOKED');
    assert.equal((await api.verify(r.json.key)).json.code, 'VALID');
  });
});

// ---- expiry -----------------------------------------------------------------------------------

describe('expiry', () => {
  test('a key is refused from expires_at on; the jobs of two nodes record KeyExpired exactly once', async () => {
    const now = Date.now();
    const a = await create({ name: 'expires-soon', environment: 'test', expires_at: rfc3339(now + 2_000) });
    const b = await create({ name: 'expires-later', environment: 'test', expires_at: rfc3339(now + 3_500) });
    const first = await api.verify(a.key);
    if (Date.now() < ms(a.expires_at)) assert.equal(first.json.code, 'VALID', first.text);

    const refused = await poll(() => api.verify(a.key), (v) => v.json?.code !== 'VALID', {
      deadline_ms: 10_000,
      interval_ms: 25,
      what: 'the key to expire',
    });
    assert.ok(Date.now() >= ms(a.expires_at) - 50, 'refused before expires_at');
    assert.deepEqual(refused.json, { valid: false, code: 'EXPIRED' });
    assert.equal((await api.get_key(admin, a.id)).json.status, 'expired');

    await poll(() => key_event_types(stack.db, a.id), (t) => t.includes('KeyExpired'), {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'KeyExpired for the first key',
    });
    // The job keeps running (every 100 ms): by the time it recorded the later key's expiry,
    // it had seen the first one again many times.
    await poll(() => key_event_types(stack.db, b.id), (t) => t.includes('KeyExpired'), {
      deadline_ms: 10_000,
      interval_ms: 50,
      what: 'KeyExpired for the second key',
    });
    const types = await key_event_types(stack.db, a.id);
    assert.equal(types.filter((t) => t === 'KeyExpired').length, 1, types.join(','));
    assert.ok(types.filter((t) => t === 'KeyExpiryApproaching').length <= 1, types.join(','));
    const rows = await stack.db.psql(
      `SELECT payload FROM events WHERE stream_id = 'api_key-${a.id}' AND type = 'KeyExpired'`,
    );
    assert.equal(JSON.parse(rows[0][0]).expired_at, a.expires_at, 'KeyExpired records the expiry instant');

    const listed = await api.list_keys(admin, { name: 'expires-soon', status: 'expired' });
    assert.ok(listed.json.data.some((k) => k.id === a.id), listed.text);
    assert_error(await api.patch_key(admin, a.id, { name: 'x' }), 409, 'KEY_EXPIRED', 'PATCH expired');
    assert_error(await api.rotate_key(admin, a.id, {}), 409, 'KEY_EXPIRED', 'rotate expired');
  });

  test('KeyExpiryApproaching once for a key expiring within 14 days (days_before 14), the last one within a day (1), none for later keys', async () => {
    const far = await create({ name: 'expires-far', environment: 'test', expires_in_days: 30 });
    const near = await create({ name: 'expires-near', environment: 'test', expires_in_days: 7 });
    await poll(() => key_event_types(stack.db, near.id), (t) => t.includes('KeyExpiryApproaching'), {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'KeyExpiryApproaching',
    });
    // A later key's warning proves the job ran again after the first warning.
    const nearer = await create({ name: 'expires-nearer', environment: 'test', expires_in_days: 1 });
    await poll(() => key_event_types(stack.db, nearer.id), (t) => t.includes('KeyExpiryApproaching'), {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'KeyExpiryApproaching for the second key',
    });
    assert.deepEqual(await key_event_types(stack.db, near.id), ['KeyCreated', 'KeyExpiryApproaching']);
    assert.deepEqual(await key_event_types(stack.db, far.id), ['KeyCreated']);
    const rows = await stack.db.psql(
      `SELECT payload FROM events WHERE stream_id = 'api_key-${near.id}' AND type = 'KeyExpiryApproaching'`,
    );
    assert.equal(JSON.parse(rows[0][0]).expires_at, near.expires_at);
    assert.equal(JSON.parse(rows[0][0]).days_before, 14, 'a key 7 days from expiry: the first warning');
    // A key with a day left gets the last warning only (its 14-day window is already behind it).
    const last = await stack.db.psql(
      `SELECT payload FROM events WHERE stream_id = 'api_key-${nearer.id}' AND type = 'KeyExpiryApproaching'`,
    );
    assert.equal(last.length, 1);
    assert.equal(JSON.parse(last[0][0]).days_before, 1);
    // A warning changes nothing for the caller.
    assert.equal((await api.verify(near.key)).json.code, 'VALID');
    assert.equal((await api.get_key(admin, near.id)).json.status, 'active');
  });
});

// ---- usage ----------------------------------------------------------------------------------

describe('usage', () => {
  test('last_used_at and last_used_ip appear within the flush interval', async () => {
    const k = await create({ name: 'used', environment: 'live' });
    assert.equal(k.last_used_at, null);
    const t0 = Date.now();
    const c = await check_from('127.0.0.2', k.key);
    assert.equal(c.status, 200, c.text);
    const g = await poll(() => api.get_key(admin, k.id), (r) => r.json?.last_used_ip === '127.0.0.2', {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'last_used_ip',
    });
    assert_near(ms(g.json.last_used_at), t0, 3_000, 'last_used_at');
    // A later use from another address moves both.
    assert.equal((await check_from('127.0.0.1', k.key)).status, 200);
    const g2 = await poll(() => api.get_key(admin, k.id), (r) => r.json?.last_used_ip === '127.0.0.1', {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'last_used_ip to move',
    });
    assert.ok(ms(g2.json.last_used_at) >= ms(g.json.last_used_at));
    const listed = await api.list_keys(admin, { name: 'used' });
    const item = listed.json.data.find((x) => x.id === k.id);
    assert.equal(item.last_used_ip, '127.0.0.1');
    assert.equal(item.last_used_at, g2.json.last_used_at);
  });

  test('the request log: newest first, paginated, with IP, outcome and code', async () => {
    const k = await create({ name: 'logged', environment: 'live', scopes: ['leads:read'] });
    assert.equal((await check_from('127.0.0.1', k.key)).status, 200);
    assert.equal((await check_from('127.0.0.1', k.key, { 'x-keyledger-required-scopes': 'leads:write' })).status, 403);
    assert.equal((await check_from('127.0.0.2', k.key)).status, 200);
    const r = await poll(() => api.requests_of(admin, k.id), (x) => sum_counts(x.json?.data) >= 3, {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'three requests in the log',
    });
    assert.equal(r.status, 200, r.text);
    // Three requests differing in IP or code: three entries of one request each.
    assert.equal(r.json.data.length, 3, r.text);
    assert.equal(r.json.next_cursor, null);
    for (const e of r.json.data) {
      assert.deepEqual(Object.keys(e).sort(), ['at', 'code', 'count', 'ip', 'valid'], JSON.stringify(e));
      assert.match(e.at, iso_timestamp);
      assert.equal(e.count, 1, JSON.stringify(e));
    }
    assert.deepEqual(
      r.json.data.map(({ ip, valid, code }) => ({ ip, valid, code })),
      [
        { ip: '127.0.0.2', valid: true, code: 'VALID' },
        { ip: '127.0.0.1', valid: false, code: 'INSUFFICIENT_SCOPE' },
        { ip: '127.0.0.1', valid: true, code: 'VALID' },
      ],
    );
    const at = r.json.data.map((e) => ms(e.at));
    assert.ok(at[0] >= at[1] && at[1] >= at[2], `newest first: ${r.json.data.map((e) => e.at)}`);

    const p1 = await api.requests_of(admin, k.id, { limit: 2 });
    assert.equal(p1.status, 200, p1.text);
    assert.deepEqual(p1.json.data, r.json.data.slice(0, 2));
    assert.equal(typeof p1.json.next_cursor, 'string');
    const p2 = await api.requests_of(admin, k.id, { limit: 2, cursor: p1.json.next_cursor });
    assert.deepEqual(p2.json, { data: r.json.data.slice(2), next_cursor: null });

    for (const q of [{ limit: 0 }, { limit: 101 }, { cursor: 'garbage' }]) {
      assert_error(await api.requests_of(admin, k.id, q), 400, 'INVALID_FIELD', JSON.stringify(q));
    }
    assert_error(await api.requests_of(admin, k.id, { what: 1 }), 400, 'UNKNOWN_FIELD', 'unknown parameter');
    assert_error(await api.requests_of(admin, 'key_0000000000000000000000'), 404, 'NOT_FOUND', 'unknown key');
    const other = await stack.bootstrap_workspace();
    assert_error(await api.requests_of(other.key, k.id), 404, 'NOT_FOUND', "another workspace's key");
  });

  test('the request log counts requests per second, IP and code', async () => {
    const k = await create({ name: 'busy', environment: 'live', scopes: ['leads:read'] });
    const deny = { 'x-keyledger-required-scopes': 'leads:write' };
    // A burst, concurrent: most of it falls in one second and one flush.
    const sent = await Promise.all([
      ...Array.from({ length: 20 }, () => check_from('127.0.0.3', k.key)),
      ...Array.from({ length: 5 }, () => check_from('127.0.0.4', k.key)),
      ...Array.from({ length: 3 }, () => check_from('127.0.0.3', k.key, deny)),
    ]);
    assert.deepEqual(
      sent.map((x) => x.status),
      [...Array(25).fill(200), ...Array(3).fill(403)],
    );
    const r = await poll(() => api.requests_of(admin, k.id, { limit: 100 }), (x) => sum_counts(x.json?.data) >= 28, {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: '28 requests in the log',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.next_cursor, null);
    const data = r.json.data;
    // Every request counted once, under its own IP and code.
    const per = {};
    for (const e of data) {
      assert.ok(Number.isInteger(e.count) && e.count >= 1, JSON.stringify(e));
      assert.equal(e.valid, e.code === 'VALID', JSON.stringify(e));
      per[`${e.ip} ${e.code}`] = (per[`${e.ip} ${e.code}`] ?? 0) + e.count;
    }
    assert.deepEqual(per, { '127.0.0.3 VALID': 20, '127.0.0.4 VALID': 5, '127.0.0.3 INSUFFICIENT_SCOPE': 3 });
    // Folded: fewer entries than requests (the 20 alike would need 20 different seconds or
    // flushes, 100 ms apart here, to stay apart).
    assert.ok(data.length < 28, `${data.length} entries for 28 requests: ${r.text}`);
    assert.ok(data.length >= 3, r.text);
    const at = data.map((e) => ms(e.at));
    for (let i = 1; i < at.length; i++) assert.ok(at[i - 1] >= at[i], `newest first: ${r.text}`);
    // Pages cut between entries, never through one: the counts add up the same.
    const p1 = await api.requests_of(admin, k.id, { limit: 1 });
    assert.deepEqual(p1.json.data, data.slice(0, 1));
    const p2 = await api.requests_of(admin, k.id, { limit: 100, cursor: p1.json.next_cursor });
    assert.equal(sum_counts(p1.json.data) + sum_counts(p2.json.data), 28);
  });

  test('nothing is logged for an off-the-record key', async () => {
    const hidden = await create({ name: 'otr', environment: 'live', off_the_record: true });
    const shown = await create({ name: 'on-record', environment: 'live' });
    for (let i = 0; i < 3; i++) assert.equal((await check_from('127.0.0.1', hidden.key)).status, 200);
    assert.equal((await api.verify(hidden.key)).json.code, 'VALID');
    // Used after the hidden key: once its entry is written, the hidden key's would be too.
    assert.equal((await check_from('127.0.0.1', shown.key)).status, 200);
    await poll(() => api.requests_of(admin, shown.id), (x) => x.json?.data?.length === 1, {
      deadline_ms: 5_000,
      interval_ms: 50,
      what: 'the on-record key entry',
    });
    const r = await api.requests_of(admin, hidden.id);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { data: [], next_cursor: null });
  });

  test('GET /v1/auth-failures counts failed attempts per source IP, for the caller workspace', async () => {
    const prefix = `af${random_suffix(5).replace(/^[0-9]/, 'a')}`;
    const ws = await stack.bootstrap_workspace(undefined, { prefix });
    const quiet = await stack.bootstrap_workspace(undefined, { prefix: `qq${random_suffix(5).replace(/^[0-9]/, 'a')}` });
    const fenced = await api.create_key(ws.key, { name: 'fenced', environment: 'live', allowed_cidrs: ['10.0.0.0/8'] });
    assert.equal(fenced.status, 201, fenced.text);
    const unknown = make_key(prefix, 'live');
    const typo = `${ws.key.slice(0, -7)}${ws.key.at(-7) === 'a' ? 'b' : 'a'}${ws.key.slice(-6)}`;
    assert.ok(!checksum_ok(typo));

    const t0 = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await check_from('127.0.0.1', unknown)).status, 401);
    for (let i = 0; i < 2; i++) assert.equal((await check_from('127.0.0.2', unknown)).status, 401);
    assert.equal((await check_from('127.0.0.1', typo)).status, 401);
    for (let i = 0; i < 2; i++) assert.equal((await check_from('127.0.0.1', fenced.json.key)).status, 403);

    const want = [
      { source_ip: '127.0.0.1', code: 'FORBIDDEN_IP', count: 2 },
      { source_ip: '127.0.0.1', code: 'MALFORMED', count: 1 },
      { source_ip: '127.0.0.1', code: 'NOT_FOUND', count: 3 },
      { source_ip: '127.0.0.2', code: 'NOT_FOUND', count: 2 },
    ];
    const summary = (r) =>
      (r.json?.data ?? [])
        .map(({ source_ip, code, count }) => ({ source_ip, code, count }))
        .sort((x, y) => `${x.source_ip} ${x.code}`.localeCompare(`${y.source_ip} ${y.code}`));
    const r = await poll(
      () => api.get('/v1/auth-failures', { key: ws.key }),
      (x) => JSON.stringify(summary(x)) === JSON.stringify(want),
      { deadline_ms: 5_000, interval_ms: 50, what: 'the failure counts' },
    );
    for (const e of r.json.data) {
      assert.deepEqual(Object.keys(e).sort(), ['code', 'count', 'first_at', 'last_at', 'source_ip'], JSON.stringify(e));
      assert.ok(ms(e.first_at) <= ms(e.last_at), JSON.stringify(e));
      assert_near(ms(e.first_at), t0, 5_000, 'first_at');
    }
    const other = await api.get('/v1/auth-failures', { key: quiet.key });
    assert.equal(other.status, 200, other.text);
    assert.deepEqual(other.json.data, [], 'another workspace sees none of it');

    const later = await api.get(`/v1/auth-failures?since=${rfc3339(Date.now() + 60_000)}`, { key: ws.key });
    assert.equal(later.status, 200, later.text);
    assert.deepEqual(later.json.data, []);
    assert_error(await api.get('/v1/auth-failures?since=yesterday', { key: ws.key }), 400, 'INVALID_FIELD', 'since');
    assert_error(await api.get('/v1/auth-failures?limit=0', { key: ws.key }), 400, 'INVALID_FIELD', 'limit');
    assert_error(await api.get('/v1/auth-failures'), 401, 'UNAUTHORIZED', 'no key');
  });
});
