// keyledger console: plain ES module, no framework, no build step. It speaks only the public
// API (docs/api.md) with the session cookie and X-CSRF-Token; the CSRF token lives in memory
// only (GET /v1/sessions/current gives it again after a reload). docs/console.md.


import { audit_page, apps_page } from './apps.js';
import { api, el, state, who, logout_button } from './core.js';
import { key_page } from './key_page.js';
import { keys_page } from './keys.js';
import { login_page, set_password_page } from './login.js';
import { people_page } from './people.js';
import { failures_page, workspace_page } from './workspace.js';

// ---- routing ------------------------------------------------------------------------------

export function route() {
  if (location.hash === '#/set-password') return set_password_page();
  if (!state.session) return;
  nav_update();
  const m = /^#\/keys\/(key_[0-9A-Za-z]+)$/.exec(location.hash);
  if (m) return key_page(m[1]);
  if (location.hash === '#/people' && state.session.role !== 'member') return people_page();
  if (location.hash === '#/workspace' && state.session.role !== 'member') return workspace_page();
  if (location.hash === '#/failures' && state.session.role !== 'member') return failures_page();
  if (location.hash === '#/apps') return apps_page();
  if (location.hash === '#/audit' && state.session.role !== 'member') return audit_page();
  keys_page();
}

/// The header's links, by role (members have no people page: they may not read the list).
export function nav_update() {
  const nav = document.getElementById('nav');
  const links = [['#/keys', 'Keys']];
  if (state.session.role !== 'member') {
    links.push(['#/people', 'People'], ['#/workspace', 'Workspace'], ['#/failures', 'Failed attempts']);
  }
  links.push(['#/apps', 'OAuth apps']);
  if (state.session.role !== 'member') links.push(['#/audit', 'Audit']);
  nav.replaceChildren(...links.map(([href, text]) => el('a', { href, 'aria-current': location.hash === href ? 'page' : false }, text)));
}
window.addEventListener('hashchange', route);

// ---- start --------------------------------------------------------------------------------

export async function start() {
  if (location.hash === '#/set-password') return set_password_page();
  const r = await api('GET', '/v1/sessions/current');
  if (r.status !== 200) return login_page();
  state.session = r.body;
  who.textContent = `${state.session.email} · ${state.session.role}`;
  logout_button.hidden = false;
  route();
}

start();
