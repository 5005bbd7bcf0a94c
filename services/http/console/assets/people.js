// People: members and roles, invite, change a role, remove.

import { api, el, message_of, show, state, when } from './core.js';
import { login_page } from './login.js';

// ---- people -------------------------------------------------------------------------------

export const roles = ['owner', 'admin', 'member', 'auditor'];
export const manages_people = () => state.session && (state.session.role === 'owner' || state.session.role === 'admin');

export async function people_page() {
  const r = await api('GET', '/v1/users');
  if (r.status === 401) return login_page('Your session ended. Log in again.');
  if (r.status !== 200) return show(el('h1', {}, 'People'), el('p', { class: 'error', role: 'alert' }, message_of(r)));
  const problem = el('p', { class: 'error', role: 'alert' });
  const may_touch = (u) => manages_people() && u.id !== state.session.user_id && (state.session.role === 'owner' || u.role !== 'owner');
  const row = (u) => {
    const controls = [];
    if (may_touch(u)) {
      const role = el('select', { 'aria-label': `Role of ${u.email}` },
        ...roles.filter((x) => state.session.role === 'owner' || x !== 'owner').map((x) => el('option', { value: x, selected: x === u.role }, x)));
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

export function invite_form(on_invited) {
  const email = el('input', { id: 'invite-email', type: 'email', required: true, autocomplete: 'off' });
  const name = el('input', { id: 'invite-name', required: true, autocomplete: 'off' });
  const role = el('select', { id: 'invite-role' }, ...roles.filter((x) => state.session.role === 'owner' || x !== 'owner')
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
