// The OAuth 2.0 authorization server under attack, on the real server: each test fails if the
// server gives in. Code and refresh-token replay (RFC 6749 4.1.2 and RFC 9700 4.14.2: the
// family dies), PKCE downgrade and a wrong verifier (RFC 7636), redirect URI tricks and open
// redirects (RFC 9700 4.1: exact match, never redirect to an unverified URI), mix-up (RFC 9207,
// checked by oauth4webapi), another client's secret, scope escalation on refresh, tokens of a
// removed person and of a deleted app, forged tokens (alg none, HS256 with the public key, a
// stranger's ES256 key, a tampered payload), and a key retired with
// `keyledger signing-keys rotate --immediately`.
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHmac, sign as node_sign } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { poll, random_suffix, run_keyledger, start_stack } from './harness.mjs';
import { add_user, login_owner } from './people.mjs';
import {
  assert_oauth_error,
  authorize_with_pages,
  callback_server,
  introspect,
  post_form,
  raw_fetch,
  register_client,
  token_verifier,
} from './oauth.mjs';

let stack;
let issuer;
let cb;
let app;
let other; // a second confidential app of the same workspace
let as;
let verifier;
let owner_cookie;
let introspection_key; // an API key with oauth:introspect, for tokens of deleted apps

// Loopback test server over http: oauth4webapi needs allowInsecureRequests for it (expected).
const insecure = { [oauth.allowInsecureRequests]: true };

before(async () => {
  stack = await start_stack();
  issuer = stack.server.base_url;
  verifier = token_verifier(issuer);
  cb = await callback_server();
  app = await register_client(stack, { name: 'Target', redirect_uris: [cb.url] });
  other = await register_client(stack, { name: 'Other', redirect_uris: [cb.url] });
  as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }));
  const k = await stack.api.create_key(stack.admin_key, { name: 'introspection', environment: 'test', scopes: ['oauth:introspect'] });
  assert.equal(k.status, 201, k.text);
  introspection_key = k.json.key;
});

after(async () => {
  if (cb) await cb.close();
  if (stack) await stack.close();
});

const creds = (c) => ({ id: c.id, secret: c.client_secret });

/// The authorization request's query (PKCE S256 unless `params` says otherwise).
async function authorize_url(c, { scope = 'leads:read', redirect_uri = cb.url, ...params } = {}) {
  const code_verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const q = {
    response_type: 'code',
    client_id: c.id,
    redirect_uri,
    scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(q)) if (v === undefined) delete q[k];
  const url = new URL(`${issuer}/oauth/authorize`);
  url.search = new URLSearchParams(q).toString();
  return { url, code_verifier, state };
}

/// A code for `c` through the pages (the owner, logged in once). `person`: { email, password }
/// of someone else, logged in afresh.
async function code_for(c, { scope = 'leads:read', person } = {}) {
  const req = await authorize_url(c, { scope });
  const who = person ?? { email: stack.workspace.owner_email, password: stack.workspace.owner_password };
  const { location, cookie } = await authorize_with_pages(issuer, req.url, person ? who : owner_cookie ? { cookie: owner_cookie } : who);
  if (!person) owner_cookie = cookie;
  const params = oauth.validateAuthResponse(as, { client_id: c.id }, location, req.state);
  return { ...req, location, code: params.get('code') };
}

function exchange(c, code, code_verifier, { redirect_uri = cb.url, auth = creds(c) } = {}) {
  const p = { grant_type: 'authorization_code', code, code_verifier, redirect_uri };
  // null leaves a parameter out (undefined would take the default).
  for (const [k, v] of Object.entries(p)) if (v === undefined || v === null) delete p[k];
  return post_form(issuer, '/oauth/token', p, { auth });
}

async function tokens_for(c, options) {
  const { code, code_verifier } = await code_for(c, options);
  const r = await exchange(c, code, code_verifier);
  assert.equal(r.status, 200, `exchange: ${r.text}`);
  await verifier.verify(r.json.access_token, { client_id: c.id, sid: true });
  return r.json;
}

const active = async (token, who = { key: introspection_key }) => (await introspect(issuer, token, who)).active;

test('a code used twice: invalid_grant, and the tokens it gave become inactive', async () => {
  const { code, code_verifier } = await code_for(app);
  const first = await exchange(app, code, code_verifier);
  assert.equal(first.status, 200, first.text);
  assert.equal(await active(first.json.access_token), true);
  assert.equal(await active(first.json.refresh_token), true);
  const second = await exchange(app, code, code_verifier);
  assert_oauth_error(second, 400, 'invalid_grant', 'second exchange');
  assert.equal(second.json.access_token, undefined);
  assert.equal(await active(first.json.access_token), false, 'the access token of a replayed code');
  assert.equal(await active(first.json.refresh_token), false, 'the refresh token of a replayed code');
  const refresh = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.json.refresh_token }, { auth: creds(app) });
  assert_oauth_error(refresh, 400, 'invalid_grant', 'refresh after the code replay');
  // Even by another client, a replay is refused.
  assert_oauth_error(await exchange(app, code, code_verifier, { auth: creds(other) }), 400, 'invalid_grant', 'replay by another client');
});

test('a superseded refresh token used again: invalid_grant, and its whole family is revoked', async () => {
  const t = await tokens_for(app);
  const r1 = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { auth: creds(app) });
  assert.equal(r1.status, 200, r1.text);
  await verifier.verify(r1.json.access_token, { sid: true });
  const replay = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { auth: creds(app) });
  assert_oauth_error(replay, 400, 'invalid_grant', 'reuse of the superseded token');
  // The thief's and the owner's tokens die together.
  assert.equal(await active(r1.json.refresh_token), false, 'the newest refresh token of the family');
  assert.equal(await active(r1.json.access_token), false, 'the newest access token of the family');
  assert.equal(await active(t.access_token), false);
  const next = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token }, { auth: creds(app) });
  assert_oauth_error(next, 400, 'invalid_grant', 'the newest token after the family was revoked');
});

test('PKCE downgrade: no challenge, or method plain, is an error redirect and never a code', async () => {
  await code_for(app); // logs the owner in (the cookie), so a code would be issued at once
  const cases = {
    'no challenge': { code_challenge: undefined, code_challenge_method: undefined },
    'no method (plain by default)': { code_challenge_method: undefined },
    'method plain': { code_challenge_method: 'plain', code_challenge: oauth.generateRandomCodeVerifier() },
    'method s256 (case)': { code_challenge_method: 's256' },
    'a short challenge': { code_challenge: 'abc' },
  };
  for (const [what, params] of Object.entries(cases)) {
    const { url, state } = await authorize_url(app, params);
    const r = await raw_fetch(url, { headers: { cookie: owner_cookie } });
    assert.equal(r.status, 303, `${what}: ${r.status} ${r.text}`);
    const loc = new URL(r.headers.get('location'));
    assert.equal(loc.origin + loc.pathname, cb.url, what);
    assert.equal(loc.searchParams.get('code'), null, `${what}: a code was issued`);
    assert.equal(loc.searchParams.get('error'), 'invalid_request', `${what}: ${loc}`);
    assert.equal(loc.searchParams.get('state'), state, what);
    assert.equal(loc.searchParams.get('iss'), issuer, what);
  }
});

test('the token endpoint: a wrong or missing verifier, a missing or different redirect_uri', async () => {
  const { code, code_verifier } = await code_for(app);
  assert_oauth_error(await exchange(app, code, oauth.generateRandomCodeVerifier()), 400, 'invalid_grant', 'wrong verifier');
  assert_oauth_error(await exchange(app, code, null), 400, 'invalid_grant', 'no verifier');
  // The challenge itself (a plain-style downgrade at the token endpoint) is not the verifier.
  assert_oauth_error(await exchange(app, code, await oauth.calculatePKCECodeChallenge(code_verifier)), 400, 'invalid_grant', 'the challenge as verifier');
  assert_oauth_error(await exchange(app, code, code_verifier, { redirect_uri: null }), 400, 'invalid_request', 'no redirect_uri');
  assert_oauth_error(await exchange(app, code, code_verifier, { redirect_uri: `${cb.url}/` }), 400, 'invalid_grant', 'another redirect_uri');
  assert_oauth_error(await exchange(app, code, code_verifier, { redirect_uri: cb.url.toUpperCase() }), 400, 'invalid_grant', 'redirect_uri in capitals');
  // Another client cannot redeem it with its own credentials.
  assert_oauth_error(await exchange(app, code, code_verifier, { auth: creds(other) }), 400, 'invalid_grant', 'another client');
  // None of these redeemed it: the genuine request still does, once.
  const ok = await exchange(app, code, code_verifier);
  assert.equal(ok.status, 200, ok.text);
  await verifier.verify(ok.json.access_token, { client_id: app.id, sid: true });
});

test('redirect URI tricks: an error page, never a Location header', async () => {
  const u = new URL(cb.url);
  const port = Number(u.port);
  const tricks = {
    prefix: `http://127.0.0.1:${port}/c`,
    case: `http://127.0.0.1:${port}/CB`,
    'extra path': `http://127.0.0.1:${port}/cb/evil`,
    'trailing slash': `http://127.0.0.1:${port}/cb/`,
    fragment: `http://127.0.0.1:${port}/cb#evil`,
    userinfo: `http://evil@127.0.0.1:${port}/cb`,
    'another port': `http://127.0.0.1:${port === 65535 ? port - 1 : port + 1}/cb`,
    'extra query': `http://127.0.0.1:${port}/cb?next=https://evil.example`,
    https: `https://127.0.0.1:${port}/cb`,
    localhost: `http://localhost:${port}/cb`,
    'another host': `https://evil.example/cb`,
    'dot segment': `http://127.0.0.1:${port}/cb/../cb`,
    'encoded slash': `http://127.0.0.1:${port}/cb%2F`,
  };
  for (const [what, redirect_uri] of Object.entries(tricks)) {
    const { url } = await authorize_url(app, { redirect_uri });
    for (const cookie of [undefined, owner_cookie]) {
      const r = await raw_fetch(url, cookie ? { headers: { cookie } } : {});
      assert.equal(r.headers.get('location'), null, `${what}: redirected to ${r.headers.get('location')}`);
      assert.equal(r.status, 400, `${what}: ${r.status}`);
      assert.match(r.headers.get('content-type'), /^text\/html/, what);
      assert.doesNotMatch(r.text, /action="\/oauth\/(login|authorize)"/, `${what}: a login or consent form was shown`);
    }
  }
});

test('no open redirect from the error path: an unknown client with an evil redirect_uri', async () => {
  const evil = 'https://evil.example/steal';
  const cases = {
    'unknown client': { client_id: `cli_${'A'.repeat(22)}`, redirect_uri: evil },
    'malformed client id': { client_id: 'nobody', redirect_uri: evil },
    'no client id': { client_id: undefined, redirect_uri: evil },
    'known client, evil uri, bad response_type': { client_id: app.id, redirect_uri: evil, response_type: 'token' },
    'known client, evil uri, no challenge': { client_id: app.id, redirect_uri: evil, code_challenge: undefined },
  };
  for (const [what, params] of Object.entries(cases)) {
    const { url } = await authorize_url({ id: params.client_id }, params);
    const r = await raw_fetch(url, { headers: { cookie: owner_cookie } });
    assert.equal(r.headers.get('location'), null, `${what}: redirected to ${r.headers.get('location')}`);
    assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status}`);
    assert.doesNotMatch(r.text, /evil\.example/, `${what}: the page shows the evil URI`);
  }
  // A known client with its own URI but response_type=token: the error goes to that URI only.
  const { url } = await authorize_url(app, { response_type: 'token' });
  const r = await raw_fetch(url, { headers: { cookie: owner_cookie } });
  if (r.status === 303) {
    const loc = new URL(r.headers.get('location'));
    assert.equal(loc.origin + loc.pathname, cb.url);
    assert.equal(loc.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(loc.hash, '', 'never a fragment (implicit) response');
  } else {
    assert.equal(r.status, 400);
  }
});

test('mix-up: oauth4webapi refuses an authorization response whose iss is not the issuer', async () => {
  const { location, state } = await code_for(app);
  const client = { client_id: app.id };
  const forged = new URL(location);
  forged.searchParams.set('iss', 'https://evil.example');
  assert.throws(() => oauth.validateAuthResponse(as, client, forged, state), /iss/);
  const other_port = new URL(location);
  other_port.searchParams.set('iss', issuer.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`));
  assert.throws(() => oauth.validateAuthResponse(as, client, other_port, state), /iss/);
  const missing = new URL(location);
  missing.searchParams.delete('iss');
  assert.throws(() => oauth.validateAuthResponse(as, client, missing, state), /iss/);
  // And a wrong state.
  assert.throws(() => oauth.validateAuthResponse(as, client, location, oauth.generateRandomState()), /state/);
  // The genuine one passes.
  assert.equal(oauth.validateAuthResponse(as, client, location, state).get('code'), location.searchParams.get('code'));
});

test("client authentication with another client's secret: 401 invalid_client with WWW-Authenticate", async () => {
  const stolen = { id: app.id, secret: other.client_secret };
  const cases = [
    ['basic', () => post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: stolen })],
    ['post', () => post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: stolen, post: true })],
    ['no secret', () => post_form(issuer, '/oauth/token', { grant_type: 'client_credentials', client_id: app.id })],
    ['empty secret', () => post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: { id: app.id, secret: '' } })],
    ['introspect', () => post_form(issuer, '/oauth/introspect', { token: 'x' }, { auth: stolen })],
    ['revoke', () => post_form(issuer, '/oauth/revoke', { token: 'x' }, { auth: stolen })],
  ];
  for (const [what, send] of cases) {
    const r = await send();
    assert_oauth_error(r, 401, 'invalid_client', what);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /, `${what}: WWW-Authenticate`);
    assert.equal(r.json.access_token, undefined);
  }
});

test('scope escalation on refresh is invalid_scope; the family keeps working', async () => {
  const t = await tokens_for(app, { scope: 'leads:read' });
  for (const scope of ['leads:read leads:write', 'leads:write', 'keys:write', 'reports:read']) {
    const r = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token, scope }, { auth: creds(app) });
    assert_oauth_error(r, 400, 'invalid_scope', `refresh asking ${scope}`);
  }
  const ok = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { auth: creds(app) });
  assert.equal(ok.status, 200, ok.text);
  await verifier.verify(ok.json.access_token, { scope: 'leads:read' });
  // Nor can client credentials ask beyond the app's allowed scopes.
  const cc = await post_form(issuer, '/oauth/token', { grant_type: 'client_credentials', scope: 'keys:write' }, { auth: creds(app) });
  assert_oauth_error(cc, 400, 'invalid_scope', 'client credentials beyond allowed_scopes');
});

test('the tokens of a removed person: inactive, and the refresh token is invalid_grant', async () => {
  const person = await add_user(stack.api, stack.server, { key: stack.admin_key }, { role: 'admin' });
  const t = await tokens_for(app, { person: { email: person.email, password: person.password } });
  const { payload } = await verifier.verify(t.access_token, { sub: person.id });
  assert.equal(payload.sub, person.id);
  assert.equal(await active(t.access_token), true);
  const owner = await login_owner(stack.api, stack.server, stack.workspace);
  const del = await stack.api.del(`/v1/users/${person.id}`, { session: owner });
  assert.equal(del.status, 204, del.text);
  assert.equal(await active(t.access_token), false, 'access token of a removed person');
  assert.equal(await active(t.refresh_token), false, 'refresh token of a removed person');
  const r = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { auth: creds(app) });
  assert_oauth_error(r, 400, 'invalid_grant', 'refresh by a removed person');
});

test('the tokens of a deleted app: inactive; the app no longer authenticates', async () => {
  const doomed = await register_client(stack, { name: `Doomed ${random_suffix(4)}`, redirect_uris: [cb.url] });
  const t = await tokens_for(doomed);
  const cc = await post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: creds(doomed) });
  assert.equal(cc.status, 200, cc.text);
  for (const token of [t.access_token, t.refresh_token, cc.json.access_token]) assert.equal(await active(token), true);
  const del = await stack.api.del(`/v1/oauth/clients/${doomed.id}`, { key: stack.admin_key });
  assert.equal(del.status, 204, del.text);
  for (const token of [t.access_token, t.refresh_token, cc.json.access_token]) {
    assert.equal(await active(token), false, `a token of the deleted app: ${token.slice(0, 8)}...`);
  }
  assert_oauth_error(
    await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { auth: creds(doomed) }),
    401,
    'invalid_client',
    'the deleted app at the token endpoint',
  );
});

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

test('forged tokens are {"active":false}: alg none, HS256 with the public key, a stranger key, a tampered payload', async () => {
  const cc = await post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: creds(app) });
  assert.equal(cc.status, 200, cc.text);
  const real = cc.json.access_token;
  const [h, p, s] = real.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const jwks = await (await fetch(`${issuer}/oauth/jwks`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk);

  const forged = {};
  forged['alg none'] = `${b64url({ ...header, alg: 'none' })}.${p}.`;
  forged['alg none, no typ'] = `${b64url({ alg: 'none' })}.${p}.`;
  forged['alg None'] = `${b64url({ ...header, alg: 'None' })}.${p}.`;
  for (const [name, secret] of [['the JWK text', JSON.stringify(jwk)], ['x', jwk.x], ['the real signature', s]]) {
    const head = `${b64url({ ...header, alg: 'HS256' })}.${p}`;
    forged[`HS256 keyed with ${name}`] = `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  }
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const head = `${h}.${p}`;
  forged['a stranger ES256 key, the real kid'] = `${head}.${node_sign('sha256', Buffer.from(head), { key: stranger.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  forged['a tampered payload'] = `${h}.${b64url({ ...payload, scope: 'leads:read leads:write keys:write' })}.${s}`;
  forged['another issuer, real signature'] = `${h}.${b64url({ ...payload, iss: 'https://evil.example' })}.${s}`;
  forged['a truncated signature'] = `${h}.${p}.${s.slice(0, -4)}`;

  assert.equal(await active(real), true, 'the genuine token');
  for (const [what, token] of Object.entries(forged)) {
    assert.deepEqual(await introspect(issuer, token, { key: introspection_key }), { active: false }, what);
    assert.deepEqual(await introspect(issuer, token, { auth: creds(app) }), { active: false }, `${what} (client)`);
    await assert.rejects(
      jose.jwtVerify(token, verifier.jwks, { issuer, audience: issuer, typ: 'at+jwt', algorithms: ['ES256'] }),
      `jose accepted: ${what}`,
    );
  }
  // A resource server keeps a token it saw: revoking the forged one revokes nothing.
  assert.equal((await post_form(issuer, '/oauth/revoke', { token: forged['alg none'] }, { auth: creds(app) })).status, 200);
  assert.equal(await active(real), true);
});

test('a token signed by a key retired with `signing-keys rotate --immediately` is refused by keyledger and by jose', async () => {
  const before_rotation = await tokens_for(app);
  const cc = await post_form(issuer, '/oauth/token', { grant_type: 'client_credentials' }, { auth: creds(app) });
  const old_kid = JSON.parse(Buffer.from(cc.json.access_token.split('.')[0], 'base64url')).kid;
  assert.equal(await active(cc.json.access_token), true);

  const r = await run_keyledger(['signing-keys', 'rotate', '--immediately'], { DATABASE_URL: stack.db.url, KEYLEDGER_DATA_DIR: stack.data_dir });
  assert.equal(r.code, 0, r.stderr);
  const fresh = await poll(
    async () => (await fetch(`${issuer}/oauth/jwks`)).json(),
    (j) => j.keys.length === 1 && j.keys[0].kid !== old_kid,
    { what: 'only the new key in the JWKS', deadline_ms: 10_000 },
  );

  for (const token of [cc.json.access_token, before_rotation.access_token]) {
    assert.equal(await active(token), false, 'a token of the retired key');
    // A verifier with a fresh view of the JWKS (no cache from before) refuses it.
    const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oauth/jwks`));
    await assert.rejects(
      jose.jwtVerify(token, jwks, { issuer, audience: issuer, typ: 'at+jwt', algorithms: ['ES256'] }),
      (e) => {
        assert.equal(e.code, 'ERR_JWKS_NO_MATCHING_KEY', e.message);
        return true;
      },
    );
  }
  // The refresh token is not a JWT: it still works, and the new access token has the new kid.
  const refreshed = await post_form(issuer, '/oauth/token', { grant_type: 'refresh_token', refresh_token: before_rotation.refresh_token }, { auth: creds(app) });
  assert.equal(refreshed.status, 200, refreshed.text);
  const { protectedHeader } = await token_verifier(issuer).verify(refreshed.json.access_token, { sid: true });
  assert.equal(protectedHeader.kid, fresh.keys[0].kid);
  assert.equal(await active(refreshed.json.access_token), true);
});
