// The keys: the list with its filters and paging, creating a key, the secret shown once.

import { api, el, message_of, show, state, when } from './core.js';
import { login_page } from './login.js';

// ---- keys ---------------------------------------------------------------------------------

export const fourteen_days_ms = 14 * 24 * 3600 * 1000;


export function key_row(k) {
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

export function keys_page() {
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
      state.session.role === 'auditor' ? null : el('button', { type: 'button', id: 'create-key', onclick: create_page }, 'Create key')),
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
export function field_of(r) {
  const m = /field '([a-z_]+)'/.exec(r.body?.message ?? '');
  return m ? m[1] : null;
}

export async function create_page() {
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
export function secret_page(created, after = keys_page, what = 'The new key') {
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
