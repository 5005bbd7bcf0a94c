// keyledger console: plain ES module, no framework, no build step. It speaks only the public
// API (docs/api.md) with the session cookie and X-CSRF-Token; the CSRF token lives in memory
// only (GET /v1/sessions/current gives it again after a reload). docs/console.md.

const app = document.getElementById('app');
const who = document.getElementById('who');
const logout_button = document.getElementById('logout');
let session = null;  // {user_id, workspace_id, role, email, csrf_token}

/// One API call: JSON in and out; writes carry the CSRF token. Resolves {status, body}.
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && session) headers['x-csrf-token'] = session.csrf_token;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, body: json };
}

/// Elements without innerHTML: every text goes in as text.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function show(...nodes) {
  app.replaceChildren(...nodes);
  app.focus();
}

function message_of(r) {
  return r.body?.error?.message ?? r.body?.message ?? `The server answered ${r.status}.`;
}

// ---- log in / log out ---------------------------------------------------------------------

function login_page(error = '', notice = '') {
  who.textContent = '';
  logout_button.hidden = true;
  const email = el('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const workspace = el('input', { id: 'workspace', name: 'workspace', autocomplete: 'organization' });
  const problem = el('p', { class: 'error', role: 'alert' }, error);
  const submit = el('button', { type: 'submit' }, 'Log in');
  document.getElementById('nav').replaceChildren();
  const form = el('form', { class: 'card login', 'aria-labelledby': 'login-title' },
    el('h1', { id: 'login-title' }, 'Log in'),
    notice ? el('p', { class: 'notice', role: 'status' }, notice) : null,
    el('label', { for: 'email' }, 'Email'), email,
    el('label', { for: 'password' }, 'Password'), password,
    el('label', { for: 'workspace' }, 'Workspace (only if you belong to several)'), workspace,
    problem,
    el('p', {}, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.textContent = '';
    const body = { email: email.value, password: password.value };
    if (workspace.value.trim() !== '') body.workspace = workspace.value.trim();
    const r = await api('POST', '/v1/sessions', body);
    password.value = '';
    submit.disabled = false;
    if (r.status !== 201) {
      problem.textContent = r.status === 401 ? 'Wrong email or password.' : message_of(r);
      return;
    }
    await start();
  });
  show(form);
  email.focus();
}

logout_button.addEventListener('click', async () => {
  await api('DELETE', '/v1/sessions/current');
  session = null;
  login_page();
});

// ---- keys ---------------------------------------------------------------------------------

const fourteen_days_ms = 14 * 24 * 3600 * 1000;

function when(iso) {
  if (!iso) return '—';
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}

function key_row(k) {
  const expires = k.expires_at ? Date.parse(k.expires_at) : null;
  const soon = expires !== null && k.status === 'active' && expires - Date.now() < fourteen_days_ms;
  // data-label: the column's name, shown beside each value when the table is stacked (narrow).
  const cell = (label, content, cls) => el('td', { 'data-label': label, class: cls }, content);
  return el('tr', { 'data-key-id': k.id },
    cell('Enabled', k.enabled ? 'yes' : 'no'),
    cell('Name', el('a', { href: `#/keys/${k.id}` }, k.name), 'name'),
    cell('Start', el('code', {}, k.start)),
    cell('Environment', k.environment),
    cell('Scopes', k.scopes.join(', ') || '—', 'scopes'),
    cell('Created', when(k.created_at)),
    cell('Expires', soon ? el('span', { class: 'soon', title: 'expires within 14 days' }, `${when(k.expires_at)} · soon`) : when(k.expires_at)),
    cell('Last used', k.last_used_at ? `${when(k.last_used_at)} from ${k.last_used_ip ?? '?'}` : 'never'),
    cell('Status', el('span', { class: `status status-${k.status}` }, k.status)));
}

function keys_page() {
  const name = el('input', { id: 'filter-name', type: 'search', autocomplete: 'off' });
  const env = el('select', { id: 'filter-env' },
    el('option', { value: '' }, 'any'), el('option', { value: 'live' }, 'live'), el('option', { value: 'test' }, 'test'));
  const status = el('select', { id: 'filter-status' },
    ...['', 'active', 'disabled', 'expired', 'revoked'].map((s) => el('option', { value: s }, s || 'any')));
  const body = el('tbody');
  const problem = el('p', { class: 'error', role: 'alert' });
  const count = el('p', { class: 'muted', 'aria-live': 'polite' });
  const prev = el('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous');
  const next = el('button', { type: 'button', class: 'secondary', disabled: true }, 'Next');
  const cursors = [null];  // the cursor of each page shown so far
  let page = 0;
  let generation = 0;

  async function load() {
    const mine = ++generation;
    const q = new URLSearchParams({ limit: '20' });
    if (name.value.trim()) q.set('name', name.value.trim());
    if (env.value) q.set('environment', env.value);
    if (status.value) q.set('status', status.value);
    if (cursors[page]) q.set('cursor', cursors[page]);
    const r = await api('GET', `/v1/keys?${q}`);
    if (mine !== generation) return;  // a newer filter is on its way
    if (r.status === 401) return login_page('Your session ended. Log in again.');
    if (r.status !== 200) {
      problem.textContent = message_of(r);
      return;
    }
    problem.textContent = '';
    body.replaceChildren(...r.body.data.map(key_row));
    if (r.body.data.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: '9', class: 'muted empty' }, 'No keys match.')));
    }
    count.textContent = `Page ${page + 1}: ${r.body.data.length} key${r.body.data.length === 1 ? '' : 's'}`;
    cursors[page + 1] = r.body.next_cursor ?? null;
    prev.disabled = page === 0;
    next.disabled = !r.body.next_cursor;
  }
  function restart() {
    page = 0;
    cursors.length = 1;
    load();
  }
  let typing;
  name.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(restart, 150);
  });
  env.addEventListener('change', restart);
  status.addEventListener('change', restart);
  prev.addEventListener('click', () => { page -= 1; load(); });
  next.addEventListener('click', () => { page += 1; load(); });

  show(
    el('div', { class: 'title-row' }, el('h1', {}, 'Keys'),
      session.role === 'auditor' ? null : el('button', { type: 'button', id: 'create-key', onclick: create_page }, 'Create key')),
    el('div', { class: 'filters' },
      el('div', {}, el('label', { for: 'filter-name' }, 'Name contains'), name),
      el('div', {}, el('label', { for: 'filter-env' }, 'Environment'), env),
      el('div', {}, el('label', { for: 'filter-status' }, 'Status'), status)),
    problem,
    el('div', { class: 'table-wrap' },
      el('table', { 'aria-label': 'Keys' },
        el('thead', {}, el('tr', {},
          ...['Enabled', 'Name', 'Start', 'Environment', 'Scopes', 'Created', 'Expires', 'Last used', 'Status']
            .map((h) => el('th', { scope: 'col' }, h)))),
        body)),
    count,
    el('div', { class: 'pager' }, prev, next));
  load();
}

// ---- create a key -------------------------------------------------------------------------

/// The field an API refusal names ("field 'name' must ..."), or null.
function field_of(r) {
  const m = /field '([a-z_]+)'/.exec(r.body?.message ?? '');
  return m ? m[1] : null;
}

async function create_page() {
  const ws = await api('GET', '/v1/workspace');
  const catalog = ws.status === 200 ? ws.body.scope_catalog : null;
  const errors = {};
  const field = (id, label, input, hint) => {
    errors[id] = el('p', { class: 'error', id: `${id}-error`, 'aria-live': 'polite' });
    input.setAttribute('aria-describedby', `${id}-error`);
    return el('div', { class: 'field' }, el('label', { for: id }, label), input, hint ? el('p', { class: 'muted hint' }, hint) : null, errors[id]);
  };
  const name = el('input', { id: 'name', required: true, autocomplete: 'off' });
  const env = el('select', { id: 'environment' }, el('option', { value: 'test' }, 'test'), el('option', { value: 'live' }, 'live'));
  const scope_boxes = (catalog ?? []).map((sc) => el('label', { class: 'check' }, el('input', { type: 'checkbox', value: sc }), ' ', sc));
  const scopes_text = el('input', { id: 'scopes', autocomplete: 'off' });
  const scopes = catalog ? el('fieldset', { id: 'scopes', class: 'checks' }, el('legend', {}, 'Scopes'), ...scope_boxes) : null;
  const days = el('input', { id: 'expires_in_days', type: 'number', min: '1', inputmode: 'numeric' });
  const never = el('input', { id: 'never', type: 'checkbox' });
  const cidr_list = el('ul', { class: 'cidrs', 'aria-label': 'CIDRs added' });
  const cidr_input = el('input', { id: 'allowed_cidrs', autocomplete: 'off', placeholder: '203.0.113.0/24' });
  const cidrs = [];
  const redraw_cidrs = () => cidr_list.replaceChildren(...cidrs.map((c, i) => el('li', {}, el('code', {}, c), ' ',
    el('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove ${c}`, onclick: () => { cidrs.splice(i, 1); redraw_cidrs(); } }, 'Remove'))));
  const add_cidr = el('button', { type: 'button', class: 'secondary', onclick: () => {
    const v = cidr_input.value.trim();
    if (v && !cidrs.includes(v)) cidrs.push(v);
    cidr_input.value = '';
    redraw_cidrs();
  } }, 'Add');
  const postback = el('input', { id: 'postback_url', type: 'url', autocomplete: 'off', placeholder: 'https://…' });
  const off = el('input', { id: 'off_the_record', type: 'checkbox' });
  const enabled = el('input', { id: 'enabled', type: 'checkbox', checked: true });
  const limit = el('input', { id: 'rate_limit', type: 'number', min: '1', inputmode: 'numeric' });
  const per = el('input', { id: 'rate_window', type: 'number', min: '1', inputmode: 'numeric', value: '60' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const submit = el('button', { type: 'submit' }, 'Create');

  const form = el('form', { class: 'card', 'aria-labelledby': 'create-title' },
    el('h1', { id: 'create-title' }, 'Create a key'),
    field('name', 'Name', name),
    field('environment', 'Environment', env),
    catalog ? el('div', { class: 'field' }, scopes, (errors.scopes = el('p', { class: 'error', 'aria-live': 'polite' })))
      : field('scopes', 'Scopes (comma-separated)', scopes_text),
    field('expires_in_days', 'Expires in days (empty: the workspace default)', days),
    el('label', { class: 'check' }, never, ' Never expires (only where the workspace allows it)'),
    el('div', { class: 'field' }, el('label', { for: 'allowed_cidrs' }, 'Allowed CIDRs (none: anywhere)'),
      el('div', { class: 'inline' }, cidr_input, add_cidr), cidr_list, (errors.allowed_cidrs = el('p', { class: 'error', 'aria-live': 'polite' }))),
    field('postback_url', 'Postback URL', postback),
    el('label', { class: 'check' }, off, ' Off the record (no request log)'),
    el('label', { class: 'check' }, enabled, ' Enabled'),
    el('div', { class: 'field' }, el('label', { for: 'rate_limit' }, 'Rate limit (requests per window; empty: unlimited)'),
      el('div', { class: 'inline' }, limit, el("label", { for: "rate_window", class: "inline-label" }, "per seconds"), per),
      (errors.rate_limit = el('p', { class: 'error', 'aria-live': 'polite' }))),
    problem,
    el('p', { class: 'actions' }, submit, ' ', el('button', { type: 'button', class: 'secondary', onclick: keys_page }, 'Cancel')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const e of Object.values(errors)) e.textContent = '';
    problem.textContent = '';
    const body = { name: name.value, environment: env.value, enabled: enabled.checked, off_the_record: off.checked };
    const chosen = catalog ? scope_boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value)
      : scopes_text.value.split(',').map((x) => x.trim()).filter(Boolean);
    body.scopes = chosen;
    if (never.checked) body.expires_at = null;
    else if (days.value !== '') body.expires_in_days = Number(days.value);
    if (cidrs.length) body.allowed_cidrs = cidrs;
    if (postback.value.trim() !== '') body.postback_url = postback.value.trim();
    if (limit.value !== '') body.rate_limit = { limit: Number(limit.value), window_seconds: Number(per.value) };
    submit.disabled = true;
    const r = await api('POST', '/v1/keys', body);
    submit.disabled = false;
    if (r.status === 201) return secret_page(r.body);
    const f = field_of(r);
    const target = f && (errors[f] ?? (f === 'expires_at' ? errors.expires_in_days : null));
    if (target) target.textContent = r.body.message;
    else problem.textContent = message_of(r);
  });
  show(form);
  name.focus();
}

/// The new key's secret, shown this once: Close waits until the person says they saved it.
function secret_page(created, after = keys_page, what = 'The new key') {
  const secret = el('input', { id: 'secret', readonly: true, value: created.key, class: 'secret', 'aria-label': what });
  const copied = el('span', { class: 'muted', 'aria-live': 'polite' });
  const copy = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      await navigator.clipboard.writeText(secret.value);
      copied.textContent = 'Copied.';
    } catch {
      secret.select();
      copied.textContent = 'Select and copy it by hand.';
    }
  } }, 'Copy');
  const saved = el('input', { id: 'saved', type: 'checkbox' });
  const close = el('button', { type: 'button', disabled: true, onclick: () => { secret.value = ''; after(); } }, 'Close');
  saved.addEventListener('change', () => { close.disabled = !saved.checked; });
  show(el('section', { class: 'card', 'aria-labelledby': 'secret-title' },
    el('h1', { id: 'secret-title' }, what === 'The new key' ? `Key “${created.name}” created` : `App “${created.name}” registered`),
    el('p', {}, `This is the only time ${what === 'The new key' ? 'the key' : 'the secret'} is shown. Store it now: keyledger keeps only a hash of it.`),
    el('div', { class: 'inline' }, secret, copy), copied,
    el('label', { class: 'check' }, saved, what === 'The new key' ? ' I have saved this key' : ' I have saved this secret'),
    el('p', { class: 'actions' }, close)));
  secret.focus();
  secret.select();
}

// ---- one key ------------------------------------------------------------------------------

const writer = () => session && session.role !== 'auditor';
const svg_ns = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(svg_ns, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/// Requests per minute over the last 24 hours, valid and refused, as two lines.
function usage_chart(entries) {
  const now = Date.now();
  const minutes = 24 * 60;
  const valid = new Array(minutes).fill(0);
  const refused = new Array(minutes).fill(0);
  for (const e of entries) {
    const age = Math.floor((now - Date.parse(e.at)) / 60000);
    if (age < 0 || age >= minutes) continue;
    (e.valid ? valid : refused)[minutes - 1 - age] += e.count;
  }
  const top = Math.max(1, ...valid, ...refused);
  const w = 720;
  const h = 120;
  const line = (series) => series.map((v, i) => `${(i / (minutes - 1)) * w},${h - (v / top) * (h - 4)}`).join(' ');
  return el('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `Requests per minute over 24 hours: ${valid.reduce((a, b) => a + b, 0)} valid, ${refused.reduce((a, b) => a + b, 0)} refused` },
      svg('polyline', { points: line(valid), fill: 'none', stroke: '#1e7a3c', 'stroke-width': '1.5', 'vector-effect': 'non-scaling-stroke', class: 'series-valid' }),
      svg('polyline', { points: line(refused), fill: 'none', stroke: '#b3261e', 'stroke-width': '1.5', 'vector-effect': 'non-scaling-stroke', class: 'series-refused' })),
    el('figcaption', { class: 'muted' }, `Requests per minute, last 24 hours (peak ${top}/min): `,
      el('span', { class: 'legend-valid' }, 'valid'), ' · ', el('span', { class: 'legend-refused' }, 'refused')));
}

async function key_page(id) {
  const r = await api('GET', `/v1/keys/${encodeURIComponent(id)}`);
  if (r.status === 401) return login_page('Your session ended. Log in again.');
  if (r.status !== 200) return show(el('h1', {}, 'Key'), el('p', { class: 'error', role: 'alert' }, message_of(r)));
  const k = r.body;
  const problem = el('p', { class: 'error', role: 'alert' });
  const reload = () => key_page(id);

  async function patch(fields) {
    const res = await api('PATCH', `/v1/keys/${encodeURIComponent(id)}`, fields);
    if (res.status === 200) return reload();
    problem.textContent = message_of(res);
  }
  /// A setting: its value, and (for writers) a pencil that swaps in an editor.
  function setting(label, shown, editor) {
    const dd = el('dd', {}, shown);
    if (writer() && editor && k.status !== 'revoked') {
      dd.append(' ', el('button', { type: 'button', class: 'secondary small', 'aria-label': `Edit ${label.toLowerCase()}`, onclick: () => {
        const { input, value } = editor();
        const save = el('button', { type: 'submit', class: 'small' }, 'Save');
        const form = el('form', { class: 'inline' }, input, save,
          el('button', { type: 'button', class: 'secondary small', onclick: reload }, 'Cancel'));
        form.addEventListener('submit', (event) => { event.preventDefault(); patch(value()); });
        dd.replaceChildren(form);
        input.focus();
      } }, '✎'));
    }
    return [el('dt', {}, label), dd];
  }
  const text_editor = (field, label, current, to_value = (v) => v) => () => {
    const input = el('input', { value: current ?? '', 'aria-label': label });
    return { input, value: () => ({ [field]: to_value(input.value) }) };
  };
  const list = (v) => v.split(',').map((x) => x.trim()).filter(Boolean);
  const bool_editor = (field, label, current) => () => {
    const input = el('select', { 'aria-label': label }, el('option', { value: 'true', selected: current }, 'yes'), el('option', { value: 'false', selected: !current }, 'no'));
    return { input, value: () => ({ [field]: input.value === 'true' }) };
  };

  const grace = el('select', { id: 'grace', 'aria-label': 'Grace period' },
    el('option', { value: '0' }, 'the old key stops at once'), el('option', { value: '3600', selected: true }, 'old key works 1 more hour'),
    el('option', { value: '86400' }, 'old key works 24 more hours'), el('option', { value: '604800' }, 'old key works 7 more days'));
  const confirm_box = el('div', { class: 'confirm', hidden: true, role: 'alertdialog', 'aria-labelledby': 'confirm-title' },
    el('p', { id: 'confirm-title' }, `Revoke key “${k.name}” (${k.start}…)? Verification refuses it at once; this cannot be undone.`),
    el('p', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', onclick: async () => {
        const res = await api('DELETE', `/v1/keys/${encodeURIComponent(id)}`);
        if (res.status === 200 || res.status === 204) return reload();
        problem.textContent = message_of(res);
      } }, `Revoke “${k.name}”`),
      el('button', { type: 'button', class: 'secondary', onclick: () => { confirm_box.hidden = true; } }, 'Cancel')));
  const actions = writer() && k.status !== 'revoked' ? el('div', { class: 'card actions-card' },
    el('h2', {}, 'Actions'),
    el('div', { class: 'inline' }, grace,
      el('button', { type: 'button', onclick: async () => {
        const res = await api('POST', `/v1/keys/${encodeURIComponent(id)}/rotate`, { grace_period_seconds: Number(grace.value) });
        if (res.status === 201) return secret_page(res.body, () => { location.hash = `#/keys/${res.body.id}`; });
        problem.textContent = message_of(res);
      } }, 'Rotate'),
      el('button', { type: 'button', class: 'danger', onclick: () => { confirm_box.hidden = false; } }, 'Revoke…')),
    confirm_box) : null;

  const history = el('ol', { class: 'history' });
  const chain = el('p', {});
  const log = el('tbody');
  const chart = el('div', {});
  show(
    el('p', {}, el('a', { href: '#/keys' }, '← Keys')),
    el('h1', {}, k.name, ' ', el('span', { class: `status status-${k.status}` }, k.status)),
    problem,
    el('div', { class: 'columns' },
      el('section', { class: 'card', 'aria-label': 'Settings' }, el('h2', {}, 'Settings'),
        el('dl', { class: 'settings' },
          ...setting('Name', k.name, text_editor('name', 'Name', k.name)),
          ...setting('Start', el('code', {}, k.start)),
          ...setting('Environment', k.environment),
          ...setting('Scopes', k.scopes.join(', ') || '—', text_editor('scopes', 'Scopes', k.scopes.join(', '), list)),
          ...setting('Enabled', k.enabled ? 'yes' : 'no', bool_editor('enabled', 'Enabled', k.enabled)),
          ...setting('Expires', when(k.expires_at)),
          ...setting('Allowed CIDRs', k.allowed_cidrs.join(', ') || 'anywhere', text_editor('allowed_cidrs', 'Allowed CIDRs', k.allowed_cidrs.join(', '), list)),
          ...setting('Postback URL', k.postback_url ?? '—', text_editor('postback_url', 'Postback URL', k.postback_url, (v) => (v.trim() === '' ? null : v.trim()))),
          ...setting('Off the record', k.off_the_record ? 'yes' : 'no', bool_editor('off_the_record', 'Off the record', k.off_the_record)),
          ...setting('Rate limit', k.rate_limit ? `${k.rate_limit.limit} per ${k.rate_limit.window_seconds} s` : 'unlimited',
            () => {
              const input = el('input', { 'aria-label': 'Rate limit', value: k.rate_limit ? `${k.rate_limit.limit}/${k.rate_limit.window_seconds}` : '', placeholder: '100/60 (empty: unlimited)' });
              return { input, value: () => {
                const [l, w] = input.value.split('/').map((x) => Number(x.trim()));
                return { rate_limit: input.value.trim() === '' ? null : { limit: l, window_seconds: w || 60 } };
              } };
            }),
          ...setting('Created', when(k.created_at)),
          ...setting('Last used', k.last_used_at ? `${when(k.last_used_at)} from ${k.last_used_ip}` : 'never'))),
      actions),
    el('section', { class: 'card', 'aria-label': 'Rotation chain' }, el('h2', {}, 'Rotation chain'), chain),
    el('section', { class: 'card', 'aria-label': 'Requests' }, el('h2', {}, 'Requests'), chart,
      el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Request log' },
        el('thead', {}, el('tr', {}, ...['At', 'IP', 'Outcome', 'Count'].map((h) => el('th', { scope: 'col' }, h)))), log))),
    el('section', { class: 'card', 'aria-label': 'History' }, el('h2', {}, 'History'), history));

  const h = await api('GET', `/v1/keys/${encodeURIComponent(id)}/history`);
  if (h.status === 200) {
    history.replaceChildren(...h.body.data.map((e) => el('li', {}, el('time', { datetime: e.recorded_at }, when(e.recorded_at)), ' ', e.description)));
    chain.replaceChildren(...h.body.chain.flatMap((cid, i) => [i ? ' → ' : '', cid === id ? el('strong', {}, cid) : el('a', { href: `#/keys/${cid}` }, cid)]));
  }
  const entries = [];
  let cursor = null;
  for (let page = 0; page < 10; page += 1) {  // at most 1,000 entries for the chart
    const q = new URLSearchParams({ limit: '100' });
    if (cursor) q.set('cursor', cursor);
    const l = await api('GET', `/v1/keys/${encodeURIComponent(id)}/requests?${q}`);
    if (l.status !== 200) {
      log.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted empty' }, l.status === 403 ? 'Your role may not read request logs.' : message_of(l))));
      break;
    }
    entries.push(...l.body.data);
    cursor = l.body.next_cursor;
    const last = l.body.data.at(-1);
    if (!cursor || (last && Date.now() - Date.parse(last.at) > 24 * 3600 * 1000)) break;
  }
  if (entries.length) {
    log.replaceChildren(...entries.slice(0, 20).map((e) => el('tr', {}, el('td', {}, when(e.at)), el('td', {}, e.ip), el('td', {}, e.code), el('td', {}, String(e.count)))));
  } else if (!log.childElementCount) {
    log.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted empty' }, 'No requests yet.')));
  }
  chart.replaceChildren(usage_chart(entries));
}

// ---- people -------------------------------------------------------------------------------

const roles = ['owner', 'admin', 'member', 'auditor'];
const manages_people = () => session && (session.role === 'owner' || session.role === 'admin');

async function people_page() {
  const r = await api('GET', '/v1/users');
  if (r.status === 401) return login_page('Your session ended. Log in again.');
  if (r.status !== 200) return show(el('h1', {}, 'People'), el('p', { class: 'error', role: 'alert' }, message_of(r)));
  const problem = el('p', { class: 'error', role: 'alert' });
  const may_touch = (u) => manages_people() && u.id !== session.user_id && (session.role === 'owner' || u.role !== 'owner');
  const row = (u) => {
    const controls = [];
    if (may_touch(u)) {
      const role = el('select', { 'aria-label': `Role of ${u.email}` },
        ...roles.filter((x) => session.role === 'owner' || x !== 'owner').map((x) => el('option', { value: x, selected: x === u.role }, x)));
      controls.push(role, el('button', { type: 'button', class: 'secondary small', onclick: async () => {
        const res = await api('PATCH', `/v1/users/${u.id}`, { role: role.value });
        if (res.status === 200) return people_page();
        problem.textContent = message_of(res);
      } }, 'Change role'));
      const confirm_box = el('span', { hidden: true, role: 'alertdialog', 'aria-label': `Remove ${u.email}` },
        ` Remove ${u.email}? Their keys stop at once. `,
        el('button', { type: 'button', class: 'danger small', onclick: async () => {
          const res = await api('DELETE', `/v1/users/${u.id}`);
          if (res.status === 204) return people_page();
          problem.textContent = message_of(res);
        } }, `Remove ${u.email}`),
        el('button', { type: 'button', class: 'secondary small', onclick: () => { confirm_box.hidden = true; } }, 'Cancel'));
      controls.push(el('button', { type: 'button', class: 'secondary small', onclick: () => { confirm_box.hidden = false; } }, 'Remove…'), confirm_box);
    }
    return el('tr', { 'data-user-id': u.id },
      el('td', { 'data-label': 'Email' }, u.email), el('td', { 'data-label': 'Name' }, u.display_name),
      el('td', { 'data-label': 'Role' }, u.role), el('td', { 'data-label': 'Password set' }, u.password_set ? 'yes' : 'no (invited)'),
      el('td', { 'data-label': '' }, el('div', { class: 'controls' }, ...controls)));
  };
  const body = el('tbody', {}, ...r.body.data.map(row));
  const refresh = async () => {
    const again = await api('GET', '/v1/users');
    if (again.status === 200) body.replaceChildren(...again.body.data.map(row));
  };
  const invite = manages_people() ? invite_form(refresh) : null;
  show(el('h1', {}, 'People'), problem,
    el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'People' },
      el('thead', {}, el('tr', {}, ...['Email', 'Name', 'Role', 'Password set', ''].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    invite);
}

function invite_form(on_invited) {
  const email = el('input', { id: 'invite-email', type: 'email', required: true, autocomplete: 'off' });
  const name = el('input', { id: 'invite-name', required: true, autocomplete: 'off' });
  const role = el('select', { id: 'invite-role' }, ...roles.filter((x) => session.role === 'owner' || x !== 'owner')
    .map((x) => el('option', { value: x, selected: x === 'member' }, x)));
  const problem = el('p', { class: 'error', role: 'alert' });
  const result = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'card', 'aria-labelledby': 'invite-title' }, el('h2', { id: 'invite-title' }, 'Invite someone'),
    el('label', { for: 'invite-email' }, 'Email'), email, el('label', { for: 'invite-name' }, 'Display name'), name,
    el('label', { for: 'invite-role' }, 'Role'), role, problem, el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Invite')), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    const r = await api('POST', '/v1/users', { email: email.value, display_name: name.value, role: role.value });
    if (r.status !== 201) {
      problem.textContent = message_of(r);
      return;
    }
    // The invitation: the set-password page's address and a one-time code, shown this once.
    // The code is not put in the address: no secret in a URL.
    const page = `${location.origin}/console/#/set-password`;
    result.replaceChildren(r.body.invitation_token
      ? el('div', { class: 'invitation' }, el('p', {}, `Send ${r.body.email} this address and the one-time code (shown only now; valid until ${when(r.body.invitation_expires_at)}):`),
        el('p', {}, el('code', { id: 'invitation-link' }, page)),
        el('input', { id: 'invitation-code', readonly: true, value: r.body.invitation_token, class: 'secret', 'aria-label': 'One-time code' }))
      : el('p', {}, `${r.body.email} has a password already: they log in with it.`));
    email.value = '';
    name.value = '';
    on_invited();
  });
  return form;
}

function set_password_page() {
  const code = el('input', { id: 'code', required: true, autocomplete: 'one-time-code' });
  const password = el('input', { id: 'new-password', type: 'password', required: true, minlength: '12', autocomplete: 'new-password' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'card login', 'aria-labelledby': 'sp-title' }, el('h1', { id: 'sp-title' }, 'Set your password'),
    el('label', { for: 'code' }, 'One-time code from your invitation'), code,
    el('label', { for: 'new-password' }, 'New password (at least 12 characters)'), password, problem,
    el('p', {}, el('button', { type: 'submit' }, 'Set password')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    const r = await api('POST', '/v1/users/set-password', { token: code.value.trim(), password: password.value });
    password.value = '';
    if (r.status === 204) {
      code.value = '';
      location.hash = '#/keys';
      return login_page('', 'Your password is set. Log in.');
    }
    problem.textContent = r.body?.code === 'WEAK_PASSWORD' ? 'At least 12 characters, please.' : message_of(r);
  });
  show(form);
  code.focus();
}

// ---- workspace settings and failed attempts ---------------------------------------------

async function workspace_page() {
  const r = await api('GET', '/v1/workspace');
  if (r.status === 401) return login_page('Your session ended. Log in again.');
  if (r.status !== 200) return show(el('h1', {}, 'Workspace'), el('p', { class: 'error', role: 'alert' }, message_of(r)));
  const w = r.body;
  const may_edit = manages_people();  // owners and admins change the workspace, as they manage people
  const problem = el('p', { class: 'error', role: 'alert' });
  const saved = el('p', { class: 'notice', role: 'status' });
  const p = w.key_policy;
  const num = (id, value) => el('input', { id, type: 'number', min: '1', max: '3650', value: String(value), disabled: !may_edit });
  const box = (id, checked) => el('input', { id, type: 'checkbox', checked, disabled: !may_edit });
  const default_days = num('default_lifespan_days', p.default_lifespan_days);
  const max_days = num('max_lifespan_days', p.max_lifespan_days);
  const no_expiry = box('allow_no_expiry', p.allow_no_expiry);
  const spaces = box('names_allow_spaces', p.names_allow_spaces);
  const catalog = el('textarea', { id: 'scope_catalog', rows: '4', disabled: !may_edit }, w.scope_catalog.join('\n'));
  const on_leak = el('select', { id: 'on_leak', disabled: !may_edit },
    el('option', { value: 'revoke', selected: w.on_leak === 'revoke' }, 'revoke the key'),
    el('option', { value: 'disable', selected: w.on_leak === 'disable' }, 'disable the key'));
  const form = el('form', { class: 'card', 'aria-labelledby': 'ws-title' },
    el('h1', { id: 'ws-title' }, `Workspace ${w.name}`),
    el('dl', { class: 'settings' }, el('dt', {}, 'Id'), el('dd', {}, el('code', {}, w.id)),
      el('dt', {}, 'Key prefix'), el('dd', {}, el('code', {}, w.key_prefix), el('span', { class: 'muted' }, ' (fixed at creation)'))),
    el('label', { for: 'default_lifespan_days' }, 'Default key lifespan (days)'), default_days,
    el('label', { for: 'max_lifespan_days' }, 'Longest key lifespan (days)'), max_days,
    el('label', { class: 'check' }, no_expiry, ' Keys may never expire'),
    el('label', { class: 'check' }, spaces, ' Key names may contain spaces'),
    el('label', { for: 'scope_catalog' }, 'Scope catalog (one resource:action per line)'), catalog,
    el('label', { for: 'on_leak' }, 'When a leak report names a working key'), on_leak,
    problem, saved,
    may_edit ? el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Save')) : null);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    saved.textContent = '';
    const res = await api('PATCH', '/v1/workspace', {
      key_policy: { default_lifespan_days: Number(default_days.value), max_lifespan_days: Number(max_days.value),
        allow_no_expiry: no_expiry.checked, names_allow_spaces: spaces.checked },
      scope_catalog: catalog.value.split(/\s+/).filter(Boolean),
      on_leak: on_leak.value,
    });
    if (res.status === 200) saved.textContent = 'Saved.';
    else problem.textContent = message_of(res);
  });
  show(form);
}

async function failures_page() {
  const r = await api('GET', '/v1/auth-failures?limit=100');
  if (r.status === 401) return login_page('Your session ended. Log in again.');
  const rows = r.status === 200 ? r.body.data : [];
  show(el('h1', {}, 'Failed attempts (last 24 hours)'),
    r.status === 200 ? null : el('p', { class: 'error', role: 'alert' }, message_of(r)),
    el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Failed attempts' },
      el('thead', {}, el('tr', {}, ...['Source IP', 'Code', 'Count', 'First', 'Last'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...(rows.length ? rows.map((f) => el('tr', {},
        el('td', { 'data-label': 'Source IP' }, f.source_ip || 'unknown'), el('td', { 'data-label': 'Code' }, f.code),
        el('td', { 'data-label': 'Count' }, String(f.count)), el('td', { 'data-label': 'First' }, when(f.first_at)),
        el('td', { 'data-label': 'Last' }, when(f.last_at))))
        : [el('tr', {}, el('td', { colspan: '5', class: 'muted empty' }, 'No failed attempts.'))])))));
}

// ---- OAuth apps, the apps a person authorized, the audit log -----------------------------

async function apps_page() {
  const [clients, grants] = await Promise.all([
    session.role === 'member' ? Promise.resolve(null) : api('GET', '/v1/oauth/clients'),
    api('GET', '/v1/oauth/grants'),
  ]);
  if (grants.status === 401) return login_page('Your session ended. Log in again.');
  const problem = el('p', { class: 'error', role: 'alert' });
  const sections = [el('h1', {}, 'OAuth apps'), problem];
  if (clients && clients.status === 200) {
    sections.push(el('section', { class: 'card', 'aria-label': 'Apps of this workspace' }, el('h2', {}, 'Apps of this workspace'),
      el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Apps' },
        el('thead', {}, el('tr', {}, ...['Name', 'Type', 'Client id', 'Redirect URIs', 'Enabled'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...(clients.body.clients.length ? clients.body.clients.map((c) => el('tr', { 'data-client-id': c.id },
          el('td', { 'data-label': 'Name' }, c.name), el('td', { 'data-label': 'Type' }, c.type), el('td', { 'data-label': 'Client id' }, el('code', {}, c.id)),
          el('td', { 'data-label': 'Redirect URIs' }, c.redirect_uris.join(' ') || '—'), el('td', { 'data-label': 'Enabled' }, c.enabled ? 'yes' : 'no')))
          : [el('tr', {}, el('td', { colspan: '5', class: 'muted empty' }, 'No apps yet.'))])))),
      manages_people() ? register_app_form() : null));
  }
  sections.push(el('section', { class: 'card', 'aria-label': 'Apps I authorized' }, el('h2', {}, 'Apps I authorized'),
    el('div', { class: 'table-wrap' }, el('table', { 'aria-label': 'Authorized apps' },
      el('thead', {}, el('tr', {}, ...['App', 'Workspace', 'Scopes', 'Since', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...(grants.status === 200 && grants.body.grants.length ? grants.body.grants.map((g) => el('tr', {},
        el('td', { 'data-label': 'App' }, g.client_name), el('td', { 'data-label': 'Workspace' }, g.workspace_name),
        el('td', { 'data-label': 'Scopes' }, g.scopes.join(', ')), el('td', { 'data-label': 'Since' }, when(g.created_at)),
        el('td', { 'data-label': '' }, el('button', { type: 'button', class: 'secondary small', 'aria-label': `Revoke ${g.client_name}`, onclick: async () => {
          const res = await api('DELETE', `/v1/oauth/grants/${g.id}`);
          if (res.status === 204) return apps_page();
          problem.textContent = message_of(res);
        } }, 'Revoke access'))))
        : [el('tr', {}, el('td', { colspan: '5', class: 'muted empty' }, 'You have not authorized any app.'))]))))));
  show(...sections);
}

function register_app_form() {
  const name = el('input', { id: 'app-name', required: true, autocomplete: 'off' });
  const type = el('select', { id: 'app-type' }, el('option', { value: 'confidential' }, 'confidential (has a secret)'), el('option', { value: 'public' }, 'public (PKCE, no secret)'));
  const uris = el('textarea', { id: 'app-redirect-uris', rows: '2' });
  const grants = ['authorization_code', 'refresh_token', 'client_credentials'].map((g) =>
    el('label', { class: 'check' }, el('input', { type: 'checkbox', value: g, checked: g !== 'client_credentials' }), ' ', g));
  const scopes = el('input', { id: 'app-scopes', autocomplete: 'off', placeholder: 'leads:read, leads:write' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { 'aria-labelledby': 'register-title' }, el('h2', { id: 'register-title' }, 'Register an app'),
    el('label', { for: 'app-name' }, 'Name'), name, el('label', { for: 'app-type' }, 'Type'), type,
    el('label', { for: 'app-redirect-uris' }, 'Redirect URIs (one per line; exact match)'), uris,
    el('fieldset', { class: 'checks' }, el('legend', {}, 'Grant types'), ...grants),
    el('label', { for: 'app-scopes' }, 'Allowed scopes (comma-separated)'), scopes, problem,
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Register')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    const r = await api('POST', '/v1/oauth/clients', {
      name: name.value, type: type.value, redirect_uris: uris.value.split(/\s+/).filter(Boolean),
      grant_types: grants.map((g) => g.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      allowed_scopes: scopes.value.split(',').map((x) => x.trim()).filter(Boolean),
    });
    if (r.status !== 201) {
      problem.textContent = message_of(r);
      return;
    }
    if (!r.body.client_secret) return apps_page();
    secret_page({ name: r.body.name, key: r.body.client_secret }, apps_page, 'The app’s client secret');
  });
  return form;
}

async function audit_page() {
  const [key, page, ready] = await Promise.all([api('GET', '/v1/audit/public-key'), api('GET', '/v1/audit/events?limit=1'), fetch('/readyz')]);
  if (page.status === 401) return login_page('Your session ended. Log in again.');
  const problem = el('p', { class: 'error', role: 'alert' }, page.status === 200 ? '' : message_of(page));
  const cp = page.body?.checkpoint;
  const status = ready.status === 200 ? 'The stored log matches every signed checkpoint this server checked.'
    : 'This server found the stored log differing from a signed checkpoint (see /readyz).';
  const exported = el('p', { class: 'muted', 'aria-live': 'polite' });
  const download = el('button', { type: 'button', onclick: async () => {
    // Every page of this workspace's provable events, as NDJSON (docs/audit.md), saved as a file.
    const lines = [];
    let after = 0;
    for (;;) {
      const r = await api('GET', `/v1/audit/events?after=${after}&limit=1000`);
      if (r.status !== 200) { exported.textContent = message_of(r); return; }
      lines.push(JSON.stringify(r.body));
      if (!r.body.more) break;
      after = r.body.next_after;
    }
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' }));
    const a = el('a', { href: url, download: 'keyledger-audit.ndjson' });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
    exported.textContent = `Exported ${lines.length} page${lines.length === 1 ? '' : 's'}: verify with keyledger audit verify (docs/audit.md).`;
  } }, 'Export this workspace’s events');
  show(el('h1', {}, 'Audit'), problem,
    el('section', { class: 'card', 'aria-label': 'Signed checkpoint' }, el('h2', {}, 'Latest signed checkpoint'),
      cp ? el('dl', { class: 'settings' }, el('dt', {}, 'Tree size'), el('dd', {}, String(cp.tree_size)),
        el('dt', {}, 'Root hash'), el('dd', {}, el('code', {}, cp.root_hash)), el('dt', {}, 'Signed at'), el('dd', {}, when(cp.signed_at)))
        : el('p', { class: 'muted' }, 'No checkpoint yet.'),
      key.status === 200 ? el('p', {}, 'Verifier key (pin the one you got out of band): ', el('code', { class: 'wrap' }, key.body.verifier_key)) : null),
    el('section', { class: 'card', 'aria-label': 'Chain status' }, el('h2', {}, 'Chain status'), el('p', { id: 'chain-status' }, status)),
    el('section', { class: 'card', 'aria-label': 'Export' }, el('h2', {}, 'Export'), download, exported));
}

// ---- routing ------------------------------------------------------------------------------

function route() {
  if (location.hash === '#/set-password') return set_password_page();
  if (!session) return;
  nav_update();
  const m = /^#\/keys\/(key_[0-9A-Za-z]+)$/.exec(location.hash);
  if (m) return key_page(m[1]);
  if (location.hash === '#/people' && session.role !== 'member') return people_page();
  if (location.hash === '#/workspace' && session.role !== 'member') return workspace_page();
  if (location.hash === '#/failures' && session.role !== 'member') return failures_page();
  if (location.hash === '#/apps') return apps_page();
  if (location.hash === '#/audit' && session.role !== 'member') return audit_page();
  keys_page();
}

/// The header's links, by role (members have no people page: they may not read the list).
function nav_update() {
  const nav = document.getElementById('nav');
  const links = [['#/keys', 'Keys']];
  if (session.role !== 'member') {
    links.push(['#/people', 'People'], ['#/workspace', 'Workspace'], ['#/failures', 'Failed attempts']);
  }
  links.push(['#/apps', 'OAuth apps']);
  if (session.role !== 'member') links.push(['#/audit', 'Audit']);
  nav.replaceChildren(...links.map(([href, text]) => el('a', { href, 'aria-current': location.hash === href ? 'page' : false }, text)));
}
window.addEventListener('hashchange', route);

// ---- start --------------------------------------------------------------------------------

async function start() {
  if (location.hash === '#/set-password') return set_password_page();
  const r = await api('GET', '/v1/sessions/current');
  if (r.status !== 200) return login_page();
  session = r.body;
  who.textContent = `${session.email} · ${session.role}`;
  logout_button.hidden = false;
  route();
}

start();
