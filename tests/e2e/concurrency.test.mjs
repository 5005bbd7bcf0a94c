// Conflicting commands on one key at the same time: of many concurrent rotations exactly one
// wins and the others get 409 and change nothing; concurrent revocations append one
// KeyRevoked; rotations racing revocations never leave more than one of each in the stream;
// concurrent PATCHes append one KeyUpdated per 200 and 409 CONFLICT for the others.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { command_event_types, start_stack } from './harness.mjs';

let stack;
let api;
let admin;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  admin = stack.admin_key;
});

after(async () => {
  if (stack) await stack.close();
});

const parallel = 16;
const rounds = 3;

async function create(name) {
  const r = await api.create_key(admin, { name, environment: 'live', scopes: ['leads:read'] });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function keys_rotated_from(id) {
  const rows = await stack.db.psql(
    `SELECT count(*) FROM events WHERE type = 'KeyCreated' AND payload::jsonb->>'rotated_from' = '${id}'`,
  );
  return Number(rows[0][0]);
}

const show = (answers) => answers.map((r) => `${r.status} ${r.text}`).join('\n');

test('concurrent rotations of one key: exactly one 201, the others 409, one KeyRotated', async () => {
  for (let round = 0; round < rounds; round++) {
    const old = await create(`race-rotate-${round}`);
    const answers = await Promise.all(
      Array.from({ length: parallel }, () => api.rotate_key(admin, old.id, { grace_period_seconds: 60 })),
    );
    const won = answers.filter((r) => r.status === 201);
    const lost = answers.filter((r) => r.status !== 201);
    assert.equal(won.length, 1, `round ${round}:\n${show(answers)}`);
    for (const r of lost) {
      assert.equal(r.status, 409, `round ${round}: ${r.status} ${r.text}`);
      assert.ok(['CONFLICT', 'KEY_ALREADY_ROTATED'].includes(r.json?.code), r.text);
      assert.ok(!('key' in r.json), 'a refused rotation shows no secret');
    }
    assert.deepEqual(await command_event_types(stack.db, old.id), ['KeyCreated', 'KeyRotated'], `round ${round}`);
    assert.equal(await keys_rotated_from(old.id), 1, 'one new key');
    const g = await api.get_key(admin, old.id);
    assert.equal(g.json.rotated_to, won[0].json.id);
    assert.equal((await api.verify(won[0].json.key)).json.code, 'VALID');
  }
});

test('concurrent revocations of one key append one KeyRevoked', async () => {
  for (let round = 0; round < rounds; round++) {
    const k = await create(`race-revoke-${round}`);
    const answers = await Promise.all(Array.from({ length: parallel }, () => api.revoke_key(admin, k.id)));
    assert.ok(answers.some((r) => r.status === 204), show(answers));
    for (const r of answers) {
      // 204: revoked now, or found revoked already (nothing appended); 409: lost the race.
      assert.ok(r.status === 204 || (r.status === 409 && r.json?.code === 'CONFLICT'), `${r.status} ${r.text}`);
    }
    assert.deepEqual(await command_event_types(stack.db, k.id), ['KeyCreated', 'KeyRevoked'], `round ${round}`);
    assert.equal((await api.verify(k.key)).json.code, 'REVOKED');
  }
});

test('rotations racing revocations: one of each at most, and losers change nothing', async () => {
  for (let round = 0; round < rounds; round++) {
    const k = await create(`race-mixed-${round}`);
    const answers = await Promise.all(
      Array.from({ length: parallel }, (_, i) =>
        i % 2 === 0
          ? api.rotate_key(admin, k.id, { grace_period_seconds: 60 }).then((r) => ({ ...r, op: 'rotate' }))
          : api.revoke_key(admin, k.id).then((r) => ({ ...r, op: 'revoke' })),
      ),
    );
    const ctx = `round ${round}:\n${answers.map((r) => `${r.op} ${r.status} ${r.text}`).join('\n')}`;
    const rotations = answers.filter((r) => r.op === 'rotate' && r.status === 201);
    const revocations = answers.filter((r) => r.op === 'revoke' && r.status === 204);
    for (const r of answers) {
      if (r.op === 'rotate' && r.status !== 201) {
        assert.equal(r.status, 409, ctx);
        assert.ok(['CONFLICT', 'KEY_ALREADY_ROTATED', 'KEY_REVOKED'].includes(r.json?.code), ctx);
      }
      if (r.op === 'revoke' && r.status !== 204) {
        assert.equal(r.status, 409, ctx);
        assert.equal(r.json?.code, 'CONFLICT', ctx);
      }
    }
    const types = await command_event_types(stack.db, k.id);
    assert.ok(rotations.length <= 1, ctx);
    assert.equal(types.filter((t) => t === 'KeyRotated').length, rotations.length, `${types} ${ctx}`);
    assert.equal(types.filter((t) => t === 'KeyRevoked').length, revocations.length > 0 ? 1 : 0, `${types} ${ctx}`);
    assert.equal(await keys_rotated_from(k.id), rotations.length, ctx);
    assert.equal(types.length, 1 + rotations.length + (revocations.length > 0 ? 1 : 0), `${types} ${ctx}`);
    // A revocation that came first leaves nothing to rotate.
    if (types[1] === 'KeyRevoked') assert.equal(rotations.length, 0, ctx);
    assert.equal((await api.verify(k.key)).json.code, revocations.length > 0 ? 'REVOKED' : 'VALID', ctx);
  }
});

test('concurrent PATCHes: each 200 appended its change, each 409 CONFLICT nothing', async () => {
  for (let round = 0; round < rounds; round++) {
    const k = await create(`race-patch-${round}`);
    const answers = await Promise.all(
      Array.from({ length: parallel }, (_, i) => api.patch_key(admin, k.id, { name: `race-patch-${round}-${i}` })),
    );
    const ok = answers.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1, show(answers));
    for (const r of answers.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 409, `${r.status} ${r.text}`);
      assert.equal(r.json?.code, 'CONFLICT', r.text);
    }
    const types = await command_event_types(stack.db, k.id);
    assert.deepEqual(types, ['KeyCreated', ...ok.map(() => 'KeyUpdated')], show(answers));
    const names = ok.map((r) => r.json.name);
    const final = (await api.get_key(admin, k.id)).json.name;
    assert.ok(names.includes(final), `${final} is one of the accepted names ${names}`);
  }
});
