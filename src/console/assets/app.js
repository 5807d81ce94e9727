// The console's shell: the environment selector, the page menu (location hash) and the
// simulated date in the header. Each page module renders into <main> and may return a
// function that stops what it started (the live view's polling).
import { get, h, fill } from './api.js';
import * as tak from './tak.js';
import * as orders from './orders.js';
import * as forms from './forms.js';
import * as versions from './versions.js';
import * as clock from './clock.js';
import * as mocks from './mocks.js';
import * as live from './live.js';

const pages = { tak, orders, forms, versions, clock, mocks, live };
let stop = null;

function envName() {
  return document.getElementById('env').value;
}

export async function showToday() {
  const res = await get(`/api/${envName()}/clock`);
  const el = document.getElementById('today');
  if (res.ok) {
    const off = res.data.offset_days;
    el.textContent = `Idag (today): ${res.data.today}` + (off ? ` (${off > 0 ? '+' : ''}${off} dagar)` : '');
  }
}

async function show() {
  const name = (location.hash || '#tak').slice(1).split('?')[0];
  const page = pages[name] || tak;
  if (stop) { stop(); stop = null; }
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === `#${name}`);
  }
  const main = document.getElementById('main');
  fill(main, h('p', { class: 'muted' }, 'Laddar…'));
  try {
    stop = (await page.render(main, { env: envName(), refresh: show, showToday })) || null;
  } catch (e) {
    fill(main, h('div', { class: 'result bad' }, `Sidan kunde inte visas: ${e}`));
  }
  showToday();
}

const select = document.getElementById('env');
const saved = new URLSearchParams(location.search).get('env');
if (saved) select.value = saved;
select.addEventListener('change', () => {
  const url = new URL(location.href);
  url.searchParams.set('env', select.value);
  history.replaceState(null, '', url);
  show();
});
window.addEventListener('hashchange', show);
show();
