// CoA-LoRA fleet dashboard: plain JavaScript, no framework, no build step, nothing fetched from elsewhere.
// Pages are hash routes (#/fleet, #/rollouts[/id], #/versions[/id], #/telemetry); the current page polls the
// registry every POLL_MS. Every request carries the HTTP Basic credentials kept in sessionStorage: a 401 shows
// the sign-in form again, a 403 says what the user's role cannot do.
'use strict';

const POLL_MS = 2500;
// the registry's root (/dashboard/ -> /), without any user:password@ the page was opened with: fetch refuses those
const BASE = (() => { const u = new URL('../', document.baseURI); u.username = ''; u.password = ''; return u; })();
const STORE = { user: 'coalora.dashboard.user', token: 'coalora.dashboard.basic' };

// ---------------------------------------------------------------- DOM helpers (text is never parsed as HTML)

const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

/** A page's memory of what it drew last: redraws only when the data changed (keeps the DOM still between polls). */
function unchanged(memory, key, data) {
  const sig = JSON.stringify(data);
  if (memory[key] === sig) return true;
  memory[key] = sig;
  return false;
}

function replace(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

// ---------------------------------------------------------------- formatting

const short = (v) => (v ? String(v).slice(0, 12) : '–');
const pct = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : (100 * x).toFixed(digits) + '%');
const acc = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(4));
// A quality is in its version's measure: accuracy (higher is better; a shortfall in points) or perplexity (lower is
// better; a shortfall as the ratio above the prediction). The registry's gate uses the same rule.
const shortfall = (measure, measured, predicted) => (measure === 'perplexity' ? measured / predicted - 1 : predicted - measured);
const marginText = (measure, m) => (measure === 'perplexity' ? pct(m, 1) + ' above' : `${m} below`);
const qualityDomain = (measure, lo, hi, pad) => (measure === 'perplexity' ? [Math.max(0, lo - pad), hi + pad] : [Math.max(0, lo - pad), Math.min(1, hi + pad)]);
const bits = (x) => (x === null || x === undefined ? '–' : Number(x).toFixed(3));
const num = (x) => (x === null || x === undefined ? '–' : Number(x).toLocaleString('en-US'));
function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleTimeString('en-GB', { hour12: false });
}
function dateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleDateString('en-CA') + ' ' + d.toLocaleTimeString('en-GB', { hour12: false });
}
function ago(iso) {
  if (!iso) return '';
  const sec = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (sec < 60) return sec + ' s ago';
  if (sec < 3600) return Math.round(sec / 60) + ' min ago';
  if (sec < 86400) return Math.round(sec / 3600) + ' h ago';
  return Math.round(sec / 86400) + ' d ago';
}
const badge = (text, cls) => h('span', { class: 'badge ' + (cls || 'state-' + text), text });
const aliasBadges = (aliases) => (aliases || []).map((a) => h('span', { class: 'badge alias alias-' + a, text: a }));

// ---------------------------------------------------------------- credentials and requests

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function utf8Base64(text) {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

const session = {
  get user() { return sessionStorage.getItem(STORE.user); },
  get token() { return sessionStorage.getItem(STORE.token); },
  set(user, password) {
    sessionStorage.setItem(STORE.user, user);
    sessionStorage.setItem(STORE.token, utf8Base64(user + ':' + password));
  },
  clear() {
    sessionStorage.removeItem(STORE.user);
    sessionStorage.removeItem(STORE.token);
  },
};

/**
 * One request to the registry with the stored credentials. `what` says what the request does, for the
 * message on a 403 ("your role cannot <what>"). credentials 'omit': the browser's own Basic-auth prompt and
 * cookies stay out of it; the Authorization header we set is sent regardless.
 */
async function api(path, { method = 'GET', body, what = 'see this page' } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  if (session.token) headers.Authorization = 'Basic ' + session.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path, BASE), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'the registry cannot be reached (' + e.message + ')');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (res.status === 401) {
    signOut('Please sign in' + (session.token ? ' again: the registry did not accept these credentials.' : '.'));
    throw new ApiError(401, 'not signed in');
  }
  if (res.status === 403) throw new ApiError(403, 'Your role cannot ' + what + ' (403 Forbidden for user ' + session.user + ').');
  if (!res.ok) throw new ApiError(res.status, (data && (data.error || data.message)) || res.status + ' ' + res.statusText);
  return data;
}

// ---------------------------------------------------------------- sign-in

function showLogin(message) {
  $('#login').hidden = false;
  $('#view').hidden = true;
  $('#nav').hidden = true;
  $('#session').hidden = true;
  $('#login-error').textContent = message || '';
  const user = $('#login-user');
  if (!user.value && session.user) user.value = session.user;
  (user.value ? $('#login-password') : user).focus();
}

function showApp() {
  $('#login').hidden = true;
  $('#view').hidden = false;
  $('#nav').hidden = false;
  $('#session').hidden = false;
  $('#user-name').textContent = session.user;
}

function signOut(message) {
  const user = session.user;
  session.clear();
  leavePage();
  if (user) $('#login-user').value = user;
  $('#login-password').value = '';
  showLogin(message);
}

async function signIn(event) {
  event.preventDefault();
  const user = $('#login-user').value.trim(), password = $('#login-password').value;
  if (!user) return;
  const button = $('#login-submit');
  button.disabled = true;
  $('#login-error').textContent = '';
  session.set(user, password);
  try {
    await api('api/dashboard/fleet', { what: 'read the fleet' });
    $('#login-password').value = '';
    showApp();
    route();
  } catch (e) {
    if (e.status === 401) showLogin('Wrong user or password.');
    else if (e.status === 403) { showApp(); route(); flash(e.message); }
    else { session.clear(); showLogin('Cannot sign in: ' + e.message); }
  } finally {
    button.disabled = false;
  }
}

function flash(message, kind = 'error', source = '') {
  const el = $('#flash');
  el.dataset.source = message ? source : '';
  if (!message) { el.hidden = true; el.textContent = ''; return; }
  el.className = 'flash ' + kind;
  el.textContent = message;
  el.hidden = false;
}

// ---------------------------------------------------------------- pages and polling

let page = null; // { update: async (alive) => void, alive, busy }
let lastOk = null;

function leavePage() {
  if (page) page.alive = false;
  page = null;
}

function route() {
  if (!session.token) { showLogin(); return; }
  const parts = (location.hash || '#/fleet').replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'fleet';
  leavePage();
  flash(null);
  const view = replace($('#view'));
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.route === name);
  const make = PAGES[name] || PAGES.fleet;
  page = make(view, parts[1]);
  page.alive = true;
  refresh();
}

/** Updates the current page; a poll while the previous update of the same page is still running is skipped. */
async function refresh() {
  const p = page;
  if (!p || !session.token || p.busy) return;
  p.busy = true;
  try {
    await p.update(() => p.alive);
    if (p.alive) {
      lastOk = new Date();
      setLive(true);
      if ($('#flash').dataset.source === 'poll') flash(null);
    }
  } catch (e) {
    if (!p.alive || e.status === 401) return;
    setLive(false);
    flash(e.message, 'error', 'poll');
  } finally {
    p.busy = false;
  }
}

function setLive(ok) {
  const el = $('#live');
  el.classList.toggle('stale', !ok);
  el.textContent = ok ? 'live · ' + lastOk.toLocaleTimeString('en-GB', { hour12: false }) : 'connection problem';
}

// ---------------------------------------------------------------- charts (inline SVG)

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** A frame with axes; returns {svg, x, y, plot} where plot is the group to draw in. */
function frame({ width = 640, height = 300, margin = { l: 56, r: 20, t: 16, b: 44 }, xDomain, yDomain, xTicks, yTicks, xFormat, yFormat,
  xLabel, yLabel, id, cls }) {
  // drawn at its own size (never scaled up), scaled down to fit a narrower panel
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'chart ' + (cls || ''), id, role: 'img' });
  const x = scale(xDomain[0], xDomain[1], margin.l, width - margin.r);
  const y = scale(yDomain[0], yDomain[1], height - margin.b, margin.t);
  const axes = s('g', { class: 'axes' });
  for (const t of yTicks || niceTicks(yDomain[0], yDomain[1])) {
    if (t < yDomain[0] - 1e-9 || t > yDomain[1] + 1e-9) continue;
    axes.append(s('line', { x1: margin.l, x2: width - margin.r, y1: y(t), y2: y(t), class: 'grid' }),
      s('text', { x: margin.l - 6, y: y(t) + 4, 'text-anchor': 'end', text: yFormat ? yFormat(t) : t }));
  }
  for (const t of xTicks || niceTicks(xDomain[0], xDomain[1], 8)) {
    if (t < xDomain[0] - 1e-9 || t > xDomain[1] + 1e-9) continue;
    axes.append(s('line', { x1: x(t), x2: x(t), y1: height - margin.b, y2: height - margin.b + 4, class: 'tick' }),
      s('text', { x: x(t), y: height - margin.b + 17, 'text-anchor': 'middle', text: xFormat ? xFormat(t) : t }));
  }
  axes.append(s('line', { x1: margin.l, x2: width - margin.r, y1: height - margin.b, y2: height - margin.b, class: 'axis' }),
    s('line', { x1: margin.l, x2: margin.l, y1: margin.t, y2: height - margin.b, class: 'axis' }));
  if (xLabel) axes.append(s('text', { x: (margin.l + width - margin.r) / 2, y: height - 6, 'text-anchor': 'middle', class: 'label', text: xLabel }));
  if (yLabel) {
    axes.append(s('text', { x: -(margin.t + height - margin.b) / 2, y: 14, transform: 'rotate(-90)', 'text-anchor': 'middle', class: 'label',
      text: yLabel }));
  }
  const plot = s('g', { class: 'plot' });
  svg.append(axes, plot);
  return { svg, x, y, plot, width, height, margin };
}

/** Vertical bars over categories: [{label, value, title}] */
function barChart(items, { id, yLabel, xLabel, width = 560, height = 260, cls = 'bar' } = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const ticks = niceTicks(0, max, 4);
  const top = Math.max(max, ticks[ticks.length - 1]);
  const f = frame({ width, height, xDomain: [0, Math.max(1, items.length)], yDomain: [0, top], xTicks: [], yTicks: ticks, id, xLabel, yLabel,
    yFormat: (t) => (Number.isInteger(t) ? t : '') });
  const bw = (f.x(1) - f.x(0));
  items.forEach((it, i) => {
    const x0 = f.x(i) + bw * 0.12, w = bw * 0.76, y0 = f.y(it.value);
    f.plot.append(s('rect', { x: x0, y: y0, width: w, height: f.y(0) - y0, class: cls, 'data-label': it.label, 'data-value': it.value },
      s('title', { text: it.title || `${it.label}: ${it.value}` })));
    f.plot.append(s('text', { x: x0 + w / 2, y: y0 - 4, 'text-anchor': 'middle', class: 'value', text: it.value }));
    f.plot.append(s('text', { x: x0 + w / 2, y: f.height - f.margin.b + 16, 'text-anchor': 'middle', class: 'cat', text: it.label }));
  });
  if (!items.length) f.plot.append(s('text', { x: f.width / 2, y: f.height / 2, 'text-anchor': 'middle', class: 'empty', text: 'no data yet' }));
  return f.svg;
}

const PALETTE = ['#2563eb', '#d97706', '#059669', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777'];

// ---------------------------------------------------------------- page: fleet overview

const STATUS_ORDER = ['running', 'ready', 'assigned', 'pending', 'failed', 'unassignable'];
const STATUS_HELP = {
  running: 'applied its current assignment', ready: 'its adapter package is available', assigned: 'waiting for its adapter package',
  pending: 'capabilities known, not planned yet', failed: 'could not apply its package, or rejected a file', unassignable: 'no front configuration fits',
};

function fleetPage(view) {
  const cards = h('div', { class: 'cards', id: 'fleet-cards' });
  const status = h('div', { id: 'fleet-status' });
  const histogram = h('div', { id: 'fleet-bits' });
  const versions = h('div', { id: 'fleet-versions' });
  view.append(h('h1', { text: 'Fleet overview' }), cards,
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', { text: 'Devices by status' }), status),
      h('section', { class: 'panel' }, h('h2', { text: 'Assigned average bits' }),
        h('p', { class: 'hint', text: 'devices with a feasible assignment, by quarter-bit bucket of the configuration they were given' }), histogram)),
    h('section', { class: 'panel' }, h('h2', { text: 'Devices per model version' }), versions));
  return {
    async update(alive) {
      const f = await api('api/dashboard/fleet', { what: 'read the fleet' });
      if (!alive() || unchanged(this, 'fleet', f)) return;
      const running = f.byStatus.running || 0, active = (f.rolloutsByState.running || 0) + (f.rolloutsByState.paused || 0)
        + (f.rolloutsByState.reverting || 0);
      replace(cards,
        card('devices', num(f.devices)), card('running', num(running), pct(f.devices ? running / f.devices : null, 0) + ' of the fleet'),
        card('adapter packages', num(f.adapterPackages)), card('telemetry reports', num(f.telemetryRecords)),
        card('active rollouts', num(active), Object.entries(f.rolloutsByState).map(([k, v]) => `${v} ${k}`).join(' · ') || 'none yet'));
      const max = Math.max(1, ...Object.values(f.byStatus));
      const statuses = [...STATUS_ORDER.filter((st) => st in f.byStatus), ...Object.keys(f.byStatus).filter((st) => !STATUS_ORDER.includes(st))];
      replace(status, statuses.length ? h('table', { class: 'hbars' }, h('tbody', {}, statuses.map((st) =>
        h('tr', { 'data-status': st, title: STATUS_HELP[st] || '' },
          h('th', {}, badge(st)),
          h('td', { class: 'bar-cell' }, h('div', { class: 'hbar state-bg-' + st, style: `width:${(100 * f.byStatus[st]) / max}%` })),
          h('td', { class: 'num', text: num(f.byStatus[st]) }))))) : h('p', { class: 'empty', text: 'no devices have announced themselves yet' }));
      replace(histogram, barChart(Object.entries(f.byAverageBits).map(([b, n]) => ({
        label: b, value: n, title: `${n} devices assigned ${b}–${(Number(b) + 0.25).toFixed(2)} bits`,
      })), { id: 'bits-histogram', xLabel: 'assigned average bits (bucket start)', yLabel: 'devices' }));
      const vmax = Math.max(1, ...f.byVersion.map((v) => v.assigned));
      replace(versions, f.byVersion.length ? h('table', { class: 'data', id: 'fleet-version-table' },
        h('thead', {}, h('tr', {}, h('th', { text: 'model version' }), h('th', { text: 'aliases' }), h('th', { class: 'num', text: 'assigned' }),
          h('th', { class: 'num', text: 'running' }), h('th', { text: '' }))),
        h('tbody', {}, f.byVersion.map((v) => h('tr', { 'data-version': v.modelVersion },
          h('td', {}, h('a', { href: '#/versions/' + v.modelVersion, class: 'mono', text: short(v.modelVersion), title: v.modelVersion })),
          h('td', {}, aliasBadges(v.aliases)),
          h('td', { class: 'num', text: num(v.assigned) }), h('td', { class: 'num', text: num(v.running) }),
          h('td', { class: 'bar-cell wide' }, h('div', { class: 'stack', style: `width:${(100 * v.assigned) / vmax}%` },
            h('div', { class: 'seg state-bg-running', style: `width:${v.assigned ? (100 * v.running) / v.assigned : 0}%`, title: `${v.running} running` }),
            h('div', { class: 'seg state-bg-assigned', style: `width:${v.assigned ? (100 * (v.assigned - v.running)) / v.assigned : 0}%`,
              title: `${v.assigned - v.running} not running it yet` }))))))) : h('p', { class: 'empty', text: 'no device has a version assigned yet' }));
    },
  };
}

function card(label, value, sub) {
  return h('div', { class: 'card', 'data-card': label }, h('div', { class: 'card-value', text: value }), h('div', { class: 'card-label', text: label }),
    sub ? h('div', { class: 'card-sub', text: sub }) : null);
}

// ---------------------------------------------------------------- page: rollouts

const WAVE_PARTS = [
  ['finished', 'finished: applied the version'], ['failed', 'failed: no feasible configuration, failed or rejected'],
  ['targeted', 'targeted: sent the version, not answered yet'], ['scheduled', 'scheduled: a later wave'],
  ['reverting', 'reverting: sent back to its previous version'], ['reverted', 'reverted: back on its previous version'],
];

function rolloutsPage(view, id) {
  if (id) return rolloutPage(view, id);
  const list = h('div', { id: 'rollout-list' });
  view.append(h('h1', { text: 'Rollouts' }),
    h('p', { class: 'hint', text: 'Staged rollouts of a model version in waves; click one for its waves, thresholds, transitions and actions.' }),
    h('section', { class: 'panel' }, list));
  return {
    async update(alive) {
      const rows = await api('api/dashboard/rollouts?limit=100', { what: 'read rollouts' });
      if (!alive() || unchanged(this, 'rollouts', rows)) return;
      replace(list, rows.length ? h('table', { class: 'data clickable', id: 'rollout-table' },
        h('thead', {}, h('tr', {}, ['rollout', 'model version', 'state', 'wave', 'progress', 'latest transition', 'created'].map((t) => h('th', { text: t })))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-rollout': r.rolloutId, onclick: () => { location.hash = '#/rollouts/' + r.rolloutId; } },
          h('td', {}, h('a', { href: '#/rollouts/' + r.rolloutId, class: 'mono', text: r.rolloutId })),
          h('td', {}, h('a', { href: '#/versions/' + r.modelVersion, class: 'mono', text: short(r.modelVersion), title: r.modelVersion })),
          h('td', {}, badge(r.state)),
          h('td', { text: `${r.currentWave} of ${r.waves}` }),
          h('td', { class: 'bar-cell wide' }, waveBar(r, r.devices), h('div', { class: 'small', text: `${r.finished} finished · ${r.failed} failed · ${r.devices} devices` })),
          h('td', { class: 'reason' }, r.lastActor ? h('span', { class: 'actor', text: r.lastActor }) : null, ' ', r.lastReason || ''),
          h('td', { text: dateTime(r.createdAt), title: 'by ' + r.createdBy })))))
        : h('p', { class: 'empty', text: 'no rollouts yet (POST /api/rollouts starts one)' }));
    },
  };
}

/** A stacked bar of a wave's (or rollout's) devices by state; `threshold` marks the success threshold. */
function waveBar(w, total, threshold) {
  const bar = h('div', { class: 'wavebar', role: 'img', 'aria-label': WAVE_PARTS.map(([k]) => `${w[k] || 0} ${k}`).join(', ') });
  for (const [k, help] of WAVE_PARTS) {
    const n = w[k] || 0;
    if (!n) continue;
    bar.append(h('div', { class: 'seg wave-' + k, style: `width:${(100 * n) / Math.max(1, total)}%`, title: `${n} ${help}`, 'data-part': k },
      (100 * n) / Math.max(1, total) >= 7 ? String(n) : ''));
  }
  if (threshold !== undefined) bar.append(h('div', { class: 'threshold', style: `left:${100 * threshold}%`, title: 'success threshold ' + pct(threshold, 0) }));
  return bar;
}

const ACTIONS = [
  { id: 'pause', label: 'Pause', states: ['running'], what: 'pause rollouts' },
  { id: 'resume', label: 'Resume', states: ['paused'], what: 'resume rollouts' },
  { id: 'retry-failed', label: 'Retry failed devices', states: ['running', 'paused'], what: 'retry failed devices' },
  { id: 'abort-keep', label: 'Abort (keep)', states: ['running', 'paused'], what: 'abort rollouts', danger: true,
    confirm: 'Abort this rollout? Devices keep what they run now.' },
  { id: 'abort-revert', label: 'Abort and revert', states: ['running', 'paused'], what: 'abort rollouts', danger: true,
    confirm: 'Abort this rollout and send every device it moved back to its previous version?' },
];

function rolloutPage(view, id) {
  const head = h('div', { id: 'rollout-head', class: 'panel' });
  const reason = h('input', { id: 'action-reason', placeholder: 'reason (recorded with your name in the transitions)', maxlength: 500 });
  const message = h('p', { id: 'action-message', class: 'action-message', role: 'status' });
  const buttons = {};
  let current = null, acting = false;
  for (const a of ACTIONS) {
    buttons[a.id] = h('button', { type: 'button', id: 'action-' + a.id, class: a.danger ? 'danger' : '', disabled: true, text: a.label,
      onclick: () => act(a) });
  }
  const waves = h('div', { id: 'rollout-waves' });
  const thresholds = h('div', { id: 'rollout-thresholds' });
  const transitions = h('div', { id: 'rollout-transitions' });
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/rollouts', text: '← all rollouts' })),
    h('h1', {}, 'Rollout ', h('span', { class: 'mono', text: id })), head,
    h('section', { class: 'panel', id: 'rollout-actions' }, h('h2', { text: 'Operator actions' }),
      h('div', { class: 'actions' }, reason, Object.values(buttons)), message),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', { text: 'Waves' }), waves),
      h('section', { class: 'panel' }, h('h2', { text: 'Thresholds' }), thresholds)),
    h('section', { class: 'panel' }, h('h2', { text: 'Transitions' }),
      h('p', { class: 'hint', text: 'every state change with who decided it (an operator, a threshold or the quality gate) and why; newest first' }),
      transitions));

  async function act(a) {
    if (a.confirm && !window.confirm(a.confirm)) return;
    const path = a.id.startsWith('abort') ? 'abort' : a.id;
    const body = { actor: session.user, reason: reason.value.trim() || undefined };
    if (a.id === 'abort-keep') body.mode = 'keep';
    if (a.id === 'abort-revert') body.mode = 'revert';
    Object.values(buttons).forEach((b) => { b.disabled = true; });
    acting = true;
    message.className = 'action-message';
    message.textContent = a.label + '…';
    try {
      const r = await api('api/rollouts/' + encodeURIComponent(id) + '/' + path, { method: 'POST', body, what: a.what });
      reason.value = '';
      message.className = 'action-message ok';
      message.textContent = `${a.label}: done, the rollout is ${r.state} (recorded as operator:${session.user}).`;
      acting = false;
      draw(r);
    } catch (e) {
      if (e.status === 401) return;
      message.className = 'action-message error';
      message.textContent = e.status === 409 ? `${a.label} is not possible now: ${e.message}` : e.message;
    } finally {
      acting = false;
      if (current) enable(current.state);
    }
  }

  function enable(state) {
    if (acting) return;
    for (const a of ACTIONS) buttons[a.id].disabled = !a.states.includes(state);
  }

  function draw(r) {
    current = r;
    enable(r.state);
    const total = r.progress.reduce((n, w) => n + w.devices, 0);
    replace(head, h('div', { class: 'facts' },
      fact('state', badge(r.state), 'rollout-state'),
      fact('model version', h('a', { href: '#/versions/' + r.modelVersion, class: 'mono', text: short(r.modelVersion), title: r.modelVersion })),
      fact('wave', `${r.currentWave} of ${r.waves}`),
      fact('devices', num(total)),
      fact('started by', r.createdBy),
      fact('created', dateTime(r.createdAt))));
    replace(waves, r.progress.map((w) => h('div', { class: 'wave' + (w.wave === r.currentWave ? ' current' : ''), id: 'wave-' + w.wave, 'data-wave': w.wave },
      h('div', { class: 'wave-title' }, h('strong', { text: `Wave ${w.wave}` }), w.wave === r.currentWave ? h('span', { class: 'small', text: ' (current)' }) : null,
        h('span', { class: 'small right', text: `${w.devices} devices` })),
      waveBar(w, w.devices, r.successThreshold),
      h('div', { class: 'wave-legend' }, WAVE_PARTS.filter(([k]) => ['finished', 'failed', 'targeted', 'scheduled'].includes(k) || w[k])
        .map(([k]) => h('span', { class: 'legend-item' }, h('i', { class: 'swatch wave-' + k }), `${w[k]} ${k}`))),
      h('div', { class: 'small' }, `${r.measure}: predicted ${acc(w.predictedQuality)}, measured ${acc(w.measuredQuality)} on ${w.measured} devices`,
        w.predictedQuality !== null && w.measuredQuality !== null
          ? h('span', { class: shortfall(r.measure, w.measuredQuality, w.predictedQuality) > r.qualityMargin ? 'bad' : 'good',
            text: ` (${w.measuredQuality >= w.predictedQuality ? '+' : ''}${(w.measuredQuality - w.predictedQuality).toFixed(4)})` }) : null))));
    replace(thresholds, h('table', { class: 'kv', id: 'threshold-table' }, h('tbody', {},
      kv('success', `a wave succeeds when ≥ ${pct(r.successThreshold, 0)} of its devices finished`),
      kv('error', `a wave fails when > ${pct(r.errorThreshold, 0)} failed, once ${r.errorMinExecuted} devices executed`),
      kv(r.measure + ' gate', `measured ${r.measure} at most ${marginText(r.measure, r.qualityMargin)} the front's prediction`),
      kv('on wave success', r.onWaveSuccess === 'pause' ? 'pause (an operator resumes into the next wave)' : 'start the next wave'),
      kv('on failure', r.onFailure))));
    const rows = [...r.transitions].reverse();
    replace(transitions, h('table', { class: 'data', id: 'transition-table' },
      h('thead', {}, h('tr', {}, ['at', 'wave', 'from → to', 'actor', 'reason'].map((t) => h('th', { text: t })))),
      h('tbody', {}, rows.map((t) => h('tr', { class: 'to-' + t.to + (t.actor.startsWith('operator:') ? ' by-operator' : '') },
        h('td', { text: time(t.at), title: dateTime(t.at) }), h('td', { class: 'num', text: t.wave }),
        h('td', {}, t.from ? badge(t.from) : '·', ' → ', badge(t.to)),
        h('td', { class: 'actor', text: t.actor }), h('td', { class: 'reason', text: t.reason }))))));
  }

  return {
    async update(alive) {
      const r = await api('api/rollouts/' + encodeURIComponent(id), { what: 'read rollouts' });
      if (alive() && !unchanged(this, 'rollout', r)) draw(r);
    },
  };
}

function fact(label, value, id) {
  return h('div', { class: 'fact' }, h('div', { class: 'fact-label', text: label }), h('div', { class: 'fact-value', id }, value));
}

function kv(k, v) {
  return h('tr', {}, h('th', { text: k }), h('td', {}, v));
}

// ---------------------------------------------------------------- page: model versions

function versionsPage(view, id) {
  if (id) return versionPage(view, id);
  const list = h('div', { id: 'version-list' });
  view.append(h('h1', { text: 'Model versions' }),
    h('p', { class: 'hint', text: 'Immutable versions (named by the sha256 of their files), newest first; aliases point at them. Click one for its Pareto front.' }),
    h('section', { class: 'panel' }, list));
  return {
    async update(alive) {
      const rows = await api('api/dashboard/versions', { what: 'read model versions' });
      if (!alive() || unchanged(this, 'versions', rows)) return;
      replace(list, rows.length ? h('table', { class: 'data clickable', id: 'version-table' },
        h('thead', {}, h('tr', {}, ['version', 'aliases', 'task', 'parent', 'front', 'best predicted', 'devices assigned', 'running', 'created']
          .map((t) => h('th', { text: t })))),
        h('tbody', {}, rows.map((v) => h('tr', { 'data-version': v.modelVersion, onclick: () => { location.hash = '#/versions/' + v.modelVersion; } },
          h('td', {}, h('a', { href: '#/versions/' + v.modelVersion, class: 'mono', text: short(v.modelVersion), title: v.modelVersion })),
          h('td', {}, aliasBadges(v.aliases)),
          h('td', { text: v.task }),
          h('td', {}, v.parentVersion ? h('span', { class: 'mono', text: short(v.parentVersion), title: v.parentVersion }) : '–',
            v.retrainingRequest ? h('div', { class: 'small', text: 'retrained for ' + v.retrainingRequest }) : null),
          h('td', { text: `${v.frontSize} configs, ${bits(v.minBits)}–${bits(v.maxBits)} bits` }),
          h('td', { class: 'num', text: `${acc(v.bestPredicted)} ${v.measure}` }),
          h('td', { class: 'num', text: num(v.assigned) }), h('td', { class: 'num', text: num(v.running) }),
          h('td', { text: dateTime(v.createdAt) })))))
        : h('p', { class: 'empty', text: 'no versions registered yet' }));
    },
  };
}

function versionPage(view, id) {
  const head = h('div', { class: 'panel', id: 'version-head' });
  const chart = h('div', { id: 'front-chart' });
  const table = h('div', { id: 'front-table' });
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/versions', text: '← all versions' })),
    h('h1', {}, 'Model version ', h('span', { class: 'mono', text: short(id), title: id })), head,
    h('section', { class: 'panel' }, h('h2', { text: 'Pareto front: predicted quality vs average bits' }),
      h('p', { class: 'hint', text: 'predicted: the validation quality (accuracy or perplexity, the version\'s measure) the front was trained for; '
        + 'measured: the mean of each device\'s latest report on that configuration (marker area grows with the number of devices, '
        + 'the whisker spans their min–max)' }), chart),
    h('section', { class: 'panel' }, h('h2', { text: 'Configurations' }), table));
  let version = null;
  return {
    async update(alive) {
      const [front, v] = await Promise.all([
        api('api/dashboard/versions/' + encodeURIComponent(id) + '/front', { what: 'read model versions' }),
        version ? Promise.resolve(version) : api('api/versions/' + encodeURIComponent(id), { what: 'read model versions' }),
      ]);
      if (!alive() || unchanged(this, 'front', front)) return;
      version = v;
      const lineage = v.lineage || {};
      replace(head, h('div', { class: 'facts' },
        fact('version', h('span', { class: 'mono small', text: v.modelVersion })),
        fact('aliases', front.aliases.length ? aliasBadges(front.aliases) : '–'),
        fact('task', v.task), fact('base model', v.baseModel),
        fact('parent', v.parentVersion ? h('a', { href: '#/versions/' + v.parentVersion, class: 'mono', text: short(v.parentVersion) }) : '–'),
        fact('created', dateTime(v.createdAt)),
        lineage.retrainingRequest ? fact('retrained for', lineage.retrainingRequest) : null));
      replace(chart, frontChart(front));
      const measured = new Map(front.measured.map((m) => [m.configId, m]));
      replace(table, h('table', { class: 'data', id: 'config-table' },
        h('thead', {}, h('tr', {}, ['configuration', 'average bits', 'bit-widths', 'predicted', 'measured (mean of latest)', 'Δ', 'devices', 'reports']
          .map((t) => h('th', { text: t })))),
        h('tbody', {}, front.predicted.map((p) => {
          const m = measured.get(p.configId);
          const delta = m ? m.meanQuality - p.predictedQuality : null;
          const gap = m ? shortfall(front.measure, m.meanQuality, p.predictedQuality) : null;
          return h('tr', { 'data-config': p.configId },
            h('td', { class: 'mono', text: short(p.configId), title: p.configId }), h('td', { class: 'num', text: bits(p.averageBits) }),
            h('td', { text: p.weightBits.join(', ') }), h('td', { class: 'num', text: acc(p.predictedQuality) }),
            h('td', { class: 'num', text: m ? acc(m.meanQuality) : '–' }),
            h('td', { class: 'num ' + (delta === null ? '' : gap > 0.05 ? 'bad' : 'good'), text: delta === null ? '' : (delta >= 0 ? '+' : '') + delta.toFixed(4) }),
            h('td', { class: 'num', text: m ? num(m.devices) : '0' }), h('td', { class: 'num', text: m ? num(m.reports) : '0' }));
        }))));
    },
  };
}

function frontChart(front) {
  const pts = front.predicted, meas = front.measured.filter((m) => m.averageBits !== null);
  const xs = [...pts.map((p) => p.averageBits), ...meas.map((m) => m.averageBits)];
  const ys = [...pts.map((p) => p.predictedQuality), ...meas.flatMap((m) => [m.minQuality, m.maxQuality])];
  if (!xs.length) return h('p', { class: 'empty', text: 'the front is empty' });
  const xPad = Math.max(0.1, (Math.max(...xs) - Math.min(...xs)) * 0.05);
  const xDomain = [Math.min(...xs) - xPad, Math.max(...xs) + xPad];
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const yDomain = qualityDomain(front.measure, lo, hi, Math.max(0.01, (hi - lo) * 0.08));
  const f = frame({ width: 1240, height: 420, xDomain, yDomain, id: 'front-svg', xLabel: 'average bits per quantized weight',
    yLabel: front.measure, yFormat: (t) => t.toFixed(2), xFormat: (t) => t.toFixed(1) });
  const sorted = [...pts].sort((a, b) => a.averageBits - b.averageBits);
  f.plot.append(s('polyline', { class: 'front-line', points: sorted.map((p) => `${f.x(p.averageBits)},${f.y(p.predictedQuality)}`).join(' ') }));
  for (const p of sorted) {
    f.plot.append(s('circle', { class: 'pt-predicted', cx: f.x(p.averageBits), cy: f.y(p.predictedQuality), r: 4.5, 'data-config': p.configId },
      s('title', { text: `predicted ${acc(p.predictedQuality)} at ${bits(p.averageBits)} bits (${short(p.configId)})` })));
  }
  const maxDevices = Math.max(1, ...meas.map((m) => m.devices));
  for (const m of meas) {
    const cx = f.x(m.averageBits), cy = f.y(m.meanQuality), r = 4 + 6 * Math.sqrt(m.devices / maxDevices);
    const g = s('g', { class: 'measured', 'data-config': m.configId },
      s('line', { class: 'whisker', x1: cx, x2: cx, y1: f.y(m.minQuality), y2: f.y(m.maxQuality) }),
      s('rect', { class: 'pt-measured', x: cx - r / Math.SQRT2, y: cy - r / Math.SQRT2, width: r * Math.SQRT2, height: r * Math.SQRT2,
        transform: `rotate(45 ${cx} ${cy})`, 'data-devices': m.devices },
      s('title', { text: `measured ${acc(m.meanQuality)} (mean of the latest report of ${m.devices} devices; min ${acc(m.minQuality)}, `
        + `max ${acc(m.maxQuality)}) vs predicted ${acc(m.predictedQuality)} at ${bits(m.averageBits)} bits` })));
    f.plot.append(g);
  }
  const legend = h('div', { class: 'legend-row' },
    h('span', { class: 'legend-item' }, h('i', { class: 'marker marker-predicted' }), `predicted (the front, ${pts.length} configurations)`),
    h('span', { class: 'legend-item' }, h('i', { class: 'marker marker-measured' }),
      `measured by the fleet (${meas.length} configurations, ${meas.reduce((n, m) => n + m.devices, 0)} devices)`));
  return h('div', {}, legend, f.svg);
}

// ---------------------------------------------------------------- page: telemetry

const BUCKETS = [[10, '10 s'], [30, '30 s'], [60, '1 min'], [300, '5 min'], [3600, '1 h']];

function telemetryPage(view) {
  const select = h('select', { id: 'bucket-seconds', onchange: () => refresh() },
    BUCKETS.map(([v, label]) => h('option', { value: v, text: label, selected: v === 10 })));
  const count = h('select', { id: 'bucket-count', onchange: () => refresh() },
    [30, 60, 120, 240].map((n) => h('option', { value: n, text: n + ' buckets', selected: n === 60 })));
  const measure = h('select', { id: 'telemetry-measure', onchange: () => refresh() },
    ['accuracy', 'perplexity'].map((m) => h('option', { value: m, text: m, selected: m === 'accuracy' })));
  const summary = h('p', { class: 'hint', id: 'telemetry-summary' });
  const chart = h('div', { id: 'telemetry-chart' });
  view.append(h('h1', { text: 'Telemetry over time' }),
    h('section', { class: 'panel' },
      h('div', { class: 'controls' }, h('label', {}, 'measure ', measure), h('label', {}, 'bucket ', select), h('label', {}, 'window ', count)),
      summary, chart));
  return {
    async update(alive) {
      const t = await api(`api/dashboard/telemetry?bucketSeconds=${select.value}&buckets=${count.value}&measure=${measure.value}`,
        { what: 'read telemetry' });
      if (!alive() || unchanged(this, 'telemetry', t)) return;
      const reports = t.series.reduce((n, b) => n + b.reports, 0);
      summary.textContent = `${num(reports)} evaluation reports from devices between ${time(new Date(t.from))} and ${time(new Date(t.to))}, `
        + `in ${select.options[select.selectedIndex].text} buckets of received time; the line is the mean ${t.measure} of the reports in each bucket `
        + `(all versions in ${t.measure} in black, each version in its colour), the bars count them.`;
      replace(chart, telemetryChart(t));
    },
  };
}

function telemetryChart(t) {
  const wrap = h('div', {});
  const step = t.bucketSeconds * 1000;
  const xDomain = [t.from, t.to];
  const spanMs = t.to - t.from;
  const xTicks = [];
  const tickStep = 1000 * ([10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
    .find((st) => st * 6 >= spanMs / 1000) || 604800);
  for (let v = Math.ceil(t.from / tickStep) * tickStep; v <= t.to; v += tickStep) xTicks.push(v);
  const xFormat = (v) => {
    const d = new Date(v);
    return spanMs > 2 * 86400e3 ? d.toLocaleDateString('en-CA') : d.toLocaleTimeString('en-GB', { hour12: false, hour: '2-digit', minute: '2-digit',
      second: t.bucketSeconds < 60 ? '2-digit' : undefined });
  };
  const versions = [...new Set(t.series.flatMap((b) => Object.keys(b.byVersion)))];
  const qs = t.series.flatMap((b) => [b.meanQuality, ...Object.values(b.byVersion).map((v) => v.meanQuality)]);
  const lo = qs.length ? Math.min(...qs) : 0, hi = qs.length ? Math.max(...qs) : 1;
  const yDomain = qualityDomain(t.measure, lo, hi, Math.max(0.02, (hi - lo) * 0.1));
  const top = frame({ width: 1240, height: 300, margin: { l: 56, r: 20, t: 14, b: 30 }, xDomain, yDomain, xTicks, xFormat,
    yFormat: (v) => v.toFixed(2), yLabel: 'mean ' + t.measure, id: 'telemetry-' + t.measure });
  const center = (b) => b.start + step / 2;
  const line = (pts, cls, color, title) => {
    if (!pts.length) return;
    const path = pts.map((p, i) => `${i ? 'L' : 'M'}${top.x(p[0]).toFixed(1)},${top.y(p[1]).toFixed(1)}`).join(' ');
    top.plot.append(s('path', { d: path, class: cls, stroke: color }, s('title', { text: title })));
    for (const p of pts) top.plot.append(s('circle', { cx: top.x(p[0]), cy: top.y(p[1]), r: 2.5, fill: color, class: cls + '-pt' }));
  };
  versions.forEach((v, i) => line(t.series.filter((b) => b.byVersion[v]).map((b) => [center(b), b.byVersion[v].meanQuality]), 'line-version',
    PALETTE[i % PALETTE.length], 'version ' + short(v)));
  line(t.series.map((b) => [center(b), b.meanQuality]), 'line-' + t.measure, '#111827', 'all versions in ' + t.measure);
  if (!t.series.length) top.plot.append(s('text', { x: 620, y: 150, 'text-anchor': 'middle', class: 'empty', text: 'no telemetry in this window' }));
  const maxReports = Math.max(1, ...t.series.map((b) => b.reports));
  const ticks = niceTicks(0, maxReports, 3);
  const bottom = frame({ width: 1240, height: 170, margin: { l: 56, r: 20, t: 10, b: 44 }, xDomain, yDomain: [0, Math.max(maxReports, ticks[ticks.length - 1])],
    xTicks, xFormat, yTicks: ticks, yFormat: (v) => (Number.isInteger(v) ? v : ''), yLabel: 'reports', xLabel: 'received time (bucket)',
    id: 'telemetry-counts' });
  const bw = Math.max(1, bottom.x(t.from + step) - bottom.x(t.from));
  for (const b of t.series) {
    const y = bottom.y(b.reports);
    bottom.plot.append(s('rect', { class: 'bar-count', x: bottom.x(b.start) + bw * 0.1, y, width: bw * 0.8, height: bottom.y(0) - y },
      s('title', { text: `${time(new Date(b.start))}: ${b.reports} reports from ${b.devices} devices, mean ${t.measure} ${acc(b.meanQuality)}` })));
  }
  const legend = h('div', { class: 'legend-row' }, h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: 'background:#111827' }), 'all versions'),
    versions.map((v, i) => h('span', { class: 'legend-item' }, h('i', { class: 'swatch', style: 'background:' + PALETTE[i % PALETTE.length] }),
      h('a', { href: '#/versions/' + v, class: 'mono', text: short(v) }))));
  wrap.append(legend, top.svg, bottom.svg);
  return wrap;
}

// ---------------------------------------------------------------- start

const PAGES = { fleet: fleetPage, rollouts: rolloutsPage, versions: versionsPage, telemetry: telemetryPage };

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', signIn);
  $('#logout').addEventListener('click', () => signOut('Signed out.'));
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  if (session.token) { showApp(); route(); } else showLogin();
});
