// The web console in a real browser (Debian's Chromium through playwright-core) against the
// real server (issue 11, first pages): /console/ is served by keyledger with a strict CSP; a
// person logs in with the owner's email and password, sees the keys table (a key expiring
// within 14 days marked), filters it by name as they type and by environment, reloads the page
// and is still logged in (and can still write: log out), and a wrong password is refused with
// a message. No console error, no failed request, no CSP violation on any page. Screenshots of
// each page at 1280 and 390 px are saved (the path is printed).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { random_suffix, start_stack, wait_for } from './harness.mjs';
import { add_user, create_owned_key, login_owner } from './people.mjs';

const chromium_path = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const shots = process.env.KEYLEDGER_SCREENSHOT_DIR ?? path.join(tmpdir(), `keyledger-console-${random_suffix(6)}`);

let stack;
let browser;
const secrets = {};
const problems = [];

before(async () => {
  assert.ok(existsSync(chromium_path), `Chromium is not at ${chromium_path}: install Debian's chromium (./scripts/dev does)`);
  mkdirSync(shots, { recursive: true });
  stack = await start_stack({ env: { KEYLEDGER_USAGE_FLUSH_MS: '100' } });
  const soon = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString();
  for (const [name, environment, extra] of [
    ['billing-live', 'live', {}], ['billing-test', 'test', {}], ['reports', 'live', { expires_at: soon }], ['crm-sync', 'test', {}],
  ]) {
    const r = await stack.api.create_key(stack.admin_key, { name, environment, scopes: ['leads:read'], ...extra });
    assert.equal(r.status, 201, r.text);
    secrets[name] = r.json.key;
  }
  browser = await chromium.launch({ executablePath: chromium_path, args: ['--no-sandbox'], headless: true, timeout: 30_000 });
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.close();
  console.log(`console screenshots: ${shots}`);
});

/// A page that records every console error, failed request and 4xx/5xx other than the
/// expected ones.
async function open_page(width, allowed_statuses = []) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium reports every 4xx fetch as an error; the expected ones (no session yet, a wrong
    // password) are not problems. Anything else (a CSP violation, a script error) is.
    const names = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden' };
    const expected = allowed_statuses.some((s) => m.text() === `Failed to load resource: the server responded with a status of ${s} (${names[s]})`);
    if (!expected) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed_statuses.includes(r.status())) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { context, page };
}

async function log_in(page, password = stack.workspace.owner_password) {
  await page.getByLabel('Email').fill(stack.workspace.owner_email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const rows = (page) => page.locator('tbody tr[data-key-id]');

test('the console page is served with strict security headers; /console redirects', async () => {
  const r = await fetch(`${stack.server.base_url}/console`, { redirect: 'manual' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.get('location'), '/console/');
  const p = await fetch(`${stack.server.base_url}/console/`);
  assert.equal(p.status, 200);
  assert.match(p.headers.get('content-type'), /^text\/html/);
  const csp = p.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(p.headers.get('x-frame-options'), 'DENY');
  const html = await p.text();
  assert.doesNotMatch(html, /<script>|style=/, 'no inline script or style');
  for (const [file, type] of [['console.js', /javascript/], ['console.css', /css/]]) {
    const a = await fetch(`${stack.server.base_url}/console/${file}`);
    assert.equal(a.status, 200, file);
    assert.match(a.headers.get('content-type'), type);
  }
  for (const bad of ['index.htm', '..%2Fserver.secret', 'nothing.js']) {
    assert.equal((await fetch(`${stack.server.base_url}/console/${bad}`)).status, 404, bad);
  }
});

for (const width of [1280, 390]) {
  test(`log in, the keys table, filters, reload, log out (${width} px)`, async () => {
    const { context, page } = await open_page(width, [401]);
    try {
      await page.goto(`${stack.server.base_url}/console/`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.screenshot({ path: path.join(shots, `login-${width}.png`), fullPage: true });

      await log_in(page, 'not the password');
      await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();

      await log_in(page);
      await page.getByRole('heading', { name: 'Keys' }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-key-id]').length >= 5);
      assert.equal(await rows(page).count(), 5, 'four keys and the bootstrap admin key');
      const marked = page.locator('tbody tr', { hasText: 'reports' }).locator('.soon');
      assert.equal(await marked.count(), 1, 'the key expiring within 14 days is marked');
      await page.screenshot({ path: path.join(shots, `keys-${width}.png`), fullPage: true });

      await page.getByLabel('Name contains').pressSequentially('billing', { delay: 20 });
      await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-key-id]').length === 2);
      await page.getByLabel('Environment').selectOption('live');
      await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-key-id]').length === 1);
      assert.match(await rows(page).first().innerText(), /billing-live/);
      await page.screenshot({ path: path.join(shots, `keys-filtered-${width}.png`), fullPage: true });

      // A reload keeps the session (the cookie) and the right to write (the CSRF token comes
      // again from GET /v1/sessions/current): logging out works.
      await page.reload();
      await page.getByRole('heading', { name: 'Keys' }).waitFor();
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      const after_logout = await context.request.get(`${stack.server.base_url}/v1/sessions/current`);
      assert.equal(after_logout.status(), 401, 'the session ended on the server');
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert.equal(stored, '{}{}', 'nothing in web storage');
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, [], 'no console error, failed request or unexpected error status');
  });
}

test('keyboard only: the login form is reachable and labelled', async () => {
  const { context, page } = await open_page(1280, [401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.keyboard.type(stack.workspace.owner_email);  // the email field has the focus
    await page.keyboard.press('Tab');
    await page.keyboard.type(stack.workspace.owner_password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('create a key: every setting, the API\'s message next to the field, the secret shown once behind a checkbox', async () => {
  const { context, page } = await open_page(1280, [400, 401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('from-console');
    await page.getByLabel('Environment').selectOption('live');
    await page.getByLabel('leads:read').check();
    await page.getByLabel('Expires in days').fill('30');
    await page.getByLabel('Allowed CIDRs').fill('203.0.113.0/24');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByLabel('Allowed CIDRs').fill('198.51.100.7');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('button', { name: 'Remove 198.51.100.7' }).click();
    await page.getByLabel('Postback URL').fill('ftp://hooks.example.com/in');
    await page.getByLabel('Rate limit').fill('100');
    await page.getByRole('button', { name: 'Create' }).click();
    // The API refuses the URL; its message appears under that field, nothing is created.
    await page.locator('#postback_url-error').filter({ hasText: 'postback_url' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'create-error-1280.png'), fullPage: true });
    assert.equal((await stack.api.list_keys(stack.admin_key, { name: 'from-console' })).json.data.length, 0);

    await page.getByLabel('Postback URL').fill('https://hooks.example.com/in');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /created/ }).waitFor();
    const secret = await page.getByLabel('The new key').inputValue();
    assert.match(secret, /^kl_live_/);
    const close = page.getByRole('button', { name: 'Close' });
    assert.equal(await close.isDisabled(), true, 'Close waits for the checkbox');
    await page.screenshot({ path: path.join(shots, 'secret-1280.png'), fullPage: true });
    await page.getByLabel('I have saved this key').check();
    assert.equal(await close.isDisabled(), false);
    await close.click();
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.locator('tbody tr', { hasText: 'from-console' }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is gone from the page');

    const made = (await stack.api.list_keys(stack.admin_key, { name: 'from-console' })).json.data[0];
    assert.deepEqual(made.scopes, ['leads:read']);
    assert.deepEqual(made.allowed_cidrs, ['203.0.113.0/24']);
    assert.equal(made.postback_url, 'https://hooks.example.com/in');
    assert.deepEqual(made.rate_limit, { limit: 100, window_seconds: 60 });
    assert.equal(made.environment, 'live');
    const v = await stack.api.verify(secret, { ip: '203.0.113.9' });
    assert.equal(v.json?.valid, true, v.text);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.equal(stored, '{}{}');
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('a key: its settings edited with the pencil, rotated (both keys in the chain), revoked after a confirmation naming it, its requests, chart and history', async () => {
  // Traffic first: three valid verifications and one refused, in the request log within 100 ms.
  for (let i = 0; i < 3; i += 1) assert.equal((await stack.api.verify(secrets['crm-sync'])).json?.valid, true);
  assert.equal((await stack.api.verify(secrets['crm-sync'], { required_scopes: ['leads:write'] })).json?.valid, false);
  const id = (await stack.api.list_keys(stack.admin_key, { name: 'crm-sync' })).json.data[0].id;
  await wait_for(async () => (await stack.api.requests_of(stack.admin_key, id)).json?.data?.length >= 2, { deadline_ms: 5_000, what: 'the request log' });

  const { context, page } = await open_page(1280, [401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('link', { name: 'crm-sync' }).click();
    await page.getByRole('heading', { name: 'crm-sync' }).waitFor();
    const chart = page.getByRole('img', { name: /Requests per minute/ });
    await chart.waitFor();
    assert.match(await chart.getAttribute('aria-label'), /3 valid, 1 refused/);
    await page.getByRole('table', { name: 'Request log' }).locator('tr', { hasText: 'INSUFFICIENT_SCOPE' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'key-1280.png'), fullPage: true });

    await page.getByRole('button', { name: 'Edit name' }).click();
    await page.getByLabel('Name', { exact: true }).fill('crm-sync-2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'crm-sync-2' }).waitFor();
    await page.getByRole('button', { name: 'Edit enabled' }).click();
    await page.getByLabel('Enabled', { exact: true }).selectOption('false');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /disabled/ }).waitFor();
    assert.equal((await stack.api.verify(secrets['crm-sync'])).json?.code, 'DISABLED');
    await page.getByRole('button', { name: 'Edit enabled' }).click();
    await page.getByLabel('Enabled', { exact: true }).selectOption('true');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /active/ }).waitFor();
    // Every other setting PATCH can change, each through its pencil.
    for (const [label, value, check] of [
      ['scopes', 'leads:read, leads:write', (k) => assert.deepEqual(k.scopes, ['leads:read', 'leads:write'])],
      ['allowed CIDRs', '10.0.0.0/8, 127.0.0.1', (k) => assert.deepEqual(k.allowed_cidrs, ['10.0.0.0/8', '127.0.0.1/32'])],
      ['postback URL', 'https://hooks.example.com/k', (k) => assert.equal(k.postback_url, 'https://hooks.example.com/k')],
      ['off the record', 'true', (k) => assert.equal(k.off_the_record, true)],
      ['rate limit', '50/10', (k) => assert.deepEqual(k.rate_limit, { limit: 50, window_seconds: 10 })],
    ]) {
      await page.getByRole('button', { name: `Edit ${label}` }).click();
      const editor = page.locator('dd form').locator('input, select').first();
      if ((await editor.evaluate((e) => e.tagName)) === 'SELECT') await editor.selectOption(value);
      else await editor.fill(value);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.locator('dd form').waitFor({ state: 'detached' });
      check((await stack.api.get_key(stack.admin_key, id)).json);
    }

    await page.getByLabel('Grace period').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('heading', { name: /created/ }).waitFor();
    const rotated = await page.getByLabel('The new key').inputValue();
    await page.getByLabel('I have saved this key').check();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('heading', { name: 'crm-sync-2' }).waitFor();
    const chain = page.getByRole('region', { name: 'Rotation chain' });
    await page.waitForFunction(() => (document.querySelector('section[aria-label="Rotation chain"]')?.textContent.match(/key_/g) ?? []).length === 2);
    assert.match(await chain.innerText(), new RegExp(id), 'the old key is in the chain');
    assert.equal((await stack.api.verify(secrets['crm-sync'])).json?.valid, true, 'the old key works during its grace');

    await page.getByRole('button', { name: 'Revoke…' }).click();
    const dialog = page.getByRole('alertdialog');
    assert.match(await dialog.innerText(), /Revoke key “crm-sync-2”/);
    await page.screenshot({ path: path.join(shots, 'revoke-1280.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Revoke “crm-sync-2”' }).click();
    await page.getByRole('heading', { name: /revoked/ }).waitFor();
    assert.equal((await stack.api.verify(rotated)).json?.code, 'REVOKED', 'verification refuses the revoked key');
    await page.getByRole('region', { name: 'History' }).getByText(/Rotated by/).waitFor();
    await page.getByRole('region', { name: 'History' }).getByText(/Revoked by/).waitFor();

    await page.setViewportSize({ width: 390, height: 900 });
    await page.screenshot({ path: path.join(shots, 'key-390.png'), fullPage: true });
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('an auditor sees no write control; a member sees only their own keys', async () => {
  const owner = await login_owner(stack.api, stack.server, stack.workspace);
  const auditor = await add_user(stack.api, stack.server, { session: owner }, { role: 'auditor' });
  const member = await add_user(stack.api, stack.server, { session: owner }, { role: 'member' });
  const own = await create_owned_key(stack.api, { session: member.session }, { name: 'members-own' });

  for (const [person, check] of [
    [auditor, async (page) => {
      await page.getByRole('heading', { name: 'Keys' }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-key-id]').length >= 5);
      assert.equal(await page.getByRole('button', { name: 'Create key' }).count(), 0);
      await page.getByRole('link', { name: 'billing-live' }).click();
      await page.getByRole('heading', { name: 'billing-live' }).waitFor();
      await page.getByRole('region', { name: 'History' }).locator('li').first().waitFor();
      assert.equal(await page.getByRole('button', { name: /Edit|Rotate|Revoke/ }).count(), 0, 'no write control');
      await page.screenshot({ path: path.join(shots, 'key-auditor-1280.png'), fullPage: true });
      await page.getByRole('link', { name: 'Workspace' }).click();
      await page.getByRole('heading', { name: /^Workspace/ }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0, 'an auditor reads the workspace, cannot save');
      assert.equal(await page.getByLabel('Scope catalog').isDisabled(), true);
      await page.getByRole('link', { name: 'People' }).click();
      await page.getByRole('heading', { name: 'People' }).waitFor();
      assert.equal(await page.getByRole('button', { name: /Invite|Change role|Remove/ }).count(), 0, 'no people control');
    }],
    [member, async (page) => {
      await page.getByRole('heading', { name: 'Keys' }).waitFor();
      await page.locator('tbody tr', { hasText: 'members-own' }).waitFor();
      assert.equal(await rows(page).count(), 1, 'only the member\'s own key');
      assert.equal(await rows(page).first().getAttribute('data-key-id'), own.id);
      for (const admin_page of ['People', 'Workspace', 'Failed attempts', 'Audit']) {
        assert.equal(await page.getByRole('link', { name: admin_page }).count(), 0, `a member has no ${admin_page} page`);
      }
    }],
  ]) {
    const { context, page } = await open_page(1280, [401, 403]);
    try {
      await page.goto(`${stack.server.base_url}/console/`);
      await page.getByLabel('Email').fill(person.email);
      await page.getByLabel('Password').fill(person.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await check(page);
    } finally {
      await context.close();
    }
  }
  assert.deepEqual(problems, []);
});

test('a write without the CSRF token is refused', async () => {
  const { context, page } = await open_page(1280, [401, 403]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/v1/keys', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'no-csrf', environment: 'test' }),
    })).status);
    assert.equal(status, 403);
    assert.equal((await stack.api.list_keys(stack.admin_key, { name: 'no-csrf' })).json.data.length, 0);
  } finally {
    await context.close();
  }
});

test('people: invite (the one-time code shown once, not in a URL), set a first password from it, change a role, remove - controls only for those who may', async () => {
  const { context, page } = await open_page(1280, [401]);
  const email = `console-${random_suffix(8)}@e2e.example`;
  let code;
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Display name').fill('Console Person');
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Invite' }).click();
    code = await page.getByLabel('One-time code').inputValue();
    assert.match(code, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await page.locator('#invitation-link').innerText(), `${stack.server.base_url}/console/#/set-password`, 'the address holds no code');
    await page.locator('tbody tr', { hasText: email }).locator('td', { hasText: 'no (invited)' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'people-1280.png'), fullPage: true });
  } finally {
    await context.close();
  }

  // The invited person sets a first password, then logs in.
  const invited = await open_page(1280, [401]);
  try {
    await invited.page.goto(`${stack.server.base_url}/console/#/set-password`);
    await invited.page.getByRole('heading', { name: 'Set your password' }).waitFor();
    await invited.page.screenshot({ path: path.join(shots, 'set-password-1280.png'), fullPage: true });
    await invited.page.setViewportSize({ width: 390, height: 900 });
    await invited.page.screenshot({ path: path.join(shots, 'set-password-390.png'), fullPage: true });
    await invited.page.setViewportSize({ width: 1280, height: 900 });
    await invited.page.getByLabel('One-time code').fill(code);
    await invited.page.getByLabel('New password').fill('short');
    await invited.page.getByRole('button', { name: 'Set password' }).click();
    // The browser's own minlength check stops it; a 12+ password goes through.
    await invited.page.getByLabel('New password').fill('a long enough console password');
    await invited.page.getByRole('button', { name: 'Set password' }).click();
    await invited.page.getByRole('status').filter({ hasText: 'Your password is set' }).waitFor();
    await invited.page.getByLabel('Email').fill(email);
    await invited.page.getByLabel('Password').fill('a long enough console password');
    await invited.page.getByRole('button', { name: 'Log in' }).click();
    await invited.page.getByRole('heading', { name: 'Keys' }).waitFor();
    assert.equal(await invited.page.getByRole('link', { name: 'People' }).count(), 0, 'a member has no people page');
  } finally {
    await invited.context.close();
  }

  // The owner makes them an auditor, then removes them.
  const again = await open_page(1280, [401]);
  try {
    await again.page.goto(`${stack.server.base_url}/console/#/people`);
    await log_in(again.page);
    await again.page.getByRole('heading', { name: 'People' }).waitFor();
    const row = again.page.locator('tbody tr', { hasText: email });
    await row.getByLabel(`Role of ${email}`).selectOption('auditor');
    await row.getByRole('button', { name: 'Change role' }).click();
    await again.page.locator('tbody tr', { hasText: email }).locator('td', { hasText: /^auditor$/ }).waitFor();
    assert.equal(await again.page.locator('tbody tr', { hasText: stack.workspace.owner_email }).getByRole('button').count(), 0, 'no control on oneself');
    await again.page.locator('tbody tr', { hasText: email }).getByRole('button', { name: 'Remove…' }).click();
    await again.page.getByRole('button', { name: `Remove ${email}` }).click();
    await again.page.locator('tbody tr', { hasText: email }).waitFor({ state: 'detached' });
  } finally {
    await again.context.close();
  }
  const users = await stack.api.get('/v1/users', { key: stack.admin_key });
  assert.equal(users.json.data.some((u) => u.email === email), false, 'removed');
  assert.deepEqual(problems, []);
});

test('workspace settings saved through the API, a refused change shown and nothing changed; failed attempts per source and code', async () => {
  assert.equal((await stack.api.verify('kl_live_notakeyatallnotakeyatall00000000000000')).json?.valid, false);
  const { context, page } = await open_page(1280, [400, 401]);  // the refused change is a 400
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('link', { name: 'Workspace' }).click();
    await page.getByRole('heading', { name: /^Workspace/ }).waitFor();
    await page.getByLabel('Default key lifespan').fill('30');
    await page.getByLabel('Scope catalog').fill('leads:read\nleads:write\nreports:read\nreports:write\na:b\nbilling:read');
    await page.getByLabel('When a leak report names a working key').selectOption('disable');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const ws = (await stack.api.get('/v1/workspace', { key: stack.admin_key })).json;
    assert.equal(ws.key_policy.default_lifespan_days, 30);
    assert.ok(ws.scope_catalog.includes('billing:read'));
    assert.equal(ws.on_leak, 'disable');
    await page.getByLabel('Longest key lifespan').fill('10');  // below the default: refused
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: /lifespan/ }).waitFor();
    assert.equal((await stack.api.get('/v1/workspace', { key: stack.admin_key })).json.key_policy.max_lifespan_days, ws.key_policy.max_lifespan_days, 'nothing changed');
    await page.screenshot({ path: path.join(shots, 'workspace-1280.png'), fullPage: true });

    await page.getByRole('link', { name: 'Failed attempts' }).click();
    await page.getByRole('table', { name: 'Failed attempts' }).locator('tr', { hasText: /NOT_FOUND|MALFORMED/ }).first().waitFor();
    await page.screenshot({ path: path.join(shots, 'failures-1280.png'), fullPage: true });
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('OAuth apps: register one (its secret shown once), the apps I authorized with a revoke; the audit page: checkpoint, chain status, export', async () => {
  const { context, page } = await open_page(1280, [401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    await page.getByRole('link', { name: 'OAuth apps' }).click();
    await page.getByRole('heading', { name: 'OAuth apps' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Console CRM');
    await page.getByLabel('Redirect URIs').fill('https://crm.example/cb');
    await page.getByLabel('Allowed scopes').fill('leads:read');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: /registered/ }).waitFor();
    const client_secret = await page.getByLabel('The app’s client secret').inputValue();
    assert.match(client_secret, /^klcs_/);
    assert.equal(await page.getByRole('button', { name: 'Close' }).isDisabled(), true);
    await page.getByLabel('I have saved this secret').check();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('table', { name: 'Apps' }).locator('tr', { hasText: 'Console CRM' }).waitFor();
    const app = (await stack.api.get('/v1/oauth/clients', { key: stack.admin_key })).json.clients.find((c) => c.name === 'Console CRM');
    assert.deepEqual(app.redirect_uris, ['https://crm.example/cb']);
    await page.getByRole('table', { name: 'Authorized apps' }).getByText('You have not authorized any app.').waitFor();
    await page.screenshot({ path: path.join(shots, 'apps-1280.png'), fullPage: true });

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    await page.locator('#chain-status').filter({ hasText: 'matches every signed checkpoint' }).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: /Export/ }).click();
    const file = await (await download).path();
    const { readFileSync } = await import('node:fs');
    const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
    assert.equal(first.workspace_id, stack.workspace.workspace_id);
    assert.ok(Array.isArray(first.events));
    await page.screenshot({ path: path.join(shots, 'audit-1280.png'), fullPage: true });
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('every page at 390 px: readable, and saved as a screenshot', async () => {
  const { context, page } = await open_page(390, [401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    for (const [hash, heading, file] of [
      ['#/keys', 'Keys', 'keys'], ['#/people', 'People', 'people'], ['#/workspace', /^Workspace/, 'workspace'],
      ['#/failures', /Failed attempts/, 'failures'], ['#/apps', 'OAuth apps', 'apps'], ['#/audit', 'Audit', 'audit'],
    ]) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.getByRole('heading', { name: heading }).first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${hash}: the page is ${overflow} px wider than the screen`);
      await page.screenshot({ path: path.join(shots, `${file}-390.png`), fullPage: true });
    }
    await page.evaluate(() => { location.hash = '#/keys'; });
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'create-390.png'), fullPage: true });
    await page.getByLabel('Name', { exact: true }).fill('narrow-screen');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /created/ }).waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the secret page fits');
    await page.screenshot({ path: path.join(shots, 'secret-390.png'), fullPage: true });
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});

test('keyboard: on every page each control is reached with Tab and has a visible label or name', async () => {
  const { context, page } = await open_page(1280, [401]);
  try {
    await page.goto(`${stack.server.base_url}/console/`);
    await log_in(page);
    const key_id = (await stack.api.list_keys(stack.admin_key, { name: 'billing-live' })).json.data[0].id;
    for (const [hash, heading] of [
      ['#/keys', 'Keys'], [`#/keys/${key_id}`, 'billing-live'], ['#/people', 'People'], ['#/workspace', /^Workspace/],
      ['#/failures', /Failed attempts/], ['#/apps', 'OAuth apps'], ['#/audit', 'Audit'], ['create', 'Create a key'],
    ]) {
      if (hash === 'create') {
        await page.evaluate(() => { location.hash = '#/keys'; });
        await page.getByRole('button', { name: 'Create key' }).click();
      } else {
        await page.evaluate((h) => { location.hash = h; }, hash);
      }
      await page.getByRole('heading', { name: heading }).first().waitFor();
      await page.waitForLoadState('networkidle');
      // Every visible, enabled control, and whether it has a name a person can see or hear.
      const controls = await page.evaluate(() => {
        const visible = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
        return [...document.querySelectorAll('a[href], button, input, select, textarea')]
          .filter((e) => visible(e) && !e.disabled && e.type !== 'hidden')
          .map((e, i) => {
            e.dataset.probe = String(i);
            const name = e.getAttribute('aria-label') || (e.labels && [...e.labels].map((l) => l.textContent).join(' ')) || e.textContent;
            return { probe: String(i), what: `${e.tagName.toLowerCase()}#${e.id}`, named: (name ?? '').trim() !== '' };
          });
      });
      for (const c of controls) assert.ok(c.named, `${hash}: ${c.what} has no label or name`);
      // Tab from the top of the page until the focus comes round again.
      await page.evaluate(() => document.activeElement?.blur());
      const reached = new Set();
      for (let i = 0; i < controls.length + 10; i += 1) {
        await page.keyboard.press('Tab');
        const probe = await page.evaluate(() => document.activeElement?.dataset?.probe ?? null);
        if (probe !== null) reached.add(probe);
      }
      const missed = controls.filter((c) => !reached.has(c.probe)).map((c) => c.what);
      assert.deepEqual(missed, [], `${hash}: not reachable with Tab`);
    }
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
});
