// Leaked-key reports against the real server: a P-256 key pair plays GitHub's secret scanning
// (node:crypto signs the exact body, as GitHub does), the server trusts its public key through
// KEYLEDGER_LEAK_REPORTER_KEYS (one key by file, one inline). A signed report revokes the keys
// it names on every node, answers GitHub's feedback format, records KeyLeaked in the key's
// history; unsigned, unknown-key and badly signed reports change nothing; the workspace's
// on_leak "disable" disables instead; no secret reaches the log. And `keyledger scan` on a tree
// with real keys and near-misses.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assert_error, event_count, key_body, key_event_types, make_key, run_keyledger, start_stack, wait_for } from './harness.mjs';

const file_key_id = 'gh-test-1';
const inline_key_id = 'gh-test-2';
const report_type = 'keyledger_api_key';
const source_url = 'https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt';

let stack;
let api;
let second;  // another node on the same database
let dir;
const reporters = {
  [file_key_id]: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  [inline_key_id]: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
};
const secrets = [];

const public_pem = (id) => reporters[id].publicKey.export({ type: 'spki', format: 'pem' });

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyledger-leaks-'));
  const pem_path = path.join(dir, 'reporter.pem');
  await writeFile(pem_path, public_pem(file_key_id));
  const inline = public_pem(inline_key_id).trim().replaceAll('\n', '\\n');
  const env = {
    KEYLEDGER_LEAK_REPORTER_KEYS: `${file_key_id}=${pem_path}, ${inline_key_id}=${inline}`,
    KEYLEDGER_LOG_LEVEL: 'debug',
  };
  stack = await start_stack({ env });
  api = stack.api;
  second = await stack.start_extra_server(env);
  secrets.push(stack.admin_key);
});

after(async () => {
  if (stack) await stack.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/// GitHub's report body: a JSON array of {token, type, url, source}.
function report_of(tokens, url = source_url) {
  return JSON.stringify(tokens.map((token) => ({ token, type: report_type, url, source: 'content' })));
}

/// Base64 DER ECDSA P-256/SHA-256 of the exact bytes (node signs EC keys in DER by default).
function signature_of(body, id = file_key_id) {
  return sign('sha256', Buffer.from(body), reporters[id].privateKey).toString('base64');
}

function post_report(body, { id = file_key_id, signature = signature_of(body, id), headers, to = api } = {}) {
  const h = headers ?? {
    'content-type': 'application/json',
    'github-public-key-identifier': id,
    'github-public-key-signature': signature,
  };
  return to.request('POST', '/v1/leaks', { body, headers: h });
}

const sha256_hex = (text) => createHash('sha256').update(text).digest('hex');

async function create(fields) {
  const r = await api.create_key(stack.admin_key, { name: 'leak-test', environment: 'live', ...fields });
  assert.equal(r.status, 201, r.text);
  secrets.push(r.json.key);
  return r.json;
}

/// The key with its last checksum character changed: keyledger-looking, not a key.
function with_bad_checksum(key) {
  const last = key.at(-1);
  return key.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

describe('signed reports', () => {
  test('revoke the live and test keys they name, at once on every node, and label every string', async () => {
    const live = await create({ name: 'leaked-live', environment: 'live' });
    const sandbox = await create({ name: 'leaked-test', environment: 'test' });
    const bystander = await create({ name: 'bystander' });
    const looks_like = with_bad_checksum(live.key);
    const unknown = make_key('kl', 'live');
    const unrelated = 'ghp_' + 'x'.repeat(36);
    const tokens = [live.key, sandbox.key, looks_like, unknown, unrelated];
    secrets.push(looks_like, unknown);
    const body = report_of(tokens);

    const r = await post_report(body, { to: second.api });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json,
      tokens.map((t, i) => ({ token_hash: sha256_hex(t), token_type: report_type, label: i < 2 ? 'true_positive' : 'false_positive' })),
    );
    for (const t of tokens) assert.ok(!r.text.includes(t), 'the answer never echoes a token');

    // Refused on the node that took the report before it answered, and on the other node.
    for (const k of [live, sandbox]) {
      assert.equal((await second.api.verify(k.key)).json.code, 'REVOKED');
      await wait_for(async () => (await api.verify(k.key)).json.code === 'REVOKED', {
        deadline_ms: 2_000,
        interval_ms: 5,
        what: `${k.name} refused by the other node`,
      });
    }
    assert.equal((await api.verify(bystander.key)).json.code, 'VALID');
    assert.deepEqual(await key_event_types(stack.db, live.id), ['KeyCreated', 'KeyLeaked', 'KeyRevoked']);
    assert.deepEqual(await key_event_types(stack.db, bystander.id), ['KeyCreated']);

    // The history tells who reported it and where it was found; the event holds no secret.
    const h = await api.get(`/v1/keys/${live.id}/history`, { key: stack.admin_key });
    assert.equal(h.status, 200, h.text);
    const leaked = h.json.data.find((e) => e.type === 'KeyLeaked');
    assert.ok(leaked, h.text);
    assert.equal(leaked.actor, `leak-reporter:${file_key_id}`);
    assert.match(leaked.description, /^Reported leaked \(found in content at https:\/\/github\.com\/octocat\/Hello-World\/blob\/.*\): revoked at once\.$/);
    const rows = await stack.db.psql(`SELECT payload FROM events WHERE stream_id = 'api_key-${live.id}' AND type = 'KeyLeaked'`);
    const payload = JSON.parse(rows[0][0]);
    assert.deepEqual(Object.keys(payload).sort(), ['action', 'key_id', 'reported_at', 'source', 'url']);
    assert.equal(payload.url, source_url);
    assert.equal(payload.action, 'revoked');
    assert.ok(!rows[0][0].includes(key_body(live.key)));

    // The same report again (GitHub's retry) appends nothing; the answer is the same.
    const before_retry = await event_count(stack.db);
    const again = await post_report(body);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, r.json);
    assert.equal(await event_count(stack.db), before_retry);

    // One log line per report with its counts.
    await wait_for(() => second.server.log_lines().some((l) => l.event === 'leak_report'), { what: 'the leak_report line' });
    const line = second.server.log_lines().find((l) => l.event === 'leak_report');
    assert.equal(line.reporter_key_id, file_key_id);
    assert.deepEqual([line.strings, line.revoked, line.disabled, line.unknown, line.malformed], ['5', '2', '0', '1', '2']);
  });

  test('the inline reporter key signs too, and a disable workspace gets its key disabled', async () => {
    const set = await api.patch('/v1/workspace', { key: stack.admin_key, json: { on_leak: 'disable' } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.on_leak, 'disable');
    try {
      const k = await create({ name: 'leaked-disable' });
      const r = await post_report(report_of([k.key]), { id: inline_key_id });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json[0].label, 'true_positive');
      assert.equal((await api.verify(k.key)).json.code, 'DISABLED');
      assert.deepEqual(await key_event_types(stack.db, k.id), ['KeyCreated', 'KeyLeaked', 'KeyDisabled']);
      const got = await api.get_key(stack.admin_key, k.id);
      assert.equal(got.json.status, 'disabled');
      // An owner may look and turn it back on.
      assert.equal((await api.patch_key(stack.admin_key, k.id, { enabled: true })).status, 200);
      assert.equal((await api.verify(k.key)).json.code, 'VALID');
    } finally {
      const back = await api.patch('/v1/workspace', { key: stack.admin_key, json: { on_leak: 'revoke' } });
      assert.equal(back.status, 200, back.text);
    }
  });
});

describe('reports that are not trusted or not well-formed', () => {
  test('unsigned, unknown key id, bad signature and malformed bodies are refused and change nothing', async () => {
    const k = await create({ name: 'not-leaked' });
    const body = report_of([k.key]);
    const before_count = await event_count(stack.db);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = sign('sha256', Buffer.from(body), other.privateKey).toString('base64');
    const tampered = body.replace('"content"', '"commit"');
    assert_error(await post_report(body, { headers: { 'content-type': 'application/json' } }), 401, 'LEAK_SIGNATURE_REQUIRED', 'unsigned');
    assert_error(await post_report(body, { id: 'gh-unknown', signature: signature_of(body) }), 401, 'UNKNOWN_REPORTER_KEY', 'unknown key id');
    assert_error(await post_report(body, { signature: foreign }), 401, 'INVALID_SIGNATURE', 'another key');
    assert_error(await post_report(tampered, { signature: signature_of(body) }), 401, 'INVALID_SIGNATURE', 'another body');
    assert_error(await post_report(body, { signature: signature_of(body, inline_key_id) }), 401, 'INVALID_SIGNATURE', 'the other reporter key');
    assert_error(await post_report(body, { signature: 'bm90IGEgc2lnbmF0dXJl' }), 401, 'INVALID_SIGNATURE', 'not DER');
    for (const bad of ['{}', '[1]', '[{"token":"x"}]', `[{"token":"x","type":"t","url":"a b"}]`, '[{"token":']) {
      const r = await post_report(bad);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.ok(['INVALID_JSON', 'INVALID_FIELD'].includes(r.json.code), r.text);
    }
    const big = report_of(Array.from({ length: 400 }, () => make_key('kl', 'live')));
    assert.ok(big.length > 64 * 1024);
    assert_error(await post_report(big), 413, 'PAYLOAD_TOO_LARGE', 'oversized');
    assert.equal(await event_count(stack.db), before_count, 'nothing appended');
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
  });

  test('a server without reporter keys refuses every report', async () => {
    const k = await create({ name: 'not-configured' });
    const lonely = await stack.start_extra_server({});
    const body = report_of([k.key]);
    assert_error(await post_report(body, { to: lonely.api }), 403, 'LEAK_REPORTS_NOT_CONFIGURED', 'no keys configured');
    assert.equal((await api.verify(k.key)).json.code, 'VALID');
  });
});

test('no reported secret reaches any server log', async () => {
  const logs = stack.server.stderr + second.server.stderr;
  assert.ok(logs.includes('"event":"leak_report"'));
  for (const s of secrets) {
    assert.ok(!logs.includes(s), 'a key is in the log');
    assert.ok(!logs.includes(key_body(s)), 'a key body is in the log');
    assert.ok(!logs.includes(sha256_hex(s)), 'a token hash is in the log');
  }
});

test('keyledger scan finds the real keys of a tree by file and line, never printing them', async () => {
  const tree = path.join(dir, 'tree');
  await mkdir(path.join(tree, 'src'), { recursive: true });
  await mkdir(path.join(tree, '.git'), { recursive: true });
  const real = make_key('kl', 'live');
  const other = make_key('acme', 'test');
  await writeFile(path.join(tree, 'src', 'app.env'), `# config\nKEY=${real}\n`);
  await writeFile(path.join(tree, 'README.md'), `near miss: ${with_bad_checksum(real)}\nand ${other}\n`);
  await writeFile(path.join(tree, '.git', 'packed'), `${real}\n`);
  await writeFile(path.join(tree, 'blob.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(real)]));
  const r = await run_keyledger(['scan', tree], {});
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stdout,
    `${path.join(tree, 'README.md')}:2: ${other.slice(0, 'acme_test_'.length + 4)}...\n` +
      `${path.join(tree, 'src', 'app.env')}:2: ${real.slice(0, 'kl_live_'.length + 4)}...\n`,
  );
  for (const k of [real, other]) assert.ok(!(r.stdout + r.stderr).includes(key_body(k).slice(4)), 'only the visible start');
  const missing = await run_keyledger(['scan', path.join(tree, 'nope')], {});
  assert.equal(missing.code, 2, missing.stderr);
  assert.equal((await run_keyledger(['scan'], {})).code, 2);
});
