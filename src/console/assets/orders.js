// Accepted orders (beställningar) per environment: their summaries, and one order whole with
// TAK's report (rapport), the order's JSON and the producers' connection tests.
import { get, h, fill } from './api.js';

export async function render(main, { env }) {
  const res = await get(`/api/${env}/orders`);
  if (!res.ok) { fill(main, h('div', { class: 'result bad' }, res.data?.error ?? String(res.status))); return; }
  const detail = h('div', { id: 'order-detail' });
  const list = res.data.slice().reverse();
  const lines = rl => Object.entries(rl || {}).flatMap(([part, tables]) =>
    Object.entries(tables).map(([t, counts]) => `${part}: ${t} ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`));
  const tests = ct => ct ? `ok ${ct.ok}, fel ${ct.failed}, väntar ${ct.pending}` : '';
  fill(main,
    h('div', { class: 'card' },
      h('h2', {}, `Beställningar i ${env} (${list.length})`),
      h('div', { class: 'scroll' }, h('table', { id: 'orders' },
        h('thead', {}, h('tr', {}, ['Nr', 'Källa', 'Accepterad', 'Genomförande', 'Version', 'Rapport', 'Anslutningstester', ''].map(x => h('th', {}, x)))),
        h('tbody', {}, list.map(o => h('tr', { 'data-order': o.id },
          h('td', {}, o.id), h('td', {}, `${o.source?.type ?? ''} ${o.source?.name ?? ''}`),
          h('td', {}, o.accepted_at?.slice(0, 19).replace('T', ' ')), h('td', {}, o.execution_day),
          h('td', {}, o.published_version ?? 'ej publicerad'),
          h('td', {}, h('ul', {}, lines(o.report_lines).map(l => h('li', {}, l)))),
          h('td', {}, tests(o.connection_tests)),
          h('td', {}, h('button', { class: 'secondary', onclick: () => show(env, o.id, detail) }, 'Visa')))))))),
    detail);
}

async function show(env, id, box) {
  const res = await get(`/api/${env}/orders/${id}`);
  if (!res.ok) { fill(box, h('div', { class: 'result bad' }, res.data?.error ?? String(res.status))); return; }
  const o = res.data;
  const ct = Array.isArray(o.connection_tests) ? o.connection_tests : [];
  fill(box, h('div', { class: 'card' },
    h('h2', {}, `Beställning ${o.id} i ${o.env}`),
    h('h3', {}, 'Rapport (report)'), h('pre', { class: 'result ok' }, o.report_text ?? ''),
    h('h3', {}, `Anslutningstester (connection tests: ${ct.length})`),
    ct.length ? h('table', { id: 'connection-tests' },
      h('thead', {}, h('tr', {}, ['Logisk adress', 'Adress (URL)', 'Från', 'Status', 'Detalj', 'Testad'].map(x => h('th', {}, x)))),
      h('tbody', {}, ct.map(t => h('tr', { class: t.status === 'failed' ? 'invalid' : '' },
        h('td', {}, t.logical_address ?? ''), h('td', { class: 'mono' }, t.url ?? ''), h('td', {}, t.from ?? ''),
        h('td', {}, h('span', { class: `pill ${t.status === 'ok' ? 'ok' : t.status === 'failed' ? 'bad' : ''}` }, t.status ?? '')),
        h('td', {}, t.detail ?? ''), h('td', {}, t.at ? t.at.slice(0, 19).replace('T', ' ') : 'väntar')))))
      : h('p', { class: 'muted' }, 'Inga: beställningen har inga nya producentadresser.'),
    h('details', {}, h('summary', {}, 'Beställningen som JSON'), h('pre', { class: 'mono' }, o.json ?? ''))));
}
