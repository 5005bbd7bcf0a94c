// Log in and log out, and setting a first password from an invitation's one-time code.

import { api, el, message_of, show, state, who, logout_button } from './core.js';
import { start } from './console.js';

// ---- log in / log out ---------------------------------------------------------------------

export function login_page(error = '', notice = '') {
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
  state.session = null;
  login_page();
});

export function set_password_page() {
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
