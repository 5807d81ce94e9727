// Beställningsstödet's forms: system information (systeminformation), pre-study (förstudie),
// consumer order (tjänstekonsument) and producer order (tjänsteproducent), each POSTed as JSON
// to the admin API; the answer (the report) or the validation messages are shown below it.
import { get, send, h, answerBox, fill } from './api.js';

const CONTRACT = 'urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1';

export async function render(main, { env, showToday }) {
  const clock = await get(`/api/${env}/clock`);
  const today = clock.ok ? clock.data.today : '';
  const field = (form, name, label, attrs = {}) =>
    h('label', { class: 'field' }, label, h('input', { name, id: `${form}-${name}`, size: 28, ...attrs }));

  const form = (id, title, help, fields, submit, okText) => {
    const result = h('div', { id: `${id}-result` });
    const el = h('form', { id, class: 'card', onsubmit: async ev => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(el).entries());
      const button = el.querySelector('button');
      button.disabled = true;
      const res = await submit(data);
      button.disabled = false;
      fill(result, answerBox(`${id}-answer`, res, okText));
      showToday();
    } },
    h('h2', {}, title), h('p', { class: 'muted' }, help),
    h('div', { class: 'row' }, fields, h('button', { type: 'submit' }, 'Skicka (submit)')),
    result);
    return el;
  };
  const list = text => (text || '').split(/[,\s]+/).filter(Boolean);
  const opt = text => (text && text.trim()) ? text.trim() : undefined;
  const orderText = d => `Beställning ${d.id} accepterad i ${d.env}` +
    (d.published_version ? `, publicerad som version ${d.published_version}` : ', ej publicerad än') +
    `.\n\n${d.report_text ?? ''}`;

  fill(main, h('div', { class: 'grid2' },
    form('system-form', 'Systeminformation (system)',
      'Ett system registreras per miljö innan något beställs för det.',
      [field('system', 'hsa_id', 'HSA-id', { required: true, placeholder: 'SE2321000016-ABCD' }),
       field('system', 'system_name', 'Systemnamn', { required: true }),
       field('system', 'organisation', 'Organisation', { required: true }),
       field('system', 'main_name', 'Huvudkontakt, namn', { required: true }),
       field('system', 'main_email', 'Huvudkontakt, e-post', { required: true, type: 'email' }),
       field('system', 'tech_name', 'Teknisk kontakt, namn', { required: true }),
       field('system', 'tech_email', 'Teknisk kontakt, e-post', { required: true, type: 'email' })],
      d => send('/api/systems', {
        hsa_id: d.hsa_id, system_name: d.system_name, organisation: d.organisation, environment: env,
        main_contact: { name: d.main_name, email: d.main_email },
        technical_contact: { name: d.tech_name, email: d.tech_email },
      }),
      () => `Systemet är registrerat i ${env}.`),
    form('prestudy-form', 'Förstudie (pre-study)',
      `Godkänd för miljön ${env}: krävs för en beställning.`,
      [field('prestudy', 'case_number', 'Ärendenummer', { required: true, placeholder: 'FS-2026-001' }),
       field('prestudy', 'organisation', 'Organisation', { required: true })],
      d => send('/api/prestudies', { case_number: d.case_number, organisation: d.organisation, approved_for: [env] }),
      () => `Förstudien är registrerad, godkänd för ${env}.`),
    form('consumer-form', 'Beställning: tjänstekonsument (consumer order)',
      'Ger anropsbehörigheter för konsumenten från genomförandedatum.',
      [field('consumer', 'consumer_hsa_id', 'Tjänstekonsument (HSA-id)', { required: true }),
       field('consumer', 'execution_date', 'Genomförandedatum', { type: 'date', value: today, required: true }),
       field('consumer', 'logical_addresses', 'Logiska adresser (tomt: SE)', { placeholder: '14, 01' }),
       field('consumer', 'prestudy_case', 'Förstudiens ärendenummer', { required: true }),
       field('consumer', 'contract', 'Tjänstekontrakt', { value: CONTRACT, size: 60 }),
       field('consumer', 'region_name', 'Region (ombud, valfritt)')],
      d => send(`/api/${env}/orders/consumer`, {
        environment: env, consumer_hsa_id: d.consumer_hsa_id, execution_date: d.execution_date,
        logical_addresses: list(d.logical_addresses), prestudy_case: d.prestudy_case,
        contract: opt(d.contract), region_name: opt(d.region_name),
      }),
      orderText),
    form('producer-form', 'Beställning: tjänsteproducent (producer order)',
      'Ger ett vägval till producentens adress för en länskod; anslutningstestet körs när det gäller.',
      [field('producer', 'producer_hsa_id', 'Tjänsteproducent (HSA-id)', { required: true }),
       field('producer', 'execution_date', 'Genomförandedatum', { type: 'date', value: today, required: true }),
       field('producer', 'county_code', 'Logisk adress = länskod', { required: true, placeholder: '14', size: 6 }),
       field('producer', 'url', 'Adress (URL)', { required: true, type: 'url', size: 50 }),
       field('producer', 'prestudy_case', 'Förstudiens ärendenummer', { required: true }),
       field('producer', 'contract', 'Tjänstekontrakt', { value: CONTRACT, size: 60 }),
       field('producer', 'region_name', 'Region (ombud, valfritt)')],
      d => send(`/api/${env}/orders/producer`, {
        environment: env, producer_hsa_id: d.producer_hsa_id, execution_date: d.execution_date,
        county_code: d.county_code, url: d.url, prestudy_case: d.prestudy_case,
        contract: opt(d.contract), region_name: opt(d.region_name),
      }),
      orderText)));
}
