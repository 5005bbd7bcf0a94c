// OAuth apps of the workspace, the apps a person authorized, and the audit page.

import { api, el, message_of, show, state, when } from './core.js';
import { secret_page } from './keys.js';
import { login_page } from './login.js';
import { manages_people } from './people.js';

// ---- OAuth apps, the apps a person authorized, the audit log -----------------------------

export async function apps_page() {
  const [clients, grants] = await Promise.all([
    state.session.role === 'member' ? Promise.resolve(null) : api('GET', '/v1/oauth/clients'),
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

export function register_app_form() {
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

export async function audit_page() {
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
