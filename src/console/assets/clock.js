// The environment's simulated date (klocka): read it, set a day, move it, or back to real time.
import { get, send, h, answerBox, fill } from './api.js';

export async function render(main, { env, showToday }) {
  const res = await get(`/api/${env}/clock`);
  const result = h('div', { id: 'clock-result' });
  const day = h('input', { id: 'clock-day', type: 'date', value: res.ok ? res.data.today : '' });
  const days = h('input', { id: 'clock-days', type: 'number', value: 1, size: 5 });
  const now = h('p', { id: 'clock-now' });
  const show = d => fill(now, `Idag i ${env}: `, h('strong', {}, d.today),
    ` (verklig dag ${d.real_today}, förskjutning ${d.offset_days} dagar)`);
  if (res.ok) show(res.data);
  const move = async body => {
    const r = await send(`/api/${env}/clock`, body);
    await showToday();
    fill(result, answerBox('clock-answer', r, d => `Klockan i ${env} visar nu ${d.today}.`));
    if (r.ok) { show(r.data); day.value = r.data.today; }
  };
  fill(main, h('div', { class: 'card' },
    h('h2', {}, 'Klocka (simulated date)'),
    h('p', { class: 'muted' }, 'Giltighetstider och genomförandedagar räknas mot miljöns dag. Ändringen journalförs.'),
    now,
    h('div', { class: 'row' },
      h('label', { class: 'field' }, 'Sätt dagen', day), h('button', { id: 'clock-set', onclick: () => move({ today: day.value }) }, 'Sätt'),
      h('label', { class: 'field' }, 'Flytta dagar (±)', days), h('button', { id: 'clock-advance', onclick: () => move({ advance_days: Number(days.value) }) }, 'Flytta'),
      h('button', { id: 'clock-reset', class: 'secondary', onclick: () => move({ reset: true }) }, 'Tillbaka till verklig tid')),
    result));
}
