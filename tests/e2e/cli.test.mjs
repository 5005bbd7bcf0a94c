// `keyledger keys list|create|rotate|revoke`: the real binary as an HTTP client of a running
// server (KEYLEDGER_URL, KEYLEDGER_API_KEY): tables and --json, the secret shown once, exit
// statuses (0 ok, 1 API or network error, 2 usage), errors carrying the API's code, and the
// API key never printed. A fake server (node:http) covers what a real one never answers:
// rate limits, foreign error pages, control characters, a list that never ends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { free_port, key_pattern, make_key, poll, run_keyledger, start_stack } from './harness.mjs';
import { add_user, create_owned_key } from './people.mjs';

let stack;
let api;
let env;
let prefix;

before(async () => {
  stack = await start_stack();
  api = stack.api;
  prefix = stack.workspace.prefix ?? 'kl';
  env = { KEYLEDGER_URL: stack.server.base_url, KEYLEDGER_API_KEY: stack.admin_key };
});

after(async () => {
  if (stack) await stack.close();
});

/// Runs `keyledger keys <args>` against the stack (or `extra_env`'s server); asserts that the
/// API key in use appears in neither output.
async function keys(args, extra_env = {}) {
  const e = { ...env, ...extra_env };
  const r = await run_keyledger(['keys', ...args], e);
  if (e.KEYLEDGER_API_KEY) {
    assert.ok(!r.stdout.includes(e.KEYLEDGER_API_KEY), `stdout shows the API key:\n${r.stdout}`);
    assert.ok(!r.stderr.includes(e.KEYLEDGER_API_KEY), `stderr shows the API key:\n${r.stderr}`);
  }
  return r;
}

const show = (r) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

const columns = ['ID', 'NAME', 'ENV', 'STATUS', 'START', 'CREATED', 'EXPIRES', 'LAST USED'];

/// The table on stdout as objects keyed by column title (cells cut at the header's column
/// starts, so names with spaces survive).
function parse_table(stdout) {
  const lines = stdout.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 1, `no table:\n${stdout}`);
  const header = lines[0];
  const starts = columns.map((c) => header.indexOf(c));
  assert.deepEqual(
    header.split(/ {2,}/),
    columns,
    `the header has the columns in order:\n${header}`,
  );
  return lines.slice(1).map((line) => {
    const row = {};
    columns.forEach((c, i) => {
      row[c] = line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
    });
    return row;
  });
}

/// "2026-11-23T19:36:02.123456Z" as the table shows it.
const short_time = (t) => `${t.slice(0, 10)} ${t.slice(11, 16)}`;

/// Creates a key through the API (not the CLI) for tests that need one.
async function api_key_named(name, fields = {}) {
  const r = await api.create_key(stack.admin_key, { name, environment: 'test', ...fields });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function all_key_ids(query = {}) {
  const ids = [];
  let cursor;
  do {
    const r = await api.list_keys(stack.admin_key, { limit: 100, ...query, cursor });
    assert.equal(r.status, 200, r.text);
    ids.push(...r.json.data.map((k) => k.id));
    cursor = r.json.next_cursor ?? undefined;
  } while (cursor);
  return ids;
}

describe('help and usage', () => {
  test('--help on keys and each subcommand, without any settings', async () => {
    const no_env = { KEYLEDGER_URL: '', KEYLEDGER_API_KEY: '' };
    const top = await keys(['--help'], no_env);
    assert.equal(top.code, 0, show(top));
    for (const word of ['list', 'create', 'rotate', 'revoke', 'KEYLEDGER_URL', 'KEYLEDGER_API_KEY']) {
      assert.ok(top.stdout.includes(word), `keys --help mentions ${word}:\n${top.stdout}`);
    }
    const expected = {
      list: ['--name', '--environment', '--status', '--limit', '--cursor', '--all', '--json'],
      create: ['--name', '--environment', '--scope', '--expires-in-days', '--never-expires', '--cidr', '--json'],
      rotate: ['id', '--grace-period-seconds', '--json'],
      revoke: ['id'],
    };
    for (const [sub, options] of Object.entries(expected)) {
      const r = await keys([sub, '--help'], no_env);
      assert.equal(r.code, 0, show(r));
      for (const o of [...options, 'KEYLEDGER_API_KEY']) {
        assert.ok(r.stdout.includes(o), `keys ${sub} --help mentions ${o}:\n${r.stdout}`);
      }
    }
  });

  test('bad arguments exit 2 without contacting the server', async () => {
    // A URL where nothing listens: had any of these been sent, the exit would be 1.
    const nowhere = { KEYLEDGER_URL: `http://127.0.0.1:${await free_port()}` };
    const cases = [
      [],
      ['frobnicate'],
      ['list', '--environment', 'prod'],
      ['list', '--status', 'sleeping'],
      ['list', '--limit', '0'],
      ['list', '--limit', '101'],
      ['list', '--unknown'],
      ['create', '--environment', 'live'],
      ['create', '--name', 'x'],
      ['create', '--name', 'x', '--environment', 'live', '--expires-in-days', 'soon'],
      ['create', '--name', 'x', '--environment', 'live', '--expires-in-days', '3', '--never-expires'],
      ['rotate'],
      ['rotate', 'key_x', '--grace-period-seconds', '-1'],
      ['revoke'],
      ['revoke', 'key_a', 'key_b'],
    ];
    for (const args of cases) {
      const r = await keys(args, nowhere);
      assert.equal(r.code, 2, `keys ${args.join(' ')}: ${show(r)}`);
      assert.ok(r.stderr.trim() !== '', `keys ${args.join(' ')} says why on stderr`);
    }
  });

  test('a missing KEYLEDGER_API_KEY is a usage error with a clear message', async () => {
    for (const value of ['', '   ']) {
      const r = await keys(['list'], { KEYLEDGER_API_KEY: value });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /KEYLEDGER_API_KEY is not set/);
      assert.equal(r.stdout, '');
    }
  });

  test('https:// is accepted and goes through TLS; credentials in the URL are refused unshown', async () => {
    const tls = await keys(['list'], { KEYLEDGER_URL: 'https://keyledger-test.invalid' });
    assert.equal(tls.code, 1, show(tls));
    assert.match(tls.stderr, /cannot resolve keyledger-test\.invalid/);

    const bad_ca = await keys(['list'], {
      KEYLEDGER_URL: `https://127.0.0.1:${stack.server.port}`,
      KEYLEDGER_CA_FILE: '/nonexistent/keyledger-ca.pem',
    });
    assert.equal(bad_ca.code, 1, show(bad_ca));
    assert.match(bad_ca.stderr, /cannot load the CA file/);

    for (const scheme of ['http', 'https']) {
      const creds = await keys(['list'], { KEYLEDGER_URL: `${scheme}://admin:hunter2@127.0.0.1:${stack.server.port}` });
      assert.equal(creds.code, 2, show(creds));
      assert.ok(!creds.stderr.includes('hunter2'), creds.stderr);
    }
  });

  test('an unreachable server exits 1 saying so', async () => {
    const port = await free_port();
    const r = await keys(['list'], { KEYLEDGER_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}`));
  });
});

describe('create', () => {
  test('prints the secret alone on stdout, once, with a warning and a summary on stderr', async () => {
    const r = await keys([
      'create', '--name', 'cli deploy', '--environment', 'live',
      '--scope', 'leads:read', '--scope', 'leads:write', '--expires-in-days', '30',
      '--cidr', '10.0.0.0/8,192.0.2.7',
    ]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.split('\n').filter((l) => l !== '').length, 1, show(r));
    const secret = r.stdout.trim();
    assert.match(secret, key_pattern(prefix));
    assert.ok(secret.startsWith(`${prefix}_live_`), secret);
    assert.match(r.stderr, /shown only this once/);
    assert.match(r.stderr, /"cli deploy"/);
    assert.ok(!r.stderr.includes(secret), 'the secret is on stdout only');

    // The key exists as asked and works from an allowed address.
    const id = /(key_[0-9A-Za-z]{22})/.exec(r.stderr)?.[1];
    assert.ok(id, `the summary names the key's id:\n${r.stderr}`);
    const k = (await api.get_key(stack.admin_key, id)).json;
    assert.equal(k.name, 'cli deploy');
    assert.equal(k.environment, 'live');
    assert.deepEqual(k.scopes, ['leads:read', 'leads:write']);
    assert.deepEqual(k.allowed_cidrs, ['10.0.0.0/8', '192.0.2.7/32']);
    const days = (Date.parse(k.expires_at) - Date.parse(k.created_at)) / 86_400_000;
    assert.ok(Math.abs(days - 30) < 0.01, `expires in 30 days: ${k.created_at} -> ${k.expires_at}`);
    const v = await api.verify(secret, { ip: '10.1.2.3', required_scopes: ['leads:read'] });
    assert.equal(v.json.valid, true, v.text);
    assert.equal(v.json.key_id, id);
  });

  test('--json prints the API answer, "key" included, with the warning on stderr', async () => {
    const r = await keys(['create', '--name', 'cli-json', '--environment', 'test', '--json']);
    assert.equal(r.code, 0, show(r));
    const k = JSON.parse(r.stdout);
    assert.match(k.key, key_pattern(prefix));
    assert.match(k.id, /^key_/);
    assert.equal(k.name, 'cli-json');
    assert.equal(k.environment, 'test');
    assert.deepEqual(k.scopes, []);
    assert.equal(k.status, 'active');
    assert.match(r.stderr, /shown only this once/);
    assert.equal((await api.verify(k.key)).json.valid, true);
  });

  test("the API's refusal exits 1 with its status, code and message", async () => {
    const r = await keys(['create', '--name', 'x', '--environment', 'test', '--cidr', '10.0.0.1/8']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /400 INVALID_FIELD: .*allowed_cidrs/);
    assert.match(r.stderr, /\[request req_[0-9A-Za-z]+\]/);
    assert.equal(r.stdout, '');
  });
});

describe('list', () => {
  test('a table with every key: id, name, environment, status, start, times', async () => {
    const k = await api_key_named('table row');
    const r = await keys(['list', '--limit', '100']);
    assert.equal(r.code, 0, show(r));
    const rows = parse_table(r.stdout);
    const row = rows.find((x) => x.ID === k.id);
    assert.ok(row, `the new key is listed:\n${r.stdout}`);
    assert.deepEqual(row, {
      ID: k.id,
      NAME: 'table row',
      ENV: 'test',
      STATUS: 'active',
      START: k.start,
      CREATED: short_time(k.created_at),
      EXPIRES: short_time(k.expires_at),
      'LAST USED': 'never',
    });
    assert.deepEqual(rows.map((x) => x.ID), await all_key_ids(), 'newest first, all of them');
  });

  test('LAST USED shows when a key was last used', async () => {
    // The admin key authenticates every request; its last use is written in batches (~1 s).
    const admin_id = stack.workspace.key_id;
    const row = await poll(
      async () => parse_table((await keys(['list', '--limit', '100'])).stdout).find((x) => x.ID === admin_id),
      (x) => x && x['LAST USED'] !== 'never',
      { deadline_ms: 10_000, interval_ms: 100, what: "the admin key's last use in the table" },
    );
    const k = (await api.get_key(stack.admin_key, admin_id)).json;
    assert.match(row['LAST USED'], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    assert.ok(k.last_used_at && row['LAST USED'] <= short_time(k.last_used_at), `${row['LAST USED']} vs ${k.last_used_at}`);
  });

  test('filters: --name, --environment, --status', async () => {
    const a = await api_key_named('filter-Alpha one');
    const b = await api_key_named('filter-beta', { environment: 'live' });
    const c = await api_key_named('filter-gamma');
    assert.equal((await api.revoke_key(stack.admin_key, c.id)).status, 204);

    const by_name = parse_table((await keys(['list', '--name', 'FILTER-alpha'])).stdout);
    assert.deepEqual(by_name.map((x) => x.ID), [a.id]);

    const live = parse_table((await keys(['list', '--name', 'filter-', '--environment', 'live'])).stdout);
    assert.deepEqual(live.map((x) => x.ID), [b.id]);

    const revoked = parse_table((await keys(['list', '--name', 'filter-', '--status', 'revoked'])).stdout);
    assert.deepEqual(revoked.map((x) => [x.ID, x.STATUS]), [[c.id, 'revoked']]);

    const none = await keys(['list', '--name', 'no key is called this']);
    assert.equal(none.code, 0, show(none));
    assert.equal(none.stdout, 'No keys.\n');
  });

  test('--json prints the API answer as it is', async () => {
    await api_key_named('json-list-1');
    await api_key_named('json-list-2');
    const r = await keys(['list', '--name', 'json-list-', '--limit', '1', '--json']);
    assert.equal(r.code, 0, show(r));
    const page = JSON.parse(r.stdout);
    const expected = (await api.list_keys(stack.admin_key, { name: 'json-list-', limit: 1 })).json;
    assert.deepEqual(page, expected);
    assert.equal(page.data.length, 1);
    assert.equal(typeof page.next_cursor, 'string');

    // --cursor continues from there.
    const next = await keys(['list', '--name', 'json-list-', '--limit', '1', '--json', '--cursor', page.next_cursor]);
    assert.equal(next.code, 0, show(next));
    assert.deepEqual(JSON.parse(next.stdout).data.map((k) => k.name), ['json-list-1']);
  });

  test('pages: --limit shows one page and says more follow; --all follows next_cursor', async () => {
    for (let i = 0; i < 3; i++) await api_key_named(`paged-${i}`);
    const expected = await all_key_ids({ name: 'paged-' });
    assert.equal(expected.length, 3);

    const one = await keys(['list', '--name', 'paged-', '--limit', '2']);
    assert.equal(one.code, 0, show(one));
    assert.deepEqual(parse_table(one.stdout).map((x) => x.ID), expected.slice(0, 2));
    assert.match(one.stderr, /More keys follow: add --all, or --cursor \S+/);

    const all = await keys(['list', '--name', 'paged-', '--limit', '1', '--all']);
    assert.equal(all.code, 0, show(all));
    assert.deepEqual(parse_table(all.stdout).map((x) => x.ID), expected);
    assert.equal(all.stderr, '');

    const all_json = await keys(['list', '--name', 'paged-', '--limit', '2', '--all', '--json']);
    assert.equal(all_json.code, 0, show(all_json));
    const combined = JSON.parse(all_json.stdout);
    assert.deepEqual(Object.keys(combined).sort(), ['data', 'next_cursor']);
    assert.equal(combined.next_cursor, null);
    assert.deepEqual(combined.data.map((k) => k.id), expected);
    assert.equal(combined.data[0].name, 'paged-2');
  });

  test('a key without keys:read is refused: exit 1 with 403 FORBIDDEN', async () => {
    const writer = await api_key_named('writer only', { scopes: ['keys:write'] });
    const r = await keys(['list'], { KEYLEDGER_API_KEY: writer.key });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /403 FORBIDDEN/);
    assert.equal(r.stdout, '');
  });

  test('an unknown API key: exit 1 with 401 UNAUTHORIZED, the key never shown', async () => {
    const unknown = make_key(prefix, 'live');
    const r = await keys(['list'], { KEYLEDGER_API_KEY: unknown });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /401 UNAUTHORIZED: The provided API key is invalid or expired/);
  });
});

describe('owners and roles', () => {
  test("a member's key lists only the member's keys; removing the owner shows why its keys are disabled", async () => {
    const admin = { key: stack.admin_key };
    const member = await add_user(api, stack.server, admin, { role: 'member' });
    const own = await create_owned_key(api, { session: member.session }, { name: 'cli-member-own', scopes: ['keys:read', 'keys:write'] });
    const other = await api_key_named('cli-not-the-members');

    const mine = await keys(['list', '--limit', '100'], { KEYLEDGER_API_KEY: own.key });
    assert.equal(mine.code, 0, show(mine));
    assert.deepEqual(parse_table(mine.stdout).map((x) => x.ID), [own.id]);
    const theirs = await keys(['revoke', other.id], { KEYLEDGER_API_KEY: own.key });
    assert.equal(theirs.code, 1, show(theirs));
    assert.match(theirs.stderr, /404 NOT_FOUND/, 'another owner\'s key is not there for a member');

    const removed = await api.del(`/v1/users/${member.id}`, admin);
    assert.equal(removed.status, 204, removed.text);
    const rows = parse_table((await keys(['list', '--name', 'cli-member-own'])).stdout);
    assert.deepEqual(rows.map((x) => [x.ID, x.STATUS]), [[own.id, 'disabled (owner removed)']]);
    const gone = await keys(['list'], { KEYLEDGER_API_KEY: own.key });
    assert.equal(gone.code, 1, show(gone));
    assert.match(gone.stderr, /401 UNAUTHORIZED/);
  });
});

describe('rotate', () => {
  test('prints the new secret once; the old key keeps working for the grace period', async () => {
    const old = await api_key_named('to rotate', { scopes: ['leads:read'] });
    const r = await keys(['rotate', old.id, '--grace-period-seconds', '3600']);
    assert.equal(r.code, 0, show(r));
    const secret = r.stdout.trim();
    assert.match(secret, key_pattern(prefix));
    assert.equal(r.stdout, `${secret}\n`);
    assert.match(r.stderr, /shown only this once/);
    assert.match(r.stderr, /3600 s/);
    assert.ok(r.stderr.includes(old.id), r.stderr);

    const v_new = await api.verify(secret);
    assert.equal(v_new.json.valid, true, v_new.text);
    assert.deepEqual(v_new.json.scopes, ['leads:read']);
    assert.equal(v_new.json.name, 'to rotate');
    const v_old = await api.verify(old.key);
    assert.equal(v_old.json.valid, true, 'the old key works during the grace period');
    const old_now = (await api.get_key(stack.admin_key, old.id)).json;
    assert.equal(old_now.rotated_to, v_new.json.key_id);
    const grace_end = Date.parse(old_now.expires_at) - Date.now();
    assert.ok(grace_end > 3500_000 && grace_end <= 3600_000, `old key expires in ~1 h: ${old_now.expires_at}`);

    // Only the newest key of a chain can be rotated.
    const again = await keys(['rotate', old.id]);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stderr, /409 KEY_ALREADY_ROTATED/);
    assert.equal(again.stdout, '');
  });

  test('--json prints the new key object; without a grace period the default applies', async () => {
    const old = await api_key_named('rotate json');
    const r = await keys(['rotate', old.id, '--json']);
    assert.equal(r.code, 0, show(r));
    const k = JSON.parse(r.stdout);
    assert.match(k.key, key_pattern(prefix));
    assert.equal(k.rotated_from, old.id);
    const old_now = (await api.get_key(stack.admin_key, old.id)).json;
    const grace_end = Date.parse(old_now.expires_at) - Date.now();
    assert.ok(grace_end > 86_000_000 && grace_end <= 86_400_000, `default grace 24 h: ${old_now.expires_at}`);
  });

  test('grace 0 stops the old key at once', async () => {
    const old = await api_key_named('rotate now');
    const r = await keys(['rotate', old.id, '--grace-period-seconds', '0']);
    assert.equal(r.code, 0, show(r));
    assert.equal((await api.verify(old.key)).json.code, 'EXPIRED');
    assert.equal((await api.verify(r.stdout.trim())).json.valid, true);
  });
});

describe('revoke', () => {
  test('revokes at once; again is fine; the list shows it revoked', async () => {
    const k = await api_key_named('to revoke');
    const r = await keys(['revoke', k.id]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, `Revoked ${k.id}.\n`);
    assert.deepEqual((await api.verify(k.key)).json, { valid: false, code: 'REVOKED' });

    const again = await keys(['revoke', k.id]);
    assert.equal(again.code, 0, show(again));

    const rows = parse_table((await keys(['list', '--name', 'to revoke'])).stdout);
    assert.deepEqual(rows.map((x) => [x.ID, x.STATUS]), [[k.id, 'revoked']]);
  });

  test('an unknown id exits 1 with 404 NOT_FOUND; odd ids stay inside the path', async () => {
    const r = await keys(['revoke', 'key_0000000000000000000000']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /404 NOT_FOUND/);
    for (const odd of ['../../healthz', 'key_x?y=1', 'key x']) {
      const o = await keys(['revoke', odd]);
      assert.equal(o.code, 1, `revoke ${odd}: ${show(o)}`);
      assert.match(o.stderr, /404 (NOT_FOUND|NO_ROUTE)/, `revoke ${odd}`);
    }
  });
});

// ---- a fake server ----------------------------------------------------------------------------

/// A node:http server answering with `handler(req, body) -> {status, headers, body}`; records
/// every request as { method, url, headers, body }.
async function fake_server(handler) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const answer = handler(req, body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    requests,
    url: `http://127.0.0.1:${srv.address().port}`,
    async close() {
      srv.closeAllConnections?.();
      srv.close();
      await once(srv, 'close');
    },
  };
}

const fake_key = 'kl_test_FakeFakeFakeFakeFakeFakeFakeFakeFa';

function listed_key(fields) {
  return {
    id: 'key_AAAAAAAAAAAAAAAAAAAAAA', name: 'fake', start: 'kl_test_Fake', environment: 'test',
    scopes: [], status: 'active', created_at: '2026-11-23T19:36:02.123456Z', expires_at: null,
    last_used_at: null, disabled_reason: null, ...fields,
  };
}

describe('against a fake server', () => {
  test('sends the key as Bearer, the API version, and percent-encoded filters under the base path', async () => {
    const fake = await fake_server(() => ({ status: 200, body: { data: [], next_cursor: null } }));
    try {
      const r = await keys(['list', '--name', 'ci deploy&x=1/é', '--environment', 'live', '--status', 'active', '--limit', '7'], {
        KEYLEDGER_URL: `${fake.url}/base/`,
        KEYLEDGER_API_KEY: ` ${fake_key}\n`,
      });
      assert.equal(r.code, 0, show(r));
      assert.equal(fake.requests.length, 1);
      const q = fake.requests[0];
      assert.equal(q.method, 'GET');
      assert.equal(q.url, '/base/v1/keys?name=ci%20deploy%26x%3D1%2F%C3%A9&environment=live&status=active&limit=7');
      assert.equal(q.headers.authorization, `Bearer ${fake_key}`);
      assert.equal(q.headers['keyledger-version'], '2026-11-23');
      assert.match(q.headers['user-agent'], /^keyledger-cli/);
    } finally {
      await fake.close();
    }
  });

  test('create and rotate send exactly the documented bodies', async () => {
    const created = { ...listed_key({}), key: fake_key };
    const fake = await fake_server(() => ({ status: 201, body: created }));
    try {
      const c = await keys(
        ['create', '--name', 'n', '--environment', 'test', '--scope', 'a:b,c:d', '--never-expires', '--cidr', '10.0.0.0/8'],
        { KEYLEDGER_URL: fake.url, KEYLEDGER_API_KEY: 'kl_test_caller' },
      );
      assert.equal(c.code, 0, show(c));
      assert.equal(c.stdout, `${fake_key}\n`);
      const r1 = await keys(['rotate', 'key_AAAAAAAAAAAAAAAAAAAAAA'], { KEYLEDGER_URL: fake.url, KEYLEDGER_API_KEY: 'kl_test_caller' });
      const r2 = await keys(['rotate', 'key_AAAAAAAAAAAAAAAAAAAAAA', '--grace-period-seconds', '60'], {
        KEYLEDGER_URL: fake.url, KEYLEDGER_API_KEY: 'kl_test_caller',
      });
      assert.equal(r1.code, 0, show(r1));
      assert.equal(r2.code, 0, show(r2));
      assert.deepEqual(fake.requests.map((q) => [q.method, q.url, q.headers['content-type'], q.body]), [
        ['POST', '/v1/keys', 'application/json',
          '{"name":"n","environment":"test","scopes":["a:b","c:d"],"expires_at":null,"allowed_cidrs":["10.0.0.0/8"]}'],
        ['POST', '/v1/keys/key_AAAAAAAAAAAAAAAAAAAAAA/rotate', undefined, ''],
        ['POST', '/v1/keys/key_AAAAAAAAAAAAAAAAAAAAAA/rotate', 'application/json', '{"grace_period_seconds":60}'],
      ]);
    } finally {
      await fake.close();
    }
  });

  test('the table neutralizes control characters and says why a key is disabled', async () => {
    const fake = await fake_server(() => ({
      status: 200,
      body: {
        data: [
          listed_key({ name: 'evil\u001b[2Jname\u009b', status: 'disabled', disabled_reason: 'owner_removed' }),
          listed_key({ id: 'key_BBBBBBBBBBBBBBBBBBBBBB', status: 'disabled', disabled_reason: 'disabled' }),
        ],
        next_cursor: null,
      },
    }));
    try {
      const r = await keys(['list'], { KEYLEDGER_URL: fake.url });
      assert.equal(r.code, 0, show(r));
      assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f\u0080-\u009f]/.test(r.stdout), JSON.stringify(r.stdout));
      const rows = parse_table(r.stdout);
      assert.equal(rows[0].NAME, 'evil?[2Jname?');
      assert.equal(rows[0].STATUS, 'disabled (owner removed)');
      assert.equal(rows[0].EXPIRES, 'never');
      assert.equal(rows[0]['LAST USED'], 'never');
      assert.equal(rows[0].CREATED, '2026-11-23 19:36');
      assert.equal(rows[1].STATUS, 'disabled');
    } finally {
      await fake.close();
    }
  });

  test('429 shows the code and when to retry; a foreign error page is named as such', async () => {
    let answer;
    const fake = await fake_server(() => answer);
    try {
      answer = {
        status: 429,
        headers: { 'retry-after': '7' },
        body: { error: 'Rate limit exceeded', message: 'Too many requests. Please try again later', code: 'RATE_LIMITED', retry_after: 7, request_id: 'req_x' },
      };
      const limited = await keys(['list'], { KEYLEDGER_URL: fake.url });
      assert.equal(limited.code, 1, show(limited));
      assert.match(limited.stderr, /429 RATE_LIMITED: Too many requests\. Please try again later \(retry after 7 s\) \[request req_x\]/);

      answer = { status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' };
      const foreign = await keys(['revoke', 'key_x'], { KEYLEDGER_URL: fake.url });
      assert.equal(foreign.code, 1, show(foreign));
      assert.match(foreign.stderr, /502 \(not a keyledger API error/);

      answer = { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>hello</html>' };
      const not_json = await keys(['list'], { KEYLEDGER_URL: fake.url });
      assert.equal(not_json.code, 1, show(not_json));
      assert.match(not_json.stderr, /not a JSON object/);
    } finally {
      await fake.close();
    }
  });

  test('a server echoing the API key gets it redacted', async () => {
    const fake = await fake_server((req) => ({
      status: 401,
      body: { error: 'x', message: `bad key ${req.headers.authorization}`, code: 'UNAUTHORIZED', request_id: 'req_y' },
    }));
    try {
      const r = await keys(['list'], { KEYLEDGER_URL: fake.url, KEYLEDGER_API_KEY: fake_key });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /401 UNAUTHORIZED: bad key Bearer \[redacted\]/);
    } finally {
      await fake.close();
    }
  });

  test('--all stops when a server repeats a cursor', async () => {
    const fake = await fake_server(() => ({ status: 200, body: { data: [listed_key({})], next_cursor: 'same' } }));
    try {
      const r = await keys(['list', '--all'], { KEYLEDGER_URL: fake.url });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /repeated a list cursor/);
      assert.equal(fake.requests.length, 2);
      assert.equal(fake.requests[0].url, '/v1/keys?limit=100');
      assert.equal(fake.requests[1].url, '/v1/keys?limit=100&cursor=same');
    } finally {
      await fake.close();
    }
  });
});
