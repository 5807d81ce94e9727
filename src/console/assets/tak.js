// TAK per environment: routes (vägval) and authorisations (anropsbehörigheter) with their
// validity, searched and filtered in the browser (at most SHOWN rows drawn per table).
import { get, h, table, validity, fill } from './api.js';

const SHOWN = 500;

export async function render(main, { env }) {
  const res = await get(`/api/${env}/tak`);
  if (!res.ok) {
    fill(main, h('div', { class: 'result bad' }, `TAK i ${env}: ${res.data?.error ?? res.status}`));
    return;
  }
  const tak = res.data;
  const today = tak.today;
  const input = (id, label, placeholder) => h('label', { class: 'field' }, label,
    h('input', { id, type: 'search', placeholder, oninput: draw, size: 22 }));
  const routesBox = h('div', { class: 'scroll' });
  const authBox = h('div', { class: 'scroll' });
  const routesCount = h('span', { class: 'muted', id: 'routes-count' });
  const authCount = h('span', { class: 'muted', id: 'auths-count' });
  const onlyValid = h('input', { id: 'f-valid', type: 'checkbox', onchange: draw });

  fill(main,
    h('div', { class: 'card' },
      h('h2', {}, `TAK ${tak.platform} — version ${tak.version.version}`),
      h('p', { class: 'muted' },
        `Publicerad ${tak.version.published_at} av ${tak.version.executor}`,
        tak.version.comment ? ` (“${tak.version.comment}”)` : '',
        `. Miljöns dag: ${today}. ${tak.counts.routes} vägval, ${tak.counts.authorisations} anropsbehörigheter.`),
      h('div', { class: 'row' },
        input('tak-search', 'Sök (text i alla fält)', 't.ex. 14 eller KONS'),
        input('f-address', 'Logisk adress (logical address)', 'HSA-id eller länskod'),
        input('f-contract', 'Tjänstekontrakt (contract)', 'namnrymd'),
        input('f-consumer', 'Tjänstekonsument (consumer)', 'HSA-id'),
        input('f-producer', 'Tjänsteproducent (producer)', 'HSA-id'),
        h('label', { class: 'field' }, 'Bara giltiga idag', onlyValid))),
    h('h3', {}, 'Vägval (routes) ', routesCount),
    routesBox,
    h('h3', {}, 'Anropsbehörigheter (authorisations) ', authCount),
    authBox);

  function value(id) {
    return document.getElementById(id).value.trim().toLowerCase();
  }

  function draw() {
    const q = value('tak-search');
    const address = value('f-address');
    const contract = value('f-contract');
    const consumer = value('f-consumer');
    const producer = value('f-producer');
    const valid = onlyValid.checked;
    const has = (field, wanted) => !wanted || String(field ?? '').toLowerCase().includes(wanted);
    const text = row => !q || JSON.stringify(row).toLowerCase().includes(q);
    const current = row => !valid || (row.validity.from <= today && today <= row.validity.to);

    const routes = tak.routes.filter(r => text(r) && current(r) && has(r.logical_address, address)
      && has(r.contract, contract) && has(r.producer, producer) && !consumer);
    const auths = tak.authorisations.filter(a => text(a) && current(a) && has(a.logical_address, address)
      && has(a.contract, contract) && has(a.consumer, consumer) && !producer);
    routesCount.textContent = count(routes.length, tak.routes.length);
    authCount.textContent = count(auths.length, tak.authorisations.length);
    fill(routesBox, table('routes',
      ['Logisk adress', 'Tjänstekontrakt', 'Tjänsteproducent', 'RIV-TA-profil', 'Adress (URL)', 'Giltighet (validity)'],
      routes.slice(0, SHOWN).map(r => h('tr', { 'data-address': r.logical_address },
        h('td', {}, r.logical_address), h('td', { class: 'mono' }, r.contract), h('td', {}, r.producer),
        h('td', {}, r.profile), h('td', { class: 'mono' }, r.url), h('td', {}, validity(r.validity, today))))));
    fill(authBox, table('auths',
      ['Tjänstekonsument', 'Logisk adress', 'Tjänstekontrakt', 'Giltighet (validity)', 'Integrationsavtal'],
      auths.slice(0, SHOWN).map(a => h('tr', { 'data-address': a.logical_address, 'data-consumer': a.consumer },
        h('td', {}, a.consumer), h('td', {}, a.logical_address), h('td', { class: 'mono' }, a.contract),
        h('td', {}, validity(a.validity, today)), h('td', {}, a.integration_agreement ?? '')))));
  }

  function count(shown, all) {
    const drawn = Math.min(shown, SHOWN);
    return shown === all ? `(${all})` : `(${shown} av ${all}${drawn < shown ? `, de första ${drawn} visas` : ''})`;
  }

  draw();
}
