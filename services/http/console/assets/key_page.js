// One key: its settings with a pencil, rotate, revoke, the chain, its requests and chart, history.

import { api, el, message_of, show, state, when } from './core.js';
import { secret_page } from './keys.js';
import { login_page } from './login.js';

// ---- one key ------------------------------------------------------------------------------

export const writer = () => state.session && state.session.role !== 'auditor';
export const svg_ns = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(svg_ns, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/// Requests per minute over the last 24 hours, valid and refused, as two lines.
export function usage_chart(entries) {
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

export async function key_page(id) {
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
