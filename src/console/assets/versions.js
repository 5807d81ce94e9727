// Version history (versioner) with diffs between versions, publishing executed changes
// (publicera) and rolling back the latest version (rulla tillbaka).
import { get, send, h, answerBox, fill } from './api.js';

const TABLES = {
  routes: 'Vägval', authorisations: 'Anropsbehörigheter', logical_addresses: 'Logiska adresser',
  components: 'Tjänstekomponenter', contracts: 'Tjänstekontrakt', call_addresses: 'Anropsadresser',
  rivta_profiles: 'RIV-TA-profiler',
};

export async function render(main, { env, refresh }) {
  const [versions, pending] = await Promise.all([get(`/api/${env}/versions`), get(`/api/${env}/tak/pending`)]);
  if (!versions.ok) {
    fill(main, h('div', { class: 'result bad' }, versions.data?.error ?? String(versions.status)));
    return;
  }
  const list = versions.data.slice().sort((a, b) => b.version - a.version);
  const latest = list[0];
  const result = h('div', { id: 'versions-result' });
  const diffBox = h('div', { id: 'diff' });
  const comment = h('input', { id: 'publish-comment', placeholder: 'kommentar', size: 30 });
  const pendingRows = pending.ok
    ? Object.values(pending.data).filter(Array.isArray).reduce((n, rows) => n + rows.length, 0) : 0;

  const act = async (res, okText) => {
    fill(result, answerBox('versions-answer', res, okText));
    if (res.ok) setTimeout(() => refresh(), 1200);
  };

  fill(main,
    h('div', { class: 'card' },
      h('h2', {}, `Versioner i ${env}`),
      h('div', { class: 'row' },
        latest && list.length > 1 ? h('button', { id: 'rollback', class: 'danger', onclick: async () => act(
          await send(`/api/${env}/rollback`, { version: latest.version }),
          d => `Version ${d.rolled_back} är tillbakarullad; gällande version är nu ${d.published?.version ?? '–'}.`) },
        `Rulla tillbaka version ${latest.version} (roll back)`) : h('span', { class: 'muted' }, 'Bara en version: inget att rulla tillbaka.'),
        comment,
        h('button', { id: 'publish', class: 'secondary', onclick: async () => act(
          await send(`/api/${env}/publish`, { comment: comment.value || undefined }),
          d => `Version ${d.version} publicerad.`) }, 'Publicera (publish pending)')),
      pendingRows
        ? h('details', { id: 'pending' }, h('summary', {}, `${pendingRows} genomförda, ej publicerade ändringar (pending)`),
          h('table', {}, h('tbody', {}, Object.entries(pending.data).filter(([, rows]) => Array.isArray(rows))
            .flatMap(([table, rows]) => rows.map(row => h('tr', {},
              h('td', {}, TABLES[table] ?? table), h('td', {}, row.change ?? ''),
              h('td', { class: 'mono' }, JSON.stringify(row))))))))
        : h('p', { class: 'muted' }, 'Inga opublicerade ändringar (nothing pending).'),
      result),
    h('div', { class: 'card' },
      h('table', { id: 'versions' },
        h('thead', {}, h('tr', {}, ['Version', 'Publicerad', 'Utförare', 'Kommentar', 'Vägval', 'Anropsbehörigheter', ''].map(x => h('th', {}, x)))),
        h('tbody', {}, list.map((v, i) => h('tr', { 'data-version': v.version },
          h('td', {}, v.version), h('td', {}, v.published_at), h('td', {}, v.executor), h('td', {}, v.comment),
          h('td', {}, v.counts.routes), h('td', {}, v.counts.authorisations),
          h('td', {}, list[i + 1] ? h('button', { class: 'secondary', onclick: () => diff(env, list[i + 1].version, v.version, diffBox) },
            `Diff ${list[i + 1].version} → ${v.version}`) : '')))))),
    diffBox);
  if (list.length > 1) diff(env, list[1].version, list[0].version, diffBox);
}

async function diff(env, a, b, box) {
  const res = await get(`/api/${env}/versions/${a}/diff/${b}`);
  if (!res.ok) { fill(box, h('div', { class: 'result bad' }, res.data?.error ?? String(res.status))); return; }
  const sections = [];
  for (const [key, name] of Object.entries(TABLES)) {
    const d = res.data[key];
    if (!d) continue;
    const rows = [];
    for (const kind of ['added', 'removed', 'changed']) {
      for (const item of d[kind] || []) {
        rows.push(h('tr', { class: `diff-${kind}` },
          h('td', {}, { added: 'tillagd', removed: 'borttagen', changed: 'ändrad' }[kind]),
          h('td', { class: 'mono' }, JSON.stringify(item))));
      }
    }
    if (rows.length) sections.push(h('h3', {}, `${name} (${rows.length})`), h('table', {}, h('tbody', {}, rows)));
  }
  fill(box, h('div', { class: 'card' }, h('h2', {}, `Skillnad mellan version ${a} och ${b}`),
    sections.length ? sections : h('p', { class: 'muted' }, 'Inga skillnader.')));
}
