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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as create_tls_server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { run_psql, start_stack, wait_for } from './harness.mjs';

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

const env = {
  KEYLEDGER_POSTBACK_ALLOW_PRIVATE: '127.0.0.0/8',
  KEYLEDGER_POSTBACK_TIMEOUT_MS: '1000',
  KEYLEDGER_POSTBACK_POLL_MS: '100',
};

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
