// The mock producers (mockproducenter): each mock's behaviour (view, set, reset) and the
// messages they received, with the verdict and every violation of the contract.
import { get, send, h, answerBox, fill } from './api.js';

const ANSWERS = ['ok', 'info', 'error', 'fault', 'http500', 'no-answer', 'reset'];
const SHOWN = 100;

export async function render(main) {
  const res = await get('/api/mocks');
  if (!res.ok) { fill(main, h('div', { class: 'result bad' }, res.data?.error ?? String(res.status))); return; }
  const messagesBox = h('div', { id: 'mock-messages' });
  const result = h('div', { id: 'mock-result' });
  fill(main,
    h('div', { class: 'card' },
      h('h2', {}, 'Mockproducenter och deras beteenden (behaviours)'),
      h('p', { class: 'muted' }, `Hålls obesvarade: ${res.data.holding}, bedöms nu: ${res.data.judging}.`),
      result,
      h('div', { class: 'scroll short' }, h('table', { id: 'mocks' },
        h('thead', {}, h('tr', {}, ['Logisk adress', 'Region', 'Mottagna', 'Tappade', 'Beteende (answer, text, delay ms)', ''].map(x => h('th', {}, x)))),
        h('tbody', {}, res.data.mocks.map(m => row(m, result, messagesBox)))))),
    messagesBox);
  showMessages(null, messagesBox);
}

function row(m, result, messagesBox) {
  const b = m.behaviour || { answer: 'ok', delay_ms: 0 };
  const answer = h('select', { name: 'answer' }, ANSWERS.map(a => h('option', { value: a, selected: a === b.answer }, a)));
  const text = h('input', { name: 'text', value: b.text ?? '', size: 18, placeholder: 'text' });
  const delay = h('input', { name: 'delay_ms', type: 'number', value: b.delay_ms ?? 0, size: 6 });
  const done = (r, what) => fill(result, answerBox('mock-answer', r, () => `Mock ${m.address}: ${what}.`));
  return h('tr', { 'data-address': m.address },
    h('td', {}, m.address), h('td', {}, m.region ?? ''), h('td', {}, m.received ?? ''), h('td', {}, m.dropped ?? ''),
    h('td', {}, answer, ' ', text, ' ', delay, ' ',
      h('button', { class: 'secondary set-behaviour', onclick: async () => done(await send(`/api/mocks/${encodeURIComponent(m.address)}/behaviour`,
        { answer: answer.value, text: text.value || undefined, delay_ms: Number(delay.value) || 0 }, 'PUT'), `beteendet är ${answer.value}`) }, 'Sätt'),
      h('button', { class: 'secondary reset-behaviour', onclick: async () => {
        const r = await send(`/api/mocks/${encodeURIComponent(m.address)}/behaviour`, undefined, 'DELETE');
        done(r, 'beteendet är återställt');
        if (r.ok) { answer.value = 'ok'; text.value = ''; delay.value = 0; }
      } }, 'Återställ')),
    h('td', {}, h('button', { onclick: () => showMessages(m.address, messagesBox) }, 'Meddelanden')));
}

async function showMessages(address, box) {
  const path = address === null ? '/api/mocks/messages' : `/api/mocks/${encodeURIComponent(address)}/messages`;
  const res = await get(path);
  if (!res.ok) { fill(box, h('div', { class: 'result bad' }, res.data?.error ?? String(res.status))); return; }
  const msgs = res.data.messages.slice(-SHOWN).reverse();
  fill(box, h('div', { class: 'card' },
    h('h2', {}, address === null ? 'Mottagna meddelanden, alla mockar' : `Mottagna meddelanden, mock ${address}`,
      h('span', { class: 'muted' }, ` (${res.data.count}${res.data.count > SHOWN ? `, de senaste ${SHOWN} visas` : ''})`)),
    h('div', { class: 'scroll' }, h('table', { id: 'messages' },
      h('thead', {}, h('tr', {}, ['Mottaget', 'Miljö', 'Tjänstekonsument', 'Logisk adress', 'Personnummer', 'Scenario', 'Bedömning (verdict)', 'Svar', 'Överträdelser (violations)'].map(x => h('th', {}, x)))),
      h('tbody', {}, msgs.map(m => h('tr', { class: m.verdict === 'valid' || m.verdict === 'ping' ? '' : 'invalid' },
        h('td', {}, m.received_at?.slice(0, 19).replace('T', ' ')), h('td', {}, m.environment ?? ''),
        h('td', {}, m.consumer_hsa_id ?? ''), h('td', {}, m.logical_address ?? ''), h('td', {}, m.personnummer ?? ''),
        h('td', {}, m.scenario ?? ''),
        h('td', {}, h('span', { class: `pill ${m.verdict === 'valid' ? 'ok' : m.verdict === 'ping' ? '' : 'bad'}` }, m.verdict)),
        h('td', {}, `${m.response_status ?? ''} ${m.result_code ?? ''}`),
        h('td', {}, violations(m)))))))));
}

function violations(m) {
  const list = (m.violations || []).map(v => h('li', {}, h('span', { class: 'mono' }, v.path), ': ', v.message));
  if (m.technical_error) list.unshift(h('li', {}, `Tekniskt fel: ${m.technical_error}`));
  if (m.violations_omitted) list.push(h('li', {}, `… och ${m.violations_omitted} till`));
  return list.length ? h('ul', {}, list) : '';
}
