// Workspace settings and failed attempts.

import { api, el, message_of, show, state, when } from './core.js';
import { login_page } from './login.js';
import { manages_people } from './people.js';

// ---- workspace settings and failed attempts ---------------------------------------------

export async function workspace_page() {
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

export async function failures_page() {
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
