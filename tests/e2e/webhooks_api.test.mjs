// Webhook endpoints over HTTP against the real server (issue 10, the management half):
// create with a whsec_ signing secret shown once, list, read, change url / event types /
// enabled, rotate the secret, delete; who may do what (members nothing, auditors read);
// bad input refused with nothing changed; another workspace's endpoint is 404; the deliveries
// listing and manual retry; and no signing secret in the server's log or the events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, command_event_count, start_stack } from './harness.mjs';
import { add_user, login_owner } from './people.mjs';

let stack;
let api;
let owner;
let member;
let auditor;
const secrets = [];

before(async () => {
  stack = await start_stack({ env: { KEYLEDGER_LOG_LEVEL: 'debug' } });
  api = stack.api;
  owner = await login_owner(api, stack.server, stack.workspace);
  member = await add_user(api, stack.server, { session: owner }, { role: 'member' });
  auditor = await add_user(api, stack.server, { session: owner }, { role: 'auditor' });
});

after(async () => {
  if (stack) await stack.close();
});

const as_admin = () => ({ key: stack.admin_key });
const receiver = { url: 'https://hooks.example.com/keyledger', event_types: ['key.*', 'oauth.grant.revoked'] };
const endpoint_fields = [
  'created_at', 'created_by', 'disabled_reason', 'enabled', 'event_types', 'id', 'previous_secret_valid_until',
  'secret_version', 'updated_at', 'url', 'workspace_id',
];

function assert_endpoint(e, { with_secret = false, what = '' } = {}) {
  const ctx = `${what}: ${JSON.stringify(e)}`;
  const expected = with_secret ? [...endpoint_fields, 'secret'].sort() : endpoint_fields;
  assert.deepEqual(Object.keys(e).sort(), expected, ctx);
  assert.match(e.id, /^whe_[0-9A-Za-z]{22}$/, ctx);
  assert.equal(e.workspace_id, stack.workspace.workspace_id, ctx);
  if (with_secret) {
    assert.match(e.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, ctx);
    assert.equal(Buffer.from(e.secret.slice(6), 'base64').length, 32, ctx);
  }
}

async function create(json = receiver, actor = as_admin()) {
  const r = await api.post('/v1/webhooks', { ...actor, json });
  assert.equal(r.status, 201, r.text);
  assert_endpoint(r.json, { with_secret: true, what: 'create' });
  secrets.push(r.json.secret);
  return r.json;
}

async function list(actor = as_admin()) {
  const r = await api.get('/v1/webhooks', actor);
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

describe('an endpoint and its secret', () => {
  test('is created with a whsec_ secret shown once, then listed and read without it', async () => {
    const made = await create();
    assert.equal(made.url, receiver.url);
    assert.deepEqual(made.event_types, receiver.event_types);
    assert.equal(made.enabled, true);
    assert.equal(made.disabled_reason, null);
    assert.equal(made.secret_version, 1);

    const got = await api.get(`/v1/webhooks/${made.id}`, as_admin());
    assert.equal(got.status, 200, got.text);
    assert_endpoint(got.json, { what: 'GET' });
    const { secret, ...rest } = made;
    assert.deepEqual(got.json, rest);
    assert.ok(!got.text.includes(secret.slice(6)), 'GET never shows the secret');
    const listed = await list();
    assert.ok(listed.some((e) => e.id === made.id));
    for (const e of listed) assert_endpoint(e, { what: 'list' });
    const by_session = await api.get('/v1/webhooks', { session: owner });
    assert.equal(by_session.status, 200, by_session.text);
    assert.ok(!by_session.text.includes('whsec_'), 'no secret in the list');
  });

  test('url, event types and enabled change', async () => {
    const made = await create();
    const url = `/v1/webhooks/${made.id}`;
    let r = await api.patch(url, { ...as_admin(), json: { url: 'https://other.example/hook', event_types: ['*'] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.url, 'https://other.example/hook');
    assert.deepEqual(r.json.event_types, ['*']);
    assert.notEqual(r.json.updated_at, null);
    r = await api.patch(url, { session: owner, json: { enabled: false } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.enabled, false);
    assert.equal(r.json.disabled_reason, 'manual');
    r = await api.patch(url, { ...as_admin(), json: { enabled: true, event_types: ['oauth.client.*', 'key.revoked'] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.enabled, true);
    assert.equal(r.json.disabled_reason, null);
    assert.deepEqual(r.json.event_types, ['oauth.client.*', 'key.revoked']);
    const got = await api.get(url, as_admin());
    assert.deepEqual(got.json, r.json);
  });

  test('a rotation shows a new, different secret once; the old one overlaps', async () => {
    const made = await create();
    const r = await api.post(`/v1/webhooks/${made.id}/rotate-secret`, { ...as_admin(), json: { overlap_seconds: 3600 } });
    assert.equal(r.status, 200, r.text);
    assert_endpoint(r.json, { with_secret: true, what: 'rotate' });
    secrets.push(r.json.secret);
    assert.notEqual(r.json.secret, made.secret);
    assert.equal(r.json.secret_version, 2);
    const until = Date.parse(r.json.previous_secret_valid_until);
    assert.ok(Math.abs(until - (Date.now() + 3600_000)) < 60_000, r.text);
    const again = await api.post(`/v1/webhooks/${made.id}/rotate-secret`, { session: owner });
    assert.equal(again.status, 200, again.text);
    secrets.push(again.json.secret);
    assert.equal(again.json.secret_version, 3);
    assert.ok(Math.abs(Date.parse(again.json.previous_secret_valid_until) - (Date.now() + 86_400_000)) < 60_000,
      'a day by default');
    for (const overlap of [-1, 604801, '60']) {
      const bad = await api.post(`/v1/webhooks/${made.id}/rotate-secret`, { ...as_admin(), json: { overlap_seconds: overlap } });
      assert_error(bad, 400, 'INVALID_FIELD', `overlap ${overlap}`);
    }
    const got = await api.get(`/v1/webhooks/${made.id}`, as_admin());
    assert.equal(got.json.secret_version, 3);
    assert.ok(!('secret' in got.json));
  });

  test('a deleted endpoint is 404 and no longer listed', async () => {
    const made = await create();
    const r = await api.del(`/v1/webhooks/${made.id}`, as_admin());
    assert.equal(r.status, 204, r.text);
    assert_error(await api.get(`/v1/webhooks/${made.id}`, as_admin()), 404, 'NOT_FOUND');
    assert_error(await api.del(`/v1/webhooks/${made.id}`, as_admin()), 404, 'NOT_FOUND');
    assert_error(await api.patch(`/v1/webhooks/${made.id}`, { ...as_admin(), json: { enabled: true } }), 404, 'NOT_FOUND');
    assert.ok(!(await list()).some((e) => e.id === made.id));
  });
});

describe('who may do what', () => {
  test('a member may neither read nor write', async () => {
    const made = await create();
    const as_member = { session: member.session };
    assert_error(await api.get('/v1/webhooks', as_member), 403, 'FORBIDDEN');
    assert_error(await api.get(`/v1/webhooks/${made.id}`, as_member), 403, 'FORBIDDEN');
    assert_error(await api.post('/v1/webhooks', { ...as_member, json: receiver }), 403, 'FORBIDDEN');
    assert_error(await api.patch(`/v1/webhooks/${made.id}`, { ...as_member, json: { enabled: false } }), 403, 'FORBIDDEN');
    assert_error(await api.get(`/v1/webhooks/${made.id}/deliveries`, as_member), 403, 'FORBIDDEN');
  });

  test('an auditor reads but does not write', async () => {
    const made = await create();
    const as_auditor = { session: auditor.session };
    assert.equal((await api.get('/v1/webhooks', as_auditor)).status, 200);
    const got = await api.get(`/v1/webhooks/${made.id}`, as_auditor);
    assert.equal(got.status, 200, got.text);
    assert.ok(!('secret' in got.json));
    assert.equal((await api.get(`/v1/webhooks/${made.id}/deliveries`, as_auditor)).status, 200);
    const before = await command_event_count(stack.db);
    assert_error(await api.post('/v1/webhooks', { ...as_auditor, json: receiver }), 403, 'FORBIDDEN');
    assert_error(await api.patch(`/v1/webhooks/${made.id}`, { ...as_auditor, json: { enabled: false } }), 403, 'FORBIDDEN');
    assert_error(await api.post(`/v1/webhooks/${made.id}/rotate-secret`, as_auditor), 403, 'FORBIDDEN');
    assert_error(await api.del(`/v1/webhooks/${made.id}`, as_auditor), 403, 'FORBIDDEN');
    assert.equal(await command_event_count(stack.db), before, 'nothing appended');
  });

  test("another workspace's endpoint does not exist for the caller", async () => {
    const made = await create();
    const other = await stack.bootstrap_workspace('webhooks-other');
    const as_other = { key: other.key };
    assert_error(await api.get(`/v1/webhooks/${made.id}`, as_other), 404, 'NOT_FOUND');
    assert_error(await api.patch(`/v1/webhooks/${made.id}`, { ...as_other, json: { enabled: false } }), 404, 'NOT_FOUND');
    assert_error(await api.post(`/v1/webhooks/${made.id}/rotate-secret`, as_other), 404, 'NOT_FOUND');
    assert_error(await api.del(`/v1/webhooks/${made.id}`, as_other), 404, 'NOT_FOUND');
    assert_error(await api.get(`/v1/webhooks/${made.id}/deliveries`, as_other), 404, 'NOT_FOUND');
    assert_error(await api.post(`/v1/webhooks/${made.id}/deliveries/msg_0000000000000000000000/retry`, as_other),
      404, 'NOT_FOUND');
    const theirs = await api.get('/v1/webhooks', as_other);
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual(theirs.json.data, []);
    const mine = await api.get(`/v1/webhooks/${made.id}`, as_admin());
    assert.equal(mine.json.enabled, true);
  });
});

describe('bad input', () => {
  test('is 400 naming the field, and nothing changes', async () => {
    const made = await create();
    const before_list = await list();
    const before_events = await command_event_count(stack.db);
    const cases = [
      [{ ...receiver, url: 'http://example.com/hook' }, 'INVALID_FIELD', 'url'],
      [{ ...receiver, url: 'ftp://hooks.example.com/hook' }, 'INVALID_FIELD', 'url'],
      [{ ...receiver, url: 'https://hooks.example.com/hook#fragment' }, 'INVALID_FIELD', 'url'],
      [{ ...receiver, url: 'not a url' }, 'INVALID_FIELD', 'url'],
      [{ ...receiver, event_types: ['key.nope'] }, 'INVALID_FIELD', 'event_types'],
      [{ ...receiver, event_types: [] }, 'INVALID_FIELD', 'event_types'],
      [{ ...receiver, event_types: ['key.*', 'key.*'] }, 'INVALID_FIELD', 'event_types'],
      [{ url: receiver.url }, 'MISSING_FIELD', 'event_types'],
      [{ event_types: ['*'] }, 'MISSING_FIELD', 'url'],
      [{ ...receiver, secret: 'whsec_mine' }, 'UNKNOWN_FIELD', undefined],
    ];
    for (const [json, code, field] of cases) {
      const r = await api.post('/v1/webhooks', { ...as_admin(), json });
      assert_error(r, 400, code, JSON.stringify(json));
      if (field !== undefined) assert.ok(r.json.message.includes(`'${field}'`), `names ${field}: ${r.text}`);
    }
    for (const json of [{ url: 'http://example.com/hook' }, { event_types: ['nope'] }, { url: 'ftp://x.example/h', enabled: false }]) {
      const r = await api.patch(`/v1/webhooks/${made.id}`, { ...as_admin(), json });
      assert.equal(r.status, 400, `${JSON.stringify(json)}: ${r.text}`);
    }
    assert.deepEqual(await list(), before_list, 'the list is unchanged');
    assert.equal(await command_event_count(stack.db), before_events, 'nothing appended');
  });
});

describe('deliveries', () => {
  test('a new endpoint has none, and retrying an unknown delivery is 404', async () => {
    const made = await create();
    const r = await api.get(`/v1/webhooks/${made.id}/deliveries`, as_admin());
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { data: [], next_before_seq: null });
    const paged = await api.get(`/v1/webhooks/${made.id}/deliveries?limit=5&before_seq=100`, { session: owner });
    assert.equal(paged.status, 200, paged.text);
    assert_error(await api.get(`/v1/webhooks/${made.id}/deliveries?limit=0`, as_admin()), 400, 'INVALID_FIELD');
    assert_error(await api.post(`/v1/webhooks/${made.id}/deliveries/msg_0000000000000000000000/retry`, as_admin()),
      404, 'NOT_FOUND');
    assert_error(await api.post(`/v1/webhooks/${made.id}/deliveries/nonsense/retry`, { session: owner }), 404, 'NOT_FOUND');
    assert_error(await api.post(`/v1/webhooks/${made.id}/deliveries/msg_0000000000000000000000/retry`,
      { session: auditor.session }), 403, 'FORBIDDEN');
  });
});

test('no signing secret reaches the server log or the events', async () => {
  assert.ok(secrets.length >= 5, `secrets seen: ${secrets.length}`);
  const log = stack.server.stderr;
  const rows = await stack.db.psql('SELECT payload::text, metadata::text FROM events');
  const events = rows.map((r) => r.join(' ')).join('\n');
  assert.ok(events.includes('WebhookEndpointCreated') || events.includes('whe_'), 'the events were read');
  for (const s of secrets) {
    for (const form of [s, s.slice(6), s.slice(6, 30)]) {
      assert.ok(!log.includes(form), 'a secret is in the server log');
      assert.ok(!events.includes(form), 'a secret is in the events');
    }
  }
  assert.ok(!/whsec_[A-Za-z0-9+/]{20}/.test(log), 'a whsec_ secret is in the server log');
});
