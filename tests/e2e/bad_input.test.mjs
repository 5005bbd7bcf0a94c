// Malformed, oversized and hostile requests get a clear 4xx JSON error, change nothing, and
// leave the server answering.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assert_error, make_key, parse_raw_response, raw_request, start_stack } from './harness.mjs';

let stack;
let api;
let known;  // a key created before any bad input
let baseline;  // { events, keys } before any bad input

async function counts() {
  const r = await stack.db.query(
    "SELECT count(*)::int AS events, count(*) FILTER (WHERE type = 'KeyCreated')::int AS keys FROM events",
  );
  return r.rows[0];
}

before(async () => {
  stack = await start_stack();
  api = stack.api;
  // Well-formed variants of the media type are accepted (done before the baseline).
  const c = await api.post('/v1/keys', {
    key: stack.admin_key,
    body: JSON.stringify({ name: 'known', environment: 'live', scopes: ['leads:read'] }),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  assert.equal(c.status, 201, c.text);
  known = c.json;
  baseline = await counts();
});

after(async () => {
  if (stack) await stack.close();
});

/// POST /v1/keys with the admin key and a raw body (string or Buffer).
function post_raw(body, headers = { 'content-type': 'application/json' }, path = '/v1/keys') {
  return api.post(path, { key: stack.admin_key, body, headers });
}

const json_codes = ['INVALID_JSON'];
const shape_codes = ['INVALID_JSON', 'BAD_REQUEST'];
const field_codes = ['INVALID_FIELD'];

describe('malformed JSON', () => {
  const cases = [
    ['empty body', ''],
    ['truncated', '{"name":'],
    ['bare word', 'hello'],
    ['single quotes', "{'name':'a','environment':'test'}"],
    ['trailing comma', '{"name":"a","environment":"test",}'],
    ['trailing garbage', '{"name":"a","environment":"test"} x'],
    ['two objects', '{"name":"a","environment":"test"}{"name":"b","environment":"test"}'],
    ['comment', '{"name":"a", /* hi */ "environment":"test"}'],
    ['NaN', '{"name":"a","environment":"test","scopes":[NaN]}'],
    ['lone surrogate escape', '{"name":"\\ud800","environment":"test"}'],
  ];
  for (const [label, body] of cases) {
    test(label, async () => {
      const r = await post_raw(body);
      // A lone surrogate escape may be refused by the parser or as an invalid name.
      assert_error(r, 400, label === 'lone surrogate escape' ? [...json_codes, ...field_codes] : json_codes, label);
    });
  }

  test('the verify endpoint refuses malformed JSON the same way', async () => {
    assert_error(await post_raw('{"key":', undefined, '/v1/keys/verify'), 400, json_codes, 'verify truncated');
    assert_error(await post_raw('{"key":"a"} x', undefined, '/v1/keys/verify'), 400, json_codes, 'verify trailing');
  });
});

describe('not an object', () => {
  for (const body of ['[]', '"name"', '42', 'null', 'true', '[{"name":"a","environment":"test"}]']) {
    test(body, async () => {
      assert_error(await post_raw(body), 400, shape_codes, body);
    });
  }
});

describe('fields', () => {
  test('unknown fields are rejected', async () => {
    for (const extra of [{ admin: true }, { key: 'kl_live_x' }, { Name: 'x' }, { scopes_: [] }]) {
      const body = { name: 'a', environment: 'test', ...extra };
      assert_error(await post_raw(JSON.stringify(body)), 400, 'UNKNOWN_FIELD', JSON.stringify(extra));
    }
  });

  test('missing fields', async () => {
    for (const body of [{}, { name: 'a' }, { environment: 'test' }, { scopes: ['a:b'] }]) {
      assert_error(await post_raw(JSON.stringify(body)), 400, 'MISSING_FIELD', JSON.stringify(body));
    }
  });

  test('wrong types', async () => {
    const bodies = [
      { name: 5, environment: 'test' },
      { name: null, environment: 'test' },
      { name: ['a'], environment: 'test' },
      { name: 'a', environment: true },
      { name: 'a', environment: { live: true } },
      { name: 'a', environment: 'test', scopes: 'keys:read' },
      { name: 'a', environment: 'test', scopes: [1] },
      { name: 'a', environment: 'test', scopes: [['keys:read']] },
      { name: 'a', environment: 'test', scopes: null },
    ];
    for (const body of bodies) {
      assert_error(await post_raw(JSON.stringify(body)), 400, field_codes, JSON.stringify(body));
    }
  });

  test('invalid names', async () => {
    const looks_like_a_key = make_key('kl', 'live');
    for (const name of ['', '   ', 'a'.repeat(65), 'tab\there', 'new\nline', 'nul\u0000', 'del\u007f', 'zero\u200bwidth', 'bidi\u202eevil', looks_like_a_key]) {
      const r = await post_raw(JSON.stringify({ name, environment: 'test' }));
      // An escaped NUL may already be refused by the parser.
      const codes = name.includes('\u0000') ? [...field_codes, ...json_codes] : field_codes;
      assert_error(r, 400, codes, `name ${JSON.stringify(name.slice(0, 20))}`);
    }
  });

  test('invalid environments', async () => {
    for (const environment of ['', 'prod', 'LIVE', 'Test', 'live ', 'sandbox']) {
      const r = await post_raw(JSON.stringify({ name: 'a', environment }));
      assert_error(r, 400, field_codes, `environment ${JSON.stringify(environment)}`);
    }
  });

  test('invalid scopes', async () => {
    const lists = [
      ['noaction'],
      ['Keys:read'],
      ['keys:read:extra'],
      [':read'],
      ['keys:'],
      ['keys read'],
      ['keys:read', 'keys:read'],
      [''],
      Array.from({ length: 33 }, (_, i) => `res${i}:read`),
    ];
    for (const scopes of lists) {
      const r = await post_raw(JSON.stringify({ name: 'a', environment: 'test', scopes }));
      assert_error(r, 400, field_codes, `scopes ${JSON.stringify(scopes).slice(0, 60)}`);
    }
  });

  test('lists and strings beyond the parser limits', async () => {
    const long_list = Array.from({ length: 1000 }, (_, i) => `res${i}:read`);
    assert_error(
      await post_raw(JSON.stringify({ name: 'a', environment: 'test', scopes: long_list })),
      400,
      [...json_codes, ...field_codes],
      '1000 scopes',
    );
    assert_error(
      await post_raw(JSON.stringify({ name: 'a'.repeat(10_000), environment: 'test' })),
      400,
      [...json_codes, ...field_codes],
      '10000-character name',
    );
  });
});

describe('bytes', () => {
  test('invalid UTF-8 is refused', async () => {
    const bodies = [
      Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","environment":"test"}')]),
      Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc3]), Buffer.from('","environment":"test"}')]),
      // An overlong encoding of '/'.
      Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc0, 0xaf]), Buffer.from('","environment":"test"}')]),
      // A UTF-8 encoded surrogate.
      Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","environment":"test"}')]),
    ];
    for (const body of bodies) {
      assert_error(await post_raw(body), 400, json_codes, `bytes ${body.toString('hex')}`);
    }
  });

  test('NUL bytes are refused', async () => {
    const bodies = [
      Buffer.from('{"name":"a","environment":"test"}\u0000'),
      Buffer.from('{"name":"a\u0000b","environment":"test"}'),
      Buffer.from('\u0000{"name":"a","environment":"test"}'),
    ];
    for (const body of bodies) {
      assert_error(await post_raw(body), 400, json_codes, `NUL in ${JSON.stringify(body.toString())}`);
    }
  });

  test('deep nesting is refused quickly', async () => {
    const depth = 10_000;
    const bodies = [
      '['.repeat(depth) + ']'.repeat(depth),
      `{"name":${'['.repeat(depth)}${']'.repeat(depth)},"environment":"test"}`,
      `{"name":"a","environment":"test","scopes":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      '['.repeat(60_000),
    ];
    for (const body of bodies) {
      const t0 = performance.now();
      const r = await post_raw(body);
      const ms = performance.now() - t0;
      assert_error(r, 400, [...shape_codes, ...field_codes], `nesting ${body.slice(0, 12)}...`);
      assert.ok(ms < 2000, `nesting took ${ms.toFixed(0)} ms`);
    }
  });
});

describe('media type', () => {
  test('a POST body without Content-Type application/json is 415', async () => {
    const body = JSON.stringify({ name: 'a', environment: 'test' });
    assert_error(await post_raw(Buffer.from(body), {}), 415, 'UNSUPPORTED_MEDIA_TYPE', 'no content-type');
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'multipart/form-data']) {
      assert_error(await post_raw(body, { 'content-type': ct }), 415, 'UNSUPPORTED_MEDIA_TYPE', ct);
    }
    assert_error(
      await post_raw(JSON.stringify({ key: 'x' }), { 'content-type': 'text/plain' }, '/v1/keys/verify'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'verify text/plain',
    );
  });
});

describe('limits', () => {
  const big_json = () => `{"name":"${'a'.repeat(70 * 1024)}","environment":"test"}`;

  function raw_post(extra_headers, body) {
    return (
      'POST /v1/keys HTTP/1.1\r\n' +
      'Host: 127.0.0.1\r\n' +
      `Authorization: Bearer ${stack.admin_key}\r\n` +
      'Content-Type: application/json\r\n' +
      extra_headers +
      'Connection: close\r\n\r\n' +
      body
    );
  }

  function assert_raw_error(raw, status, code, what) {
    assert.ok(raw.data.length > 0, `${what}: no response (${raw.error?.code ?? 'closed'})`);
    const r = parse_raw_response(raw.data);
    assert.equal(r.status, status, `${what}: ${raw.data.slice(0, 300)}`);
    assert.ok(r.json, `${what}: body is not JSON: ${r.body.slice(0, 200)}`);
    assert.equal(r.json.code, code, what);
    for (const f of ['error', 'message', 'request_id']) assert.equal(typeof r.json[f], 'string', `${what}: ${f}`);
    assert.equal(r.headers['request-id'], r.json.request_id, `${what}: Request-Id header`);
  }

  test('a 70 KiB body is 413 (Content-Length)', async () => {
    const body = big_json();
    const raw = await raw_request(stack.server.port, raw_post(`Content-Length: ${body.length}\r\n`, body));
    assert_raw_error(raw, 413, 'PAYLOAD_TOO_LARGE', 'content-length 70 KiB');
  });

  test('a 70 KiB body is 413 (chunked)', async () => {
    const body = big_json();
    let chunked = '';
    for (let i = 0; i < body.length; i += 8192) {
      const part = body.slice(i, i + 8192);
      chunked += `${part.length.toString(16)}\r\n${part}\r\n`;
    }
    chunked += '0\r\n\r\n';
    const raw = await raw_request(stack.server.port, raw_post('Transfer-Encoding: chunked\r\n', chunked));
    assert_raw_error(raw, 413, 'PAYLOAD_TOO_LARGE', 'chunked 70 KiB');
  });

  test('a 70 KiB body is 413 (fetch)', async () => {
    const r = await post_raw(big_json());
    assert_error(r, 413, 'PAYLOAD_TOO_LARGE', 'fetch 70 KiB');
  });

  test('10 KiB of headers is 431', async () => {
    const req =
      'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      `X-Padding: ${'p'.repeat(10 * 1024)}\r\n` +
      'Connection: close\r\n\r\n';
    assert_raw_error(await raw_request(stack.server.port, req), 431, 'HEADERS_TOO_LARGE', '10 KiB header');
    // Many small headers count too.
    let many = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n';
    for (let i = 0; i < 400; i++) many += `X-H${i}: ${'v'.repeat(20)}\r\n`;
    many += 'Connection: close\r\n\r\n';
    assert_raw_error(await raw_request(stack.server.port, many), 431, 'HEADERS_TOO_LARGE', '400 headers');
  });

  test('a garbage request line is a 400 JSON error', async () => {
    const raw = await raw_request(stack.server.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert_raw_error(raw, 400, 'BAD_REQUEST', 'garbage request line');
  });

  test('a wrong Content-Length is a 400 JSON error', async () => {
    const raw = await raw_request(stack.server.port, raw_post('Content-Length: abc\r\n', '{}'));
    assert_raw_error(raw, 400, 'BAD_REQUEST', 'content-length abc');
  });
});

describe('afterwards', () => {
  test('the server still answers and nothing changed', async () => {
    const h = await api.get('/healthz');
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json, { status: 'ok' });

    const g = await api.get_key(stack.admin_key, known.id);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.status, 'active');
    assert.equal(g.json.name, 'known');
    assert.equal((await api.verify(known.key)).json.valid, true);

    assert.deepEqual(await counts(), baseline, 'bad input appended no event');

    // The server still creates keys normally.
    const c = await api.create_key(stack.admin_key, { name: 'after-bad-input', environment: 'test' });
    assert.equal(c.status, 201, c.text);
    const now = await counts();
    assert.equal(now.keys, baseline.keys + 1);
  });
});
