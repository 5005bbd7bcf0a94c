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

function login_page(error = '') {
  who.textContent = '';
  logout_button.hidden = true;
  const email = el('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const workspace = el('input', { id: 'workspace', name: 'workspace', autocomplete: 'organization' });
  const problem = el('p', { class: 'error', role: 'alert' }, error);
  const submit = el('button', { type: 'submit' }, 'Log in');
  const form = el('form', { class: 'card login', 'aria-labelledby': 'login-title' },
    el('h1', { id: 'login-title' }, 'Log in'),
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
    cell('Name', k.name, 'name'),
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
    el('h1', {}, 'Keys'),
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

// ---- start --------------------------------------------------------------------------------

async function start() {
  const r = await api('GET', '/v1/sessions/current');
  if (r.status !== 200) return login_page();
  session = r.body;
  who.textContent = `${session.email} · ${session.role}`;
  logout_button.hidden = false;
  keys_page();
}

start();
