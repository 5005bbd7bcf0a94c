// Postbacks against the real server (issue 10): a receiver started here (plain HTTP on
// loopback, allowed with KEYLEDGER_POSTBACK_ALLOW_PRIVATE) gets every postback of a key that has
// a postback URL, signed the Standard Webhooks way; the `standardwebhooks` package from npm (the
// specification's own verifier) checks each one. Retries after a 500 and after a timeout carry
// the same webhook-id; two nodes never both send one; a node killed with -9 while a receiver
// holds its request loses nothing (the delivery is sent again, same id, after the lease);
// a key without a postback secret is never sent anything unsigned; without the allow-list a
// loopback receiver is refused after resolution (SSRF). Over HTTPS, a receiver whose
// certificate a test CA (KEYLEDGER_POSTBACK_CA_FILE) issued is trusted; a self-signed one is not.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as create_tls_server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { run_psql, start_stack, wait_for } from './harness.mjs';
import { authorize_with_pages, callback_server } from './oauth.mjs';
import { login_owner } from './people.mjs';

/// A test CA and two certificates for localhost/127.0.0.1: one it issued, one self-signed.
function make_certificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=keyledger e2e CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost');
  writeFileSync(path.join(dir, 'srv.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'srv.ext');
  openssl('req', '-x509', ...ec, '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  const read = (f) => readFileSync(path.join(dir, f));
  return { ca_file: path.join(dir, 'ca.pem'), issued: { key: read('srv.key'), cert: read('srv.pem') }, rogue: { key: read('rogue.key'), cert: read('rogue.pem') } };
}

/// A receiver: records every request; `behaviour(path, message_id, nth)` picks the answer
/// ('ok' 204, a status number, or 'hang' = never answer until released).
function start_receiver(behaviour = () => 'ok', tls = undefined) {
  const received = [];
  const hanging = [];
  const seen = new Map();
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      const nth = (seen.get(id) ?? 0) + 1;
      seen.set(id, nth);
      const entry = { path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now(), nth };
      received.push(entry);
      const what = behaviour(req.url, id, nth);
      if (what === 'hang') {
        hanging.push(res);
        return;
      }
      if (what === 'redirect') {
        res.writeHead(307, { location: '/redirected' }).end();
        return;
      }
      res.statusCode = what === 'ok' ? 204 : what;
      res.end();
    });
  };
  const srv = tls ? create_tls_server(tls, handler) : createServer(handler);
  const scheme = tls ? 'https' : 'http';
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      resolve({
        received,
        url: (p) => `${scheme}://127.0.0.1:${srv.address().port}${p}`,
        release() {
          for (const r of hanging.splice(0)) r.destroy();
        },
        close() {
          for (const r of hanging.splice(0)) r.destroy();
          srv.closeAllConnections?.();
          return new Promise((r) => srv.close(r));
        },
      });
    });
  });
}

const reporter = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const env = {
  KEYLEDGER_POSTBACK_ALLOW_PRIVATE: '127.0.0.0/8',
  KEYLEDGER_POSTBACK_TIMEOUT_MS: '1000',
  KEYLEDGER_POSTBACK_POLL_MS: '100',
  // An endpoint failing for 3 s is disabled (its second attempt comes 5 s after the first).
  KEYLEDGER_POSTBACK_FAILURE_WINDOW_SECONDS: '3',
  KEYLEDGER_EXPIRY_INTERVAL_MS: '200',
  KEYLEDGER_LEAK_REPORTER_KEYS: `e2e-reporter=${reporter.publicKey.export({ type: 'spki', format: 'pem' }).trim().replaceAll('\n', '\\n')}`,
};
let down = true;  // what /down answers: 500 while true

let stack;
let api;
let receiver;
let cert_dir;
let certificates;

before(async () => {
  cert_dir = mkdtempSync(path.join(tmpdir(), 'keyledger-postback-tls-'));
  certificates = make_certificates(cert_dir);
  env.KEYLEDGER_POSTBACK_CA_FILE = certificates.ca_file;
  receiver = await start_receiver((p, _id, nth) => {
    if (p.startsWith('/flaky') && nth === 1) return 500;
    if (p.startsWith('/slow') && nth === 1) return 'hang';
    if (p.startsWith('/crash') && nth === 1) return 'hang';
    if (p.startsWith('/down') && down) return 500;
    if (p.startsWith('/redirect')) return 'redirect';
    return 'ok';
  });
  stack = await start_stack({ env });
  api = stack.api;
});

after(async () => {
  if (receiver) await receiver.close();
  if (stack) await stack.close();
  if (cert_dir) rmSync(cert_dir, { recursive: true, force: true });
});

/// A key without a postback URL, its postback secret, then the URL: the first postback it gets
/// is that key.updated.
async function key_with_postbacks(path, name = 'postback-test') {
  const created = await api.create_key(stack.admin_key, { name, environment: 'test' });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  const minted = await api.post(`/v1/keys/${id}/postback-secret`, { key: stack.admin_key });
  assert.equal(minted.status, 201, minted.text);
  assert.match(minted.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(minted.headers.get('cache-control'), 'no-store');
  const patched = await api.patch_key(stack.admin_key, id, { postback_url: receiver.url(path) });
  assert.equal(patched.status, 200, patched.text);
  return { id, secret: minted.json.secret };
}

const arrivals = (path) => receiver.received.filter((r) => r.path === path);

/// Verifies with the specification's own library; returns the parsed body.
function verified(entry, secret) {
  return new Webhook(secret).verify(entry.body, {
    'webhook-id': entry.headers['webhook-id'],
    'webhook-timestamp': entry.headers['webhook-timestamp'],
    'webhook-signature': entry.headers['webhook-signature'],
  });
}

async function attempts_of(message_id) {
  return run_psql(
    stack.db.url,
    `SELECT attempt, outcome, coalesce(response_status::text, '') FROM webhook_attempts WHERE message_id = '${message_id}' ORDER BY attempt`,
  );
}

describe('a key with a postback URL', () => {
  test('receives its events signed; the verifier library accepts them and refuses tampering', async () => {
    const { id, secret } = await key_with_postbacks('/ok');
    const revoked = await api.revoke_key(stack.admin_key, id);
    assert.ok([200, 204].includes(revoked.status), revoked.text);
    await wait_for(() => arrivals('/ok').length >= 2, { deadline_ms: 10_000, what: 'two postbacks' });
    const [updated, gone] = arrivals('/ok');
    const body = verified(updated, secret);
    assert.equal(body.type, 'key.updated');
    assert.equal(body.data.key_id, id);
    assert.match(body.timestamp, /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(updated.headers['content-type'], 'application/json');
    assert.match(updated.headers['webhook-id'], /^msg_[0-9A-Za-z]{22}$/);
    assert.equal(verified(gone, secret).type, 'key.revoked');
    assert.equal(verified(gone, secret).data.status, 'revoked');
    // Nothing secret or internal in a body.
    for (const r of [updated, gone]) {
      assert.doesNotMatch(r.body, /whsec_|key_hash|postback_url|127\.0\.0\.1/);
    }
    // A changed byte, another secret, or an old timestamp: refused by the verifier.
    assert.throws(() => verified({ ...updated, body: updated.body.replace('key.updated', 'key.revoked') }, secret));
    assert.throws(() => verified(updated, 'whsec_' + Buffer.alloc(32, 7).toString('base64')));
    const stale = { ...updated, headers: { ...updated.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) } };
    assert.throws(() => verified(stale, secret));
    const [row] = await attempts_of(updated.headers['webhook-id']);
    assert.deepEqual(row, ['1', 'delivered', '204']);
  });

  test('after a 500 the same message comes again, same id, about 5 s later', async () => {
    const { secret } = await key_with_postbacks('/flaky');
    await wait_for(() => arrivals('/flaky').length >= 2, { deadline_ms: 15_000, what: 'the retry' });
    const [first, second] = arrivals('/flaky');
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
    assert.equal(second.body, first.body);
    assert.ok(second.at - first.at >= 3_500, `retried after ${second.at - first.at} ms (schedule: 5 s +-20%)`);
    assert.equal(verified(second, secret).type, 'key.updated');
    const rows = await attempts_of(first.headers['webhook-id']);
    assert.deepEqual(rows.map((r) => r.slice(1)), [['http_error', '500'], ['delivered', '204']]);
  });

  test('a receiver that does not answer in time is a timeout, retried with the same id', async () => {
    await key_with_postbacks('/slow');
    await wait_for(() => arrivals('/slow').length >= 2, { deadline_ms: 15_000, what: 'the retry' });
    const [first, second] = arrivals('/slow');
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
    const rows = await attempts_of(first.headers['webhook-id']);
    assert.deepEqual(rows.map((r) => r[1]), ['timeout', 'delivered']);
  });

  test('without a postback secret nothing is sent, and it is tried again later', async () => {
    const created = await api.create_key(stack.admin_key, { name: 'unsigned', environment: 'test', postback_url: receiver.url('/unsigned') });
    assert.equal(created.status, 201, created.text);
    let rows = [];
    await wait_for(async () => {
      rows = await run_psql(
        stack.db.url,
        `SELECT d.status, a.outcome, a.error FROM webhook_deliveries d JOIN webhook_attempts a USING (message_id) WHERE d.endpoint_id = '${created.json.id}'`,
      );
      return rows.length >= 1;
    }, { deadline_ms: 10_000, what: 'the first attempt' });
    assert.deepEqual(rows[0].slice(0, 2), ['pending', 'refused']);
    assert.match(rows[0][2], /no signing secret/);
    assert.equal(arrivals('/unsigned').length, 0);
  });
});

describe('workspace endpoints', () => {
  test('every postback type arrives once, signed with the endpoint secret', async () => {
    const hook = await api.post('/v1/webhooks', { key: stack.admin_key, json: { url: receiver.url('/all'), event_types: ['*'] } });
    assert.equal(hook.status, 201, hook.text);
    const secret = hook.json.secret;

    // Keys: created (and the rotated one's successor), updated, disabled, enabled, rotated,
    // revoked, leaked; one expiring in 4 s gets its last warning, then expires.
    const made = await api.create_key(stack.admin_key, { name: 'every-type', environment: 'live' });
    assert.equal(made.status, 201, made.text);
    const id = made.json.id;
    assert.equal((await api.patch_key(stack.admin_key, id, { name: 'every-type-2' })).status, 200);
    assert.equal((await api.patch_key(stack.admin_key, id, { enabled: false })).status, 200);
    assert.equal((await api.patch_key(stack.admin_key, id, { enabled: true })).status, 200);
    const rotated = await api.rotate_key(stack.admin_key, id, { grace_period_seconds: 0 });
    assert.equal(rotated.status, 201, rotated.text);
    assert.ok([200, 204].includes((await api.revoke_key(stack.admin_key, rotated.json.id)).status));
    const leaked = await api.create_key(stack.admin_key, { name: 'leaked', environment: 'live' });
    const report = JSON.stringify([{ token: leaked.json.key, type: 'keyledger_api_key', url: 'https://github.com/o/r/blob/main/x', source: 'content' }]);
    const reported = await api.request('POST', '/v1/leaks', {
      body: report,
      headers: {
        'content-type': 'application/json',
        'github-public-key-identifier': 'e2e-reporter',
        'github-public-key-signature': sign('sha256', Buffer.from(report), reporter.privateKey).toString('base64'),
      },
    });
    assert.equal(reported.status, 200, reported.text);
    const soon = new Date(Date.now() + 4_000).toISOString();
    assert.equal((await api.create_key(stack.admin_key, { name: 'expiring', environment: 'test', expires_at: soon })).status, 201);

    // OAuth: an app through its whole life, and a grant a person withdraws.
    const cb = await callback_server();
    try {
      const app = await api.post('/v1/oauth/clients', {
        key: stack.admin_key,
        json: { type: 'confidential', name: 'Postback app', redirect_uris: [cb.url], grant_types: ['authorization_code'], allowed_scopes: ['leads:read'] },
      });
      assert.equal(app.status, 201, app.text);
      const cid = app.json.id;
      assert.equal((await api.patch(`/v1/oauth/clients/${cid}`, { key: stack.admin_key, json: { name: 'Postback app 2' } })).status, 200);
      assert.equal((await api.post(`/v1/oauth/clients/${cid}/rotate-secret`, { key: stack.admin_key })).status, 200);
      assert.equal((await api.patch(`/v1/oauth/clients/${cid}`, { key: stack.admin_key, json: { enabled: false } })).status, 200);
      assert.equal((await api.patch(`/v1/oauth/clients/${cid}`, { key: stack.admin_key, json: { enabled: true } })).status, 200);
      const verifier = randomBytes(32).toString('base64url');
      const url = `${stack.server.base_url}/oauth/authorize?` + new URLSearchParams({
        response_type: 'code', client_id: cid, redirect_uri: cb.url, scope: 'leads:read', state: 's1',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      });
      await authorize_with_pages(stack.server.base_url, url, { email: stack.workspace.owner_email, password: stack.workspace.owner_password });
      const session = await login_owner(api, stack.server, stack.workspace);
      const grants = await api.get('/v1/oauth/grants', { session });
      const grant = grants.json.grants.find((g) => g.client_id === cid);
      assert.ok(grant, grants.text);
      assert.equal((await api.del(`/v1/oauth/grants/${grant.id}`, { session })).status, 204);
      assert.equal((await api.del(`/v1/oauth/clients/${cid}`, { key: stack.admin_key })).status, 204);
    } finally {
      await cb.close?.();
    }

    const catalog = [
      'key.created', 'key.updated', 'key.disabled', 'key.enabled', 'key.rotated', 'key.revoked', 'key.expired',
      'key.expiry_approaching', 'key.leaked', 'oauth.client.registered', 'oauth.client.updated',
      'oauth.client.secret_rotated', 'oauth.client.disabled', 'oauth.client.enabled', 'oauth.client.deleted',
      'oauth.grant.revoked',
    ];
    const types = () => new Set(arrivals('/all').map((r) => JSON.parse(r.body).type));
    // The failure names what is missing.
    await wait_for(() => catalog.every((t) => types().has(t)), { deadline_ms: 20_000 }).catch(() => {});
    assert.deepEqual(catalog.filter((t) => !types().has(t)), [], 'every type arrived');
    const all = arrivals('/all');
    const ids = all.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'each message once');
    for (const r of all) {
      const body = verified(r, secret);
      assert.ok(catalog.includes(body.type), body.type);
      assert.doesNotMatch(r.body, /whsec_|klcs_|secret_hash|key_hash/);
    }
    const by_type = (t) => all.map((r) => JSON.parse(r.body)).filter((b) => b.type === t);
    assert.equal(by_type('key.expiry_approaching')[0].data.days_before, 1);
    assert.equal(by_type('key.leaked')[0].data.leak.url, 'https://github.com/o/r/blob/main/x');
    assert.equal(by_type('key.rotated')[0].data.rotated_to, rotated.json.id);
    assert.equal(by_type('oauth.grant.revoked')[0].data.reason, 'revoked_by_user');
    assert.equal(by_type('oauth.client.updated')[0].data.name, 'Postback app 2');
  });

  test('an endpoint failing for the whole window is disabled once; enabled again, a retry sends the same message', async () => {
    down = true;
    const hook = await api.post('/v1/webhooks', { key: stack.admin_key, json: { url: receiver.url('/down'), event_types: ['key.created'] } });
    assert.equal(hook.status, 201, hook.text);
    const hid = hook.json.id;
    assert.equal((await api.create_key(stack.admin_key, { name: 'to-a-failing-endpoint', environment: 'test' })).status, 201);
    let endpoint;
    await wait_for(async () => {
      endpoint = (await api.get(`/v1/webhooks/${hid}`, { key: stack.admin_key })).json;
      return endpoint.enabled === false;
    }, { deadline_ms: 15_000, what: 'the endpoint disabled for failing' });
    assert.equal(endpoint.disabled_reason, 'failing');
    const [[disabled]] = await run_psql(stack.db.url, `SELECT count(*) FROM events WHERE stream_id = 'webhook_endpoint-${hid}' AND type = 'WebhookEndpointDisabled'`);
    assert.equal(disabled, '1');

    const listed = await api.get(`/v1/webhooks/${hid}/deliveries`, { key: stack.admin_key });
    assert.equal(listed.status, 200, listed.text);
    const [delivery] = listed.json.data;
    assert.equal(delivery.event_type, 'key.created');
    assert.ok(delivery.attempt_log.length >= 2, listed.text);
    for (const a of delivery.attempt_log) {
      assert.equal(a.outcome, 'http_error');
      assert.equal(a.response_status, 500);
      assert.ok(Number.isInteger(a.latency_ms));
    }
    const retry_path = `/v1/webhooks/${hid}/deliveries/${delivery.id}/retry`;
    assert.equal((await api.post(retry_path, { key: stack.admin_key })).status, 409, 'disabled: enable first');

    down = false;
    assert.equal((await api.patch(`/v1/webhooks/${hid}`, { key: stack.admin_key, json: { enabled: true } })).status, 200);
    const before = arrivals('/down').length;
    const retried = await api.post(retry_path, { key: stack.admin_key });
    assert.equal(retried.status, 202, retried.text);
    await wait_for(() => arrivals('/down').length > before && arrivals('/down').at(-1).nth > 2, { deadline_ms: 10_000, what: 'the manual retry' });
    const last = arrivals('/down').at(-1);
    assert.equal(last.headers['webhook-id'], delivery.id);
    assert.equal(verified(last, hook.json.secret).type, 'key.created');
    await wait_for(async () => {
      const r = await api.get(`/v1/webhooks/${hid}/deliveries`, { key: stack.admin_key });
      return r.json.data[0].status === 'delivered';
    }, { deadline_ms: 5_000, what: 'delivered after the retry' });
  });

  test('during a rotation both secrets sign; after a zero overlap only the new one', async () => {
    const hook = await api.post('/v1/webhooks', { key: stack.admin_key, json: { url: receiver.url('/rotation'), event_types: ['key.created'] } });
    assert.equal(hook.status, 201, hook.text);
    const old_secret = hook.json.secret;
    const rotated = await api.post(`/v1/webhooks/${hook.json.id}/rotate-secret`, { key: stack.admin_key, json: { overlap_seconds: 3600 } });
    assert.equal(rotated.status, 200, rotated.text);
    const new_secret = rotated.json.secret;
    assert.notEqual(new_secret, old_secret);
    assert.equal((await api.create_key(stack.admin_key, { name: 'rotation-1', environment: 'test' })).status, 201);
    await wait_for(() => arrivals('/rotation').length >= 1, { deadline_ms: 10_000, what: 'the postback' });
    const during = arrivals('/rotation')[0];
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2, 'two signatures');
    assert.equal(verified(during, new_secret).data.name, 'rotation-1');
    assert.equal(verified(during, old_secret).data.name, 'rotation-1');

    const again = await api.post(`/v1/webhooks/${hook.json.id}/rotate-secret`, { key: stack.admin_key, json: { overlap_seconds: 0 } });
    assert.equal(again.status, 200, again.text);
    assert.equal((await api.create_key(stack.admin_key, { name: 'rotation-2', environment: 'test' })).status, 201);
    await wait_for(() => arrivals('/rotation').length >= 2, { deadline_ms: 10_000, what: 'the second postback' });
    const after_rotation = arrivals('/rotation')[1];
    assert.equal(after_rotation.headers['webhook-signature'].split(' ').length, 1);
    assert.equal(verified(after_rotation, again.json.secret).data.name, 'rotation-2');
    assert.throws(() => verified(after_rotation, new_secret), 'the previous secret no longer signs');
  });

  test('a redirect is a failure and is not followed', async () => {
    const hook = await api.post('/v1/webhooks', { key: stack.admin_key, json: { url: receiver.url('/redirect'), event_types: ['key.created'] } });
    assert.equal(hook.status, 201, hook.text);
    assert.equal((await api.create_key(stack.admin_key, { name: 'redirected', environment: 'test' })).status, 201);
    let listed;
    await wait_for(async () => {
      listed = await api.get(`/v1/webhooks/${hook.json.id}/deliveries`, { key: stack.admin_key });
      return listed.json.data[0]?.attempt_log.length >= 1;
    }, { deadline_ms: 10_000, what: 'the first attempt' });
    const [attempt] = listed.json.data[0].attempt_log;
    assert.equal(attempt.outcome, 'http_error');
    assert.equal(attempt.response_status, 307);
    assert.equal(listed.json.data[0].status, 'pending', 'retried on the schedule');
    assert.equal(arrivals('/redirected').length, 0, 'the Location was not followed');
  });
});

describe('HTTPS', () => {
  test('a receiver with a certificate from the trusted CA gets it; a self-signed one does not', async () => {
    const good = await start_receiver(() => 'ok', certificates.issued);
    const rogue = await start_receiver(() => 'ok', certificates.rogue);
    try {
      const created = await api.create_key(stack.admin_key, { name: 'tls', environment: 'test' });
      const id = created.json.id;
      const minted = await api.post(`/v1/keys/${id}/postback-secret`, { key: stack.admin_key });
      assert.equal((await api.patch_key(stack.admin_key, id, { postback_url: good.url('/tls') })).status, 200);
      await wait_for(() => good.received.length >= 1, { deadline_ms: 10_000, what: 'the postback over TLS' });
      assert.equal(verified(good.received[0], minted.json.secret).type, 'key.updated');

      assert.equal((await api.patch_key(stack.admin_key, id, { postback_url: rogue.url('/tls') })).status, 200);
      let rows = [];
      await wait_for(async () => {
        rows = await run_psql(stack.db.url, `SELECT a.outcome, a.error FROM webhook_deliveries d JOIN webhook_attempts a USING (message_id) WHERE d.endpoint_id = '${id}' AND d.event_seq = (SELECT max(event_seq) FROM webhook_deliveries WHERE endpoint_id = '${id}')`);
        return rows.length >= 1;
      }, { deadline_ms: 10_000, what: 'the refused handshake' });
      assert.equal(rows[0][0], 'network');
      assert.match(rows[0][1], /certificate/i);
      assert.equal(rogue.received.length, 0, 'nothing was sent over the untrusted connection');
    } finally {
      await good.close();
      await rogue.close();
    }
  });
});

describe('several nodes and crashes', () => {
  test('two nodes: every postback arrives once', async () => {
    const second = await stack.start_extra_server(env);
    const { id, secret } = await key_with_postbacks('/two-nodes');
    for (let i = 0; i < 12; i += 1) {
      const to = i % 2 === 0 ? api : second.api;
      const r = await to.patch_key(stack.admin_key, id, { name: `renamed-${i}` });
      assert.equal(r.status, 200, r.text);
    }
    await wait_for(() => arrivals('/two-nodes').length >= 13, { deadline_ms: 15_000, what: '13 postbacks' });
    // Let a duplicate, if any, arrive: both nodes' senders poll every 100 ms; wait for the queue
    // to be empty in the database instead of sleeping.
    await wait_for(async () => {
      const [[pending]] = await run_psql(stack.db.url, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '${id}' AND status <> 'delivered'`);
      return pending === '0';
    }, { deadline_ms: 10_000, what: 'every delivery delivered' });
    const got = arrivals('/two-nodes');
    const ids = got.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'no message twice');
    assert.equal(got.length, 13);
    const names = got.map((r) => verified(r, secret).data.name).filter((n) => n.startsWith('renamed-'));
    assert.equal(names.length, 12);
    const [[rows]] = await run_psql(stack.db.url, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '${id}'`);
    assert.equal(rows, '13', 'each (event, endpoint) enqueued once by the two dispatchers');
    await second.server.stop();
  });

  test('kill -9 while the receiver holds the request: sent again after restart, same id', async () => {
    const { secret } = await key_with_postbacks('/crash');
    await wait_for(() => arrivals('/crash').length >= 1, { deadline_ms: 10_000, what: 'the first attempt' });
    await stack.server.crash_and_start();
    receiver.release();
    // The lease (2 x timeout + 5 s) runs out, the restarted node claims it again.
    await wait_for(() => arrivals('/crash').length >= 2, { deadline_ms: 20_000, what: 'the delivery after the crash' });
    const [first, again] = arrivals('/crash');
    assert.equal(again.headers['webhook-id'], first.headers['webhook-id']);
    assert.equal(verified(again, secret).type, 'key.updated');
    const [[status]] = await run_psql(stack.db.url, `SELECT status FROM webhook_deliveries WHERE message_id = '${first.headers['webhook-id']}'`);
    assert.equal(status, 'delivered');
  });
});

describe('SSRF', () => {
  test('without the allow-list a loopback receiver is refused after resolution', async () => {
    const plain = await start_stack({ env: { KEYLEDGER_POSTBACK_TIMEOUT_MS: '1000', KEYLEDGER_POSTBACK_POLL_MS: '100' } });
    try {
      const created = await plain.api.create_key(plain.admin_key, { name: 'ssrf', environment: 'test' });
      const id = created.json.id;
      assert.equal((await plain.api.post(`/v1/keys/${id}/postback-secret`, { key: plain.admin_key })).status, 201);
      // "localhost" resolves to loopback: refused on the address, not the name.
      const url = receiver.url('/ssrf').replace('127.0.0.1', 'localhost');
      assert.equal((await plain.api.patch_key(plain.admin_key, id, { postback_url: url })).status, 200);
      let rows = [];
      await wait_for(async () => {
        rows = await run_psql(plain.db.url, `SELECT a.outcome FROM webhook_deliveries d JOIN webhook_attempts a USING (message_id) WHERE d.endpoint_id = '${id}'`);
        return rows.length >= 1;
      }, { deadline_ms: 10_000, what: 'the refused attempt' });
      assert.deepEqual(rows[0], ['refused']);
      assert.equal(arrivals('/ssrf').length, 0, 'nothing reached the receiver');
    } finally {
      await plain.close();
    }
  });
});

test('no postback secret in the server log', () => {
  assert.doesNotMatch(stack.server.stderr, /whsec_/);
});
