// Calls to the admin API (same origin) and a small DOM builder; nothing here keeps state.

/** GET a JSON path: {ok, status, data}. */
export async function get(path) {
  return call(path, { headers: { accept: 'application/json' } });
}

/** POST (or PUT/DELETE) JSON: {ok, status, data}. */
export async function send(path, body, method = 'POST') {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return call(path, init);
}

async function call(path, init) {
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, data: { error: `the testbed did not answer: ${e}` } };
  }
  const text = await resp.text();
  let data;
  try { data = text ? JSON.parse(text) : null; } catch { data = { text }; }
  return { ok: resp.ok, status: resp.status, data };
}

/** An element: h('td', {class: 'mono'}, 'text', child, ...). Text is always text, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** An SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A table with a header row and body rows (arrays of cells). */
export function table(id, headers, rows) {
  return h('table', { id },
    h('thead', {}, h('tr', {}, headers.map(x => h('th', {}, x)))),
    h('tbody', {}, rows));
}

/** The answer of a change: ok text, or the error and the validation messages. */
export function answerBox(id, res, okText) {
  if (res.ok) {
    return h('div', { id, class: 'result ok' }, okText(res.data));
  }
  const d = res.data || {};
  const lines = [`HTTP ${res.status}: ${d.error ?? 'fel'}`];
  if (Array.isArray(d.messages)) for (const m of d.messages) if (m !== d.error) lines.push(`• ${m}`);
  return h('div', { id, class: 'result bad' }, lines.join('\n'));
}

/** A validity period (giltighet) as text, with a pill saying whether it holds today. */
export function validity(v, today) {
  if (!v) return '';
  const state = v.from > today ? ['future', 'framtida'] : v.to < today ? ['bad', 'utgången'] : ['ok', 'giltig'];
  return h('span', {}, `${v.from} – ${v.to} `, h('span', { class: `pill ${state[0]}` }, state[1]));
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
