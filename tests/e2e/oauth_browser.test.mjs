// The authorization code flow through the real pages in headless Chromium (playwright-core,
// Debian's /usr/bin/chromium): the authorize URL, the login form filled and sent, the consent
// page (screenshot saved to a temp dir, its path printed), Allow clicked, the browser's redirect
// captured by a callback server on 127.0.0.1, the code exchanged and the token verified with
// jose. The pages' security headers are asserted, and Chromium must report no console error,
// page error or Content-Security-Policy violation on any of them (the inline stylesheet is
// allowed by its hash; form-action allows the redirect to the app's origin).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';
import { random_suffix, start_stack } from './harness.mjs';
import { assert_page_headers, callback_server, register_client, token_verifier } from './oauth.mjs';

const chromium_path = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// A loopback test server over http: oauth4webapi needs allowInsecureRequests for it (expected).
const insecure = { [oauth.allowInsecureRequests]: true };

let stack;
let browser;
let cb;

before(async () => {
  assert.ok(existsSync(chromium_path), `Chromium is not at ${chromium_path}: install Debian's chromium (./scripts/dev does)`);
  stack = await start_stack();
  cb = await callback_server();
  browser = await chromium.launch({ executablePath: chromium_path, args: ['--no-sandbox'], headless: true, timeout: 30_000 });
});

after(async () => {
  if (browser) await browser.close();
  if (cb) await cb.close();
  if (stack) await stack.close();
});

test('Chromium: login, consent, Allow, the redirect with code, state and iss, the exchange', async (t) => {
  const issuer = stack.server.base_url;
  const app = await register_client(stack, { name: 'Browser CRM', redirect_uris: [cb.url] });
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }));
  const code_verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.id,
    redirect_uri: cb.url,
    scope: 'leads:read leads:write',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier),
    code_challenge_method: 'S256',
  }).toString();

  const context = await browser.newContext();
  // Records CSP violations as the page sees them (init scripts are not subject to the CSP).
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console ${m.type()} at ${m.location().url}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const pages = []; // every HTML answer of the server
  page.on('response', (r) => {
    if (r.url().startsWith(issuer) && (r.headers()['content-type'] ?? '').startsWith('text/html')) pages.push(r);
  });
  const posts = []; // the Origin of every form post to the server
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().startsWith(issuer)) posts.push([new URL(r.url()).pathname, r.headers().origin]);
  });
  const csp_violations = async () => page.evaluate(() => window.__csp ?? []);

  // The login page.
  const login = await page.goto(url.href);
  assert.equal(login.status(), 200);
  assert_page_headers(new Headers(login.headers()), 'login page');
  assert.match(await page.title(), /Log in/);
  assert.deepEqual(await csp_violations(), []);
  await page.fill('#email', stack.workspace.owner_email);
  await page.fill('#password', stack.workspace.owner_password);
  // The form posts to /oauth/login, which answers 303 back to /oauth/authorize (the consent).
  await page.click('button[type=submit]');

  // The consent page.
  const allow = page.locator('button[name=decision][value=allow]');
  await allow.waitFor();
  assert.match(await page.title(), /Allow access/);
  const text = await page.locator('main').innerText();
  assert.match(text, /Browser CRM wants access/);
  assert.match(text, /leads:read/);
  assert.match(text, /leads:write/);
  assert.match(text, new RegExp(stack.workspace.owner_email.replace(/[.+]/g, '\\$&')));
  // The console's stylesheet applied (style-src 'self'): the Allow button is styled.
  const background = await allow.evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(31, 95, 191)', 'the console stylesheet applies');
  assert.deepEqual(await csp_violations(), []);
  const shot = path.join(tmpdir(), `keyledger-oauth-consent-${random_suffix(6)}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok((await stat(shot)).size > 1000, 'a screenshot');
  t.diagnostic(`consent page screenshot: ${shot}`);
  console.log(`consent page screenshot: ${shot}`);

  // Allow: the browser follows the 303 to the app (allowed by form-action).
  const [callback] = await Promise.all([cb.next(15_000), allow.click()]);
  await page.waitForURL((u) => u.origin === new URL(cb.url).origin);
  assert.equal(callback.searchParams.get('state'), state);
  assert.equal(callback.searchParams.get('iss'), issuer);
  const params = oauth.validateAuthResponse(as, { client_id: app.id }, callback, state);

  for (const r of pages) assert_page_headers(new Headers(r.headers()), `${r.request().method()} ${new URL(r.url()).pathname}`);
  assert.ok(pages.length >= 2, `the login and consent pages were seen: ${pages.length}`);
  assert.deepEqual(problems, [], 'no console error, page error or CSP report in Chromium');
  // Referrer-Policy same-origin: the browser sends the real Origin (no-referrer would make it
  // "null", and the server refuses that), which the server checks.
  assert.deepEqual(posts, [['/oauth/login', issuer], ['/oauth/authorize', issuer]]);

  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    { client_id: app.id },
    await oauth.authorizationCodeGrantRequest(as, { client_id: app.id }, oauth.ClientSecretBasic(app.client_secret), params, cb.url, code_verifier, insecure),
  );
  await token_verifier(issuer).verify(tokens.access_token, { client_id: app.id, scope: 'leads:read leads:write', sid: true });

  // The same browser again: the consent is remembered, straight back to the app.
  const again = new URL(url);
  const state2 = oauth.generateRandomState();
  again.searchParams.set('state', state2);
  const [second] = await Promise.all([cb.next(15_000), page.goto(again.href)]);
  assert.equal(second.searchParams.get('state'), state2);
  assert.ok(second.searchParams.get('code'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('Chromium will not frame the login page (frame-ancestors none, X-Frame-Options DENY)', async () => {
  const issuer = stack.server.base_url;
  const app = await register_client(stack, { name: 'Framed', redirect_uris: [cb.url] });
  const url = new URL(`${issuer}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.id,
    redirect_uri: cb.url,
    scope: 'leads:read',
    state: 'x',
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
  }).toString();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // An attacker's page on another origin (another loopback port: Chromium's local network
  // access checks would block a public page's frame before it reached the server) framing the
  // login page.
  const attacker = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>evil</title><iframe id="f" src="${url.href.replaceAll('&', '&amp;')}"></iframe>`);
  });
  attacker.listen(0, '127.0.0.1');
  await once(attacker, 'listening');
  const evil = `http://127.0.0.1:${attacker.address().port}/evil`;
  const served = page.waitForResponse((r) => r.url() === url.href);
  await page.goto(evil);
  // The server did answer the frame's request with the login page...
  const answer = await served;
  assert.equal(answer.status(), 200);
  assert_page_headers(new Headers(answer.headers()), 'framed login page');
  // ...and Chromium would not render it (goto waited for the load event, which waits for the
  // frame): the frame holds no login form.
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, 'the iframe exists');
  assert.equal(await frame.locator('#email, #password, form').count(), 0, 'the framed page shows no form');
  await context.close();
  attacker.closeAllConnections();
  attacker.close();
});
