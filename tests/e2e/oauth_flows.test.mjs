// The OAuth 2.0 authorization server with two strict, independent client libraries on the real
// server: oauth4webapi (discovery, authorization code + PKCE through the real login and consent
// pages, RFC 9207 iss check, code exchange, refresh rotation, client credentials,
// introspection, revocation) and openid-client (the same flows through its Configuration);
// every access token is verified with jose against GET /oauth/jwks (ES256, typ at+jwt, RFC
// 9068 claims). Then: a person's grants (list, withdraw), introspection with an API key, and no
// secret of any of this in the server's log or the events.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { start_stack } from './harness.mjs';
import { login_owner } from './people.mjs';
import {
  authorize_with_pages,
  callback_server,
  introspect,
  register_client,
  token_verifier,
} from './oauth.mjs';

let stack;
let issuer;
let cb;
let app; // the confidential app of most tests
let as; // oauth4webapi's AuthorizationServer, from discovery
let verifier;
let owner_cookie; // the owner's session cookie, set by the login page
let owner_sub;
/// Everything that must never be written down: checked by the last test.
const secrets = [];

// The issuer is http://127.0.0.1:<port>, a loopback test server: oauth4webapi and openid-client
// refuse plain-http endpoints unless told otherwise, which is right for the real world and
// expected here (allowInsecureRequests on every request; nothing leaves the machine).
const insecure = { [oauth.allowInsecureRequests]: true };

before(async () => {
  stack = await start_stack({ env: { KEYLEDGER_LOG_LEVEL: 'debug' } });
  issuer = stack.server.base_url;
  verifier = token_verifier(issuer);
  cb = await callback_server();
  app = await register_client(stack, { name: 'CRM', redirect_uris: [cb.url] });
  secrets.push(app.client_secret, stack.workspace.owner_password);
});

after(async () => {
  if (cb) await cb.close();
  if (stack) await stack.close();
});

const oauth_client = () => ({ client_id: app.id });

/// An authorization URL for `as` with PKCE S256 and a state, all made by oauth4webapi.
async function pkce_request(client_id, scope) {
  const code_verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id,
    redirect_uri: cb.url,
    scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier),
    code_challenge_method: 'S256',
  }).toString();
  secrets.push(code_verifier);
  return { url, code_verifier, state };
}

test('discovery: RFC 8414 metadata through oauth4webapi, and an ES256 JWKS', async () => {
  const issuer_url = new URL(issuer);
  const res = await oauth.discoveryRequest(issuer_url, { algorithm: 'oauth2', ...insecure });
  assert.equal(new URL(res.url).pathname, '/.well-known/oauth-authorization-server');
  as = await oauth.processDiscoveryResponse(issuer_url, res);
  assert.equal(as.issuer, issuer);
  for (const [member, path] of [
    ['authorization_endpoint', '/oauth/authorize'],
    ['token_endpoint', '/oauth/token'],
    ['jwks_uri', '/oauth/jwks'],
    ['introspection_endpoint', '/oauth/introspect'],
    ['revocation_endpoint', '/oauth/revoke'],
  ]) {
    assert.equal(as[member], issuer + path, member);
  }
  assert.deepEqual(as.response_types_supported, ['code']);
  assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(as.grant_types_supported.sort(), ['authorization_code', 'client_credentials', 'refresh_token']);
  assert.equal(as.authorization_response_iss_parameter_supported, true);
  const jwks = await (await fetch(as.jwks_uri)).json();
  assert.ok(jwks.keys.length >= 1);
  for (const k of jwks.keys) assert.deepEqual([k.kty, k.crv, k.alg, k.use], ['EC', 'P-256', 'ES256', 'sig']);
});

test('oauth4webapi: code + PKCE through the pages, exchange, refresh rotation, introspection, revocation', async () => {
  const auth = oauth.ClientSecretBasic(app.client_secret);
  const { url, code_verifier, state } = await pkce_request(app.id, 'leads:read leads:write');
  const { location, cookie } = await authorize_with_pages(issuer, url, {
    email: stack.workspace.owner_email,
    password: stack.workspace.owner_password,
  });
  owner_cookie = cookie;
  secrets.push(cookie.split('=')[1]);
  assert.equal(location.origin + location.pathname, cb.url);
  assert.equal(location.searchParams.get('iss'), issuer, 'RFC 9207 iss');

  // RFC 9207 and the state, checked by the library.
  const params = oauth.validateAuthResponse(as, oauth_client(), location, state);
  secrets.push(params.get('code'));
  const res = await oauth.authorizationCodeGrantRequest(as, oauth_client(), auth, params, cb.url, code_verifier, insecure);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const tokens = await oauth.processAuthorizationCodeResponse(as, oauth_client(), res);
  secrets.push(tokens.access_token, tokens.refresh_token);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'leads:read leads:write');
  assert.equal(tokens.expires_in, 600);
  assert.match(tokens.refresh_token, /^[A-Za-z0-9_.-]+$/);
  const { payload } = await verifier.verify(tokens.access_token, {
    client_id: app.id,
    scope: 'leads:read leads:write',
    workspace_id: stack.workspace.workspace_id,
    sid: true,
  });
  assert.match(payload.sub, /^usr_[0-9A-Za-z]{22}$/);
  owner_sub = payload.sub;

  // Introspection (RFC 7662) of both tokens, by the client itself.
  const look = async (token) =>
    oauth.processIntrospectionResponse(as, oauth_client(), await oauth.introspectionRequest(as, oauth_client(), auth, token, insecure));
  const at = await look(tokens.access_token);
  assert.equal(at.active, true);
  assert.equal(at.token_type, 'Bearer');
  assert.equal(at.client_id, app.id);
  assert.equal(at.sub, owner_sub);
  assert.equal(at.scope, 'leads:read leads:write');
  assert.equal(at.iss, issuer);
  assert.equal(at.jti, payload.jti);
  assert.equal(at.exp, payload.exp);
  const rt = await look(tokens.refresh_token);
  assert.equal(rt.active, true);
  assert.equal(rt.token_type, 'refresh_token');
  assert.equal(rt.client_id, app.id);

  // Refresh: a new refresh token, the old one superseded (inactive), the family's sid kept.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    oauth_client(),
    await oauth.refreshTokenGrantRequest(as, oauth_client(), auth, tokens.refresh_token, insecure),
  );
  secrets.push(refreshed.access_token, refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  const second = await verifier.verify(refreshed.access_token, { client_id: app.id, sub: owner_sub, sid: true });
  assert.equal(second.payload.sid, payload.sid);
  assert.notEqual(second.payload.jti, payload.jti);
  assert.equal((await look(tokens.refresh_token)).active, false, 'a superseded refresh token is inactive');
  assert.equal((await look(refreshed.refresh_token)).active, true);

  // A narrower scope on refresh: the access token gets it, the family keeps its scopes.
  const narrow = await oauth.processRefreshTokenResponse(
    as,
    oauth_client(),
    await oauth.refreshTokenGrantRequest(as, oauth_client(), auth, refreshed.refresh_token, {
      ...insecure,
      additionalParameters: { scope: 'leads:read' },
    }),
  );
  secrets.push(narrow.access_token, narrow.refresh_token);
  await verifier.verify(narrow.access_token, { scope: 'leads:read', sid: true });
  assert.equal((await look(narrow.refresh_token)).scope, 'leads:read leads:write');

  // Revocation (RFC 7009) of the refresh token ends the family: its access tokens too.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, oauth_client(), auth, narrow.refresh_token, insecure));
  assert.equal((await look(narrow.refresh_token)).active, false);
  assert.equal((await look(narrow.access_token)).active, false);
  assert.equal((await look(tokens.access_token)).active, false);
  // RFC 7009 2.2: an unknown or already revoked token is answered 200 all the same.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, oauth_client(), auth, narrow.refresh_token, insecure));
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, oauth_client(), auth, 'not-a-token', insecure));
});

test('oauth4webapi: a remembered consent answers at once; the denial is access_denied with iss', async () => {
  assert.ok(owner_cookie, 'the previous test logged the owner in');
  // Same app, no wider scopes: no page, the 303 straight away.
  const { url, code_verifier, state } = await pkce_request(app.id, 'leads:read');
  const { location, pages } = await authorize_with_pages(issuer, url, { cookie: owner_cookie });
  assert.equal(pages.length, 1, 'no login or consent page for a remembered consent');
  const params = oauth.validateAuthResponse(as, oauth_client(), location, state);
  secrets.push(params.get('code'));
  // client_secret_post this time.
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    oauth_client(),
    await oauth.authorizationCodeGrantRequest(as, oauth_client(), oauth.ClientSecretPost(app.client_secret), params, cb.url, code_verifier, insecure),
  );
  secrets.push(tokens.access_token, tokens.refresh_token);
  await verifier.verify(tokens.access_token, { scope: 'leads:read', sub: owner_sub });

  // A new app: the consent page again, and a "deny" answer.
  const other = await register_client(stack, { name: 'Denied app', redirect_uris: [cb.url] });
  secrets.push(other.client_secret);
  const denied = await pkce_request(other.id, 'leads:read');
  const answer = await authorize_with_pages(issuer, denied.url, { cookie: owner_cookie, decision: 'deny' });
  assert.equal(answer.pages.length, 2, 'the consent page, then the answer');
  assert.equal(answer.location.searchParams.get('error'), 'access_denied');
  assert.equal(answer.location.searchParams.get('state'), denied.state);
  assert.equal(answer.location.searchParams.get('iss'), issuer);
  assert.equal(answer.location.searchParams.get('code'), null);
  assert.throws(() => oauth.validateAuthResponse(as, { client_id: other.id }, answer.location, denied.state), (e) => {
    assert.ok(e instanceof oauth.AuthorizationResponseError, e.message);
    assert.equal(e.error, 'access_denied');
    return true;
  });
});

test('oauth4webapi: client credentials, introspection and revocation of the access token', async () => {
  const auth = oauth.ClientSecretBasic(app.client_secret);
  const tokens = await oauth.processClientCredentialsResponse(
    as,
    oauth_client(),
    await oauth.clientCredentialsGrantRequest(as, oauth_client(), auth, { scope: 'leads:read' }, insecure),
  );
  secrets.push(tokens.access_token);
  assert.equal(tokens.refresh_token, undefined, 'no refresh token for client credentials');
  assert.equal(tokens.scope, 'leads:read');
  await verifier.verify(tokens.access_token, { sub: app.id, client_id: app.id, scope: 'leads:read', sid: false });
  // Without scope: every allowed scope of the catalog.
  const all = await oauth.processClientCredentialsResponse(
    as,
    oauth_client(),
    await oauth.clientCredentialsGrantRequest(as, oauth_client(), auth, {}, insecure),
  );
  secrets.push(all.access_token);
  await verifier.verify(all.access_token, { scope: 'leads:read leads:write', sid: false });

  const look = async (token) =>
    oauth.processIntrospectionResponse(as, oauth_client(), await oauth.introspectionRequest(as, oauth_client(), auth, token, insecure));
  assert.equal((await look(tokens.access_token)).active, true);
  // Revoking an access token (its jti) makes exactly that token inactive.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, oauth_client(), auth, tokens.access_token, insecure));
  assert.equal((await look(tokens.access_token)).active, false);
  assert.equal((await look(all.access_token)).active, true);
});

test('openid-client: discovery, client credentials, code + PKCE, refresh, introspection, revocation', async () => {
  const app2 = await register_client(stack, { name: 'Second CRM', redirect_uris: [cb.url] });
  secrets.push(app2.client_secret);
  const config = await client.discovery(new URL(issuer), app2.id, app2.client_secret, undefined, {
    algorithm: 'oauth2',
    // A loopback test server over http (see the note on `insecure` above).
    execute: [client.allowInsecureRequests],
  });
  assert.equal(config.serverMetadata().issuer, issuer);

  const cc = await client.clientCredentialsGrant(config, { scope: 'leads:write' });
  secrets.push(cc.access_token);
  await verifier.verify(cc.access_token, { sub: app2.id, client_id: app2.id, scope: 'leads:write', sid: false });

  // The code flow: the URL built by the library, the pages driven as a browser would.
  const code_verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  secrets.push(code_verifier);
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: cb.url,
    scope: 'leads:read',
    code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
    code_challenge_method: 'S256',
    state,
  });
  const { location, pages } = await authorize_with_pages(issuer, url, { cookie: owner_cookie });
  assert.equal(pages.length, 2, 'a new app: the consent page');
  secrets.push(location.searchParams.get('code'));
  const tokens = await client.authorizationCodeGrant(config, location, { pkceCodeVerifier: code_verifier, expectedState: state });
  secrets.push(tokens.access_token, tokens.refresh_token);
  await verifier.verify(tokens.access_token, { sub: owner_sub, client_id: app2.id, scope: 'leads:read', sid: true });

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  secrets.push(refreshed.access_token, refreshed.refresh_token);
  await verifier.verify(refreshed.access_token, { sub: owner_sub, client_id: app2.id, scope: 'leads:read', sid: true });

  const info = await client.tokenIntrospection(config, refreshed.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, app2.id);
  assert.equal(info.sub, owner_sub);
  assert.equal((await client.tokenIntrospection(config, tokens.refresh_token)).active, false, 'superseded');
  assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token)).active, true);

  await client.tokenRevocation(config, refreshed.refresh_token);
  assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token)).active, false);
  assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, false);
  // Another app's tokens are not this app's to see.
  assert.equal((await client.tokenIntrospection(config, cc.access_token)).active, true);
});

test('a resource server introspects with an API key (oauth:introspect): tokens and keys', async () => {
  const key = await stack.api.create_key(stack.admin_key, { name: 'resource server', environment: 'test', scopes: ['oauth:introspect'] });
  assert.equal(key.status, 201, key.text);
  secrets.push(key.json.key);
  const auth = { id: app.id, secret: app.client_secret };
  const cc = await (await fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${auth.id}:${auth.secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials&scope=leads%3Aread',
  })).json();
  secrets.push(cc.access_token);
  await verifier.verify(cc.access_token, { sid: false });
  const at = await introspect(issuer, cc.access_token, { key: key.json.key });
  assert.equal(at.active, true);
  assert.equal(at.client_id, app.id);
  const k = await introspect(issuer, stack.admin_key, { key: key.json.key });
  assert.equal(k.active, true);
  assert.equal(k.token_type, 'api_key');
  assert.match(k.key_id, /^key_/);
  // A key without the scope may not introspect: 401 invalid_client.
  const plain = await stack.api.create_key(stack.admin_key, { name: 'no introspection', environment: 'test', scopes: ['leads:read'] });
  assert.equal(plain.status, 201, plain.text);
  secrets.push(plain.json.key);
  const r = await fetch(`${issuer}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${plain.json.key}` },
    body: new URLSearchParams({ token: cc.access_token }).toString(),
  });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, 'invalid_client');
  assert.equal((await introspect(issuer, 'garbage', { key: key.json.key })).active, false);
});

test('a person lists the apps they allowed and withdraws one: its tokens stop at once', async () => {
  const session = await login_owner(stack.api, stack.server, stack.workspace);
  secrets.push(session.id, session.csrf);
  const listed = await stack.api.get('/v1/oauth/grants', { session });
  assert.equal(listed.status, 200, listed.text);
  const mine = listed.json.grants.find((g) => g.client_id === app.id);
  assert.ok(mine, `the CRM grant is listed: ${listed.text}`);
  assert.match(mine.id, /^grt_[0-9A-Za-z]{22}$/);
  assert.equal(mine.client_name, 'CRM');
  assert.equal(mine.workspace_id, stack.workspace.workspace_id);
  assert.deepEqual(mine.scopes, ['leads:read', 'leads:write']);

  // A live token of that grant (remembered consent), then the withdrawal.
  const auth = oauth.ClientSecretBasic(app.client_secret);
  const { url, code_verifier, state } = await pkce_request(app.id, 'leads:read');
  const { location } = await authorize_with_pages(issuer, url, { cookie: owner_cookie });
  const params = oauth.validateAuthResponse(as, oauth_client(), location, state);
  secrets.push(params.get('code'));
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    oauth_client(),
    await oauth.authorizationCodeGrantRequest(as, oauth_client(), auth, params, cb.url, code_verifier, insecure),
  );
  secrets.push(tokens.access_token, tokens.refresh_token);
  await verifier.verify(tokens.access_token);
  const creds = { id: app.id, secret: app.client_secret };
  assert.equal((await introspect(issuer, tokens.access_token, { auth: creds })).active, true);

  // Without the CSRF token: refused, nothing changes.
  assert.equal((await stack.api.del(`/v1/oauth/grants/${mine.id}`, { session, csrf: false })).status, 403);
  const del = await stack.api.del(`/v1/oauth/grants/${mine.id}`, { session });
  assert.equal(del.status, 204, del.text);
  assert.equal((await introspect(issuer, tokens.access_token, { auth: creds })).active, false);
  assert.equal((await introspect(issuer, tokens.refresh_token, { auth: creds })).active, false);
  const again = await oauth.refreshTokenGrantRequest(as, oauth_client(), auth, tokens.refresh_token, insecure);
  await assert.rejects(oauth.processRefreshTokenResponse(as, oauth_client(), again), (e) => {
    assert.equal(e.error, 'invalid_grant');
    return true;
  });
  const after_list = await stack.api.get('/v1/oauth/grants', { session });
  assert.ok(!after_list.json.grants.some((g) => g.id === mine.id), 'a withdrawn grant is not listed');
});

test('no client secret, code, token, cookie or password reaches the log or the events', async () => {
  assert.ok(verifier.count >= 10, `every access token was verified with jose (${verifier.count})`);
  const found = secrets.filter((s) => typeof s === 'string' && s.length >= 16);
  assert.ok(found.length >= 25, `collected ${found.length} secrets`);
  await stack.server.restart(); // flushes nothing new, but the restart's lines are logged too
  const log = stack.server.stderr + stack.server.stdout;
  assert.ok(stack.server.log_lines().length > 20, 'the server logged at debug level');
  const rows = (await stack.db.query('SELECT type, payload, metadata FROM events')).rows;
  const stored = rows.map((r) => `${r.payload}\n${r.metadata}`).join('\n');
  for (const type of ['ClientRegistered', 'GrantCreated', 'CodeIssued', 'CodeRedeemed', 'RefreshRotated', 'FamilyRevoked', 'GrantRevoked']) {
    assert.ok(rows.some((r) => r.type === type), `a ${type} event was appended`);
  }
  for (const s of found) {
    assert.ok(!log.includes(s), `a secret is in the server log: ${s.slice(0, 6)}...`);
    assert.ok(!stored.includes(s), `a secret is in the events: ${s.slice(0, 6)}...`);
  }
  // The random part of a code or refresh token alone (after its grant id) is not there either.
  for (const s of found.filter((x) => x.split('.').length === 2 && /\.[A-Za-z0-9_-]{43}$/.test(x))) {
    const tail = s.slice(-43);
    assert.ok(!log.includes(tail) && !stored.includes(tail), `the secret part of ${s.slice(0, 6)}... is written down`);
  }
});
