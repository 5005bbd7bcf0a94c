// The OAuth signing keys on the real server: a fresh server publishes one P-256 key at
// GET /oauth/jwks before it answers anything; `keyledger signing-keys rotate` publishes a
// successor before it signs; a second node and a restart publish the same set; and no private
// key - opened here from its sealed row with the server secret, exactly as the server does -
// ever appears in the server's log, the CLI's output or any event.
import assert from 'node:assert/strict';
import { createDecipheriv, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { poll, run_keyledger, start_stack } from './harness.mjs';

let stack;

before(async () => {
  stack = await start_stack({ env: { KEYLEDGER_LOG_LEVEL: 'debug' } });
});

after(async () => {
  if (stack) await stack.close();
});

const jwk_members = ['kty', 'crv', 'x', 'y', 'kid', 'use', 'alg'];

/// GET /oauth/jwks, checked as a verifier would read it.
async function jwks(api) {
  const r = await api.get('/oauth/jwks');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/jwk-set+json');
  assert.deepEqual(Object.keys(r.json), ['keys']);
  for (const k of r.json.keys) {
    assert.deepEqual(Object.keys(k), jwk_members, `exactly the public members, in order: ${JSON.stringify(k)}`);
    assert.equal(k.kty, 'EC');
    assert.equal(k.crv, 'P-256');
    assert.equal(k.use, 'sig');
    assert.equal(k.alg, 'ES256');
    assert.match(k.kid, /^sig_[0-9A-Za-z]{22}$/);
    assert.match(k.x, /^[A-Za-z0-9_-]{43}$/);
    assert.match(k.y, /^[A-Za-z0-9_-]{43}$/);
    // A valid point of P-256 (node refuses a point off the curve).
    const key = createPublicKey({ key: k, format: 'jwk' });
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails.namedCurve, 'prime256v1');
  }
  return r;
}

const kids = (r) => r.json.keys.map((k) => k.kid);

function signing_keys_cli(args) {
  return run_keyledger(['signing-keys', ...args], { DATABASE_URL: stack.db.url, KEYLEDGER_DATA_DIR: stack.data_dir });
}

async function listed() {
  const r = await signing_keys_cli(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).keys;
}

/// Opens a sealed row as the server does: AES-256-GCM (nonce 12 || ciphertext || tag 16) under
/// HKDF-SHA256(server secret, empty salt, "keyledger/signing-keys/v1"), the kid as associated
/// data. Resolves the PKCS#8 DER.
function open_sealed(server_secret, kid, sealed) {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(server_secret), Buffer.alloc(0), 'keyledger/signing-keys/v1', 32));
  const nonce = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(kid));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

test('a fresh server publishes one active P-256 key, briefly cacheable', async () => {
  const r = await jwks(stack.api);
  assert.equal(r.json.keys.length, 1);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=300');
  const keys = await listed();
  assert.equal(keys.length, 1);
  assert.equal(keys[0].kid, r.json.keys[0].kid);
  assert.equal(keys[0].status, 'active');
  const events = await stack.db.query(
    "SELECT type FROM events WHERE stream_id = 'signing_keys-server' ORDER BY version",
  );
  assert.deepEqual(events.rows.map((e) => e.type), ['SigningKeyCreated', 'SigningKeyActivated']);
  assert.ok(stack.server.log_lines().some((l) => l.event === 'signing_key_created' && l.kid === keys[0].kid));
});

test('rotate publishes the new key before it signs; other nodes and restarts agree', async () => {
  const before_rotation = kids(await jwks(stack.api));
  const rotated = await signing_keys_cli(['rotate', '--json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const made = JSON.parse(rotated.stdout);
  assert.equal(made.status, 'pending');
  assert.ok(Date.parse(made.activate_after) - Date.now() > 23 * 3600 * 1000, made.activate_after);

  // The running server learns it from the log and publishes it next to the active key.
  const published = await poll(() => jwks(stack.api), (r) => kids(r).includes(made.kid), {
    what: 'the rotated key in the JWKS',
  });
  assert.deepEqual(kids(published), [...before_rotation, made.kid]);
  const keys = await listed();
  assert.deepEqual(keys.map((k) => [k.kid, k.status]), [[before_rotation[0], 'active'], [made.kid, 'pending']]);

  // A second rotation while this one waits is refused.
  const again = await signing_keys_cli(['rotate']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /PENDING_KEY_EXISTS/);

  // Another node publishes the same set (and makes no key of its own), so does a restart.
  const other = await stack.start_extra_server();
  assert.deepEqual(kids(await jwks(other.api)), kids(published));
  await stack.server.restart();
  assert.deepEqual(kids(await jwks(stack.api)), kids(published));
  assert.equal((await listed()).length, 2);
});

test('no private key reaches the log, the CLI output or the events', async () => {
  // Something to log: a rotation at once, JWKS fetches, a restart.
  const earlier = kids(await jwks(stack.api));
  const emergency = await signing_keys_cli(['rotate', '--immediately']);
  assert.equal(emergency.code, 0, emergency.stderr);
  assert.match(emergency.stdout, /unpublished/);
  const r = await poll(
    () => jwks(stack.api),
    (x) => x.json.keys.length === 1 && !earlier.includes(x.json.keys[0].kid),
    { what: 'only the emergency key in the JWKS' },
  );
  const [current] = r.json.keys;
  await stack.server.restart();
  await jwks(stack.api);
  const exit = await stack.server.stop();
  assert.deepEqual(exit, { code: 0, signal: null });

  const server_secret = (await readFile(path.join(stack.data_dir, 'server.secret'), 'utf8')).trim();
  const rows = (await stack.db.query('SELECT kid, sealed FROM signing_key_secrets ORDER BY created_at')).rows;
  assert.ok(rows.length >= 3, `a sealed row per key, found ${rows.length}`);
  const forms = [];
  let opened_current = false;
  for (const row of rows) {
    const der = open_sealed(server_secret, row.kid, row.sealed);
    const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    assert.equal(jwk.crv, 'P-256');
    if (row.kid === current.kid) {
      // The sealed key is the published one.
      assert.equal(jwk.x, current.x);
      assert.equal(jwk.y, current.y);
      opened_current = true;
    }
    const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' });
    forms.push(
      ['the private scalar (JWK d)', jwk.d],
      ['the DER (base64)', der.toString('base64')],
      ['the DER (base64url)', der.toString('base64url')],
      ['the DER (hex)', der.toString('hex')],
      ['a PEM line', pem.split('\n')[1]],
      ['the sealed row (hex)', row.sealed.toString('hex')],
      ['the sealed row (base64)', row.sealed.toString('base64')],
    );
  }
  assert.ok(opened_current, 'the current key has a sealed row that opens with the server secret');

  const log = stack.server.stderr + stack.server.stdout;
  assert.ok(stack.server.log_lines().length >= 10, 'the server logged enough to judge');
  const cli_output = [emergency.stdout, emergency.stderr].join('\n');
  const events = (await stack.db.query('SELECT payload, metadata FROM events')).rows
    .map((e) => `${e.payload}\n${e.metadata}`)
    .join('\n');
  for (const [what, value] of forms) {
    assert.ok(value && value.length >= 20, `${what} is long enough to search for`);
    assert.ok(!log.includes(value), `${what} is in the server log`);
    assert.ok(!cli_output.includes(value), `${what} is in the CLI output`);
    assert.ok(!events.includes(value), `${what} is in an event`);
  }
  // Nothing private-looking in the events at all, and the server secret nowhere.
  assert.ok(!/"d"/.test(events.replaceAll('\\"', '"')), 'a JWK "d" member in an event');
  assert.ok(!log.includes(server_secret), 'the server secret is in the log');
  assert.ok(!events.includes(server_secret), 'the server secret is in an event');
});
