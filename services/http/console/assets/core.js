// The console's core: one API call helper, DOM building without innerHTML, the page slot, and
// the logged-in person. Every page module imports from here. docs/console.md.

const app = document.getElementById('app');
export const who = document.getElementById('who');
export const logout_button = document.getElementById('logout');
/// The logged-in person: {user_id, workspace_id, role, email, csrf_token}; null when logged out.
export const state = { session: null };

/// One API call: JSON in and out; writes carry the CSRF token. Resolves {status, body}.
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['x-csrf-token'] = state.session.csrf_token;
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
export function el(tag, attrs = {}, ...children) {
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

export function show(...nodes) {
  app.replaceChildren(...nodes);
  app.focus();
}

export function message_of(r) {
  return r.body?.error?.message ?? r.body?.message ?? `The server answered ${r.status}.`;
}

export function when(iso) {
  if (!iso) return '—';
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}
