/* agenthost operator console: one ES module, no dependencies, no build step.
 * Every text from the API goes in as text (createElement/textContent), never as HTML.
 * The token lives in sessionStorage only and is sent as `Authorization: Bearer`.
 *
 * data-testid values:
 *   status, signin-token, signin-submit, signout,
 *   nav-plugins, nav-live, nav-dead-letters, nav-conversations, nav-alerts,
 *   confirm-dialog, reason, confirm-extra-version, confirm-extra-minutes, confirm-error, confirm-yes, confirm-no,
 *   plugin-list, plugin-row-<name>, plugin-detail, active-version, previous-version, candidate-version,
 *   rollout-mode, rollback, promote, abort, rollout-kind, rollout-candidate, rollout-percent, rollout-start,
 *   upload-file, upload-submit, version-row, activate, history-row, shadow-row,
 *   live-summary, live-plugin-<name>, sparkline,
 *   dl-plugin, requeue-version, requeue-all, dead-letter-list, dead-letter-row, dead-letter-conversation,
 *   requeue, discard,
 *   conversation-search, conversation-agent, conversation-search-submit, conversation-list, conversation-row,
 *   takeover-badge, opted-out-badge, thread, takeover, release, message-row, message-author,
 *   reply-body, reply-send, reply-hint, alerts-list, alert-row
 */
const KEY = 'agenthost.admin-token';
const $ = (id) => document.getElementById(id);
const view = $('view'), statusEl = $('status'), nav = $('nav'), out = $('signout'), dlg = $('confirm');
const chrome = (on) => { nav.hidden = out.hidden = !on; };
const enc = encodeURIComponent;

// ---- DOM helpers ----
const kids = (xs) => xs.flat(4).filter((c) => c != null && c !== false);
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'tid') e.dataset.testid = v;
    else if (k === 'value') e.value = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...kids(children));
  return e;
}
const fill = (el, ...children) => el.replaceChildren(...kids(children));
const short = (v) => (v ? String(v).slice(0, 8) : '—');
const sha = (v, tid) => h('code', { class: 'sha', title: v || '', tid, 'data-version': v || '' }, short(v));
const badge = (text, cls, tid) => h('span', { class: 'badge ' + (cls || ''), tid }, text);
const section = (title, ...c) => h('section', { class: 'card' }, h('h2', null, title), ...c);
const field = (label, ...c) => h('label', null, label, ...c);
const empty = (text) => h('p', { class: 'muted empty' }, text);
const dl = (pairs) => h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
const line = (...c) => h('div', { class: 'line' }, ...c);
const grow = () => h('span', { class: 'grow' });
const small = (...c) => h('span', { class: 'muted small' }, ...c);
function dur(ms) {
  const s = Math.abs(ms) / 1000;
  return s < 60 ? Math.round(s) + 's' : s < 3600 ? Math.round(s / 60) + 'm' : s < 172800 ? Math.round(s / 3600) + 'h' : Math.round(s / 86400) + 'd';
}
function when(ms) {
  if (ms == null) return '—';
  const d = Date.now() - ms;
  return h('time', { datetime: new Date(ms).toISOString(), title: new Date(ms).toLocaleString() }, d >= 0 ? dur(d) + ' ago' : 'in ' + dur(d));
}
const clock = (ms) => new Date(ms).toLocaleTimeString();
const effectsText = (e) => Object.entries(e).filter(([, v]) => v).map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`).join(' · ') || 'wrote nothing';
const compact = (v) => { const s = v == null ? '—' : JSON.stringify(v); return s.length > 300 ? s.slice(0, 300) + '…' : s; };
function uuid() { // randomUUID needs a secure context; the admin listener may be plain http on a private address
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---- status area ----
function say(msg, kind) {
  statusEl.textContent = msg || '';
  statusEl.className = 'status ' + (kind || 'info');
  statusEl.hidden = !msg;
}
class SignedOut extends Error {}
const fail = (e) => { if (!(e instanceof SignedOut)) say(e.message, 'error'); };

// ---- API ----
async function api(method, path, body, raw) {
  const token = sessionStorage.getItem(KEY);
  if (!token) { signOut('Sign in first.'); throw new SignedOut(); }
  const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  if (raw) headers['Content-Type'] = 'application/wasm';
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; raw = JSON.stringify(body); }
  let res;
  try {
    res = await fetch(path, { method, headers, body: raw, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch (e) {
    throw new Error(`Cannot reach the host (${method} ${path}): ${e.message}`);
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  const why = data && typeof data.error === 'string' ? data.error : text.slice(0, 200);
  if (res.status === 401) { signOut(`Signed out: ${why || 'the token was refused'} (401)`); throw new SignedOut(); }
  if (!res.ok) throw Object.assign(new Error(`${why || res.statusText} (${res.status}, ${method} ${path.split('?')[0]})`), { status: res.status });
  return data;
}
const P = (name) => '/admin/plugins/' + enc(name);
const C = (id) => '/admin/conversations/' + enc(id);

// Runs a call with its button disabled; reports the outcome, then `after` (a reload).
async function run(btn, fn, ok, after) {
  if (btn) btn.disabled = true;
  try {
    const r = await fn();
    say(typeof ok === 'function' ? ok(r) : ok, 'ok');
    if (after) await after(r);
  } catch (e) { fail(e); } finally { if (btn) btn.disabled = false; }
}
// A state-changing action: confirm in the page (with a reason), then run.
async function ask(btn, opts, call, ok, after) {
  const c = await confirmDialog(opts);
  if (c) await run(btn, () => call(c), ok, after);
}

const act = (tid, label, cls, opts, call, ok, after, extra) =>
  h('button', { tid, class: cls, ...extra, onclick: (ev) => ask(ev.target, opts, call, ok, after) }, label);

// ---- confirmation dialog: in the page (not window.confirm), so tests can click it ----
// reason: 'required' | 'optional' | false; extra: [{key, label, type, options, min, max}]
let closeDialog = null;
function confirmDialog({ title, detail, reason = 'required', reasonLabel = 'Reason', extra = [], yes = 'Confirm', danger }) {
  return new Promise((resolve) => {
    const err = h('p', { class: 'error-text', tid: 'confirm-error', hidden: true });
    const ta = reason && h('textarea', { tid: 'reason', rows: 2, maxlength: 500, placeholder: reason === 'required' ? 'Required' : 'Optional' });
    const fields = extra.map((f) => {
      const a = { tid: 'confirm-extra-' + f.key };
      const input = f.type === 'select'
        ? h('select', a, f.options.map((o) => h('option', { value: o.value }, o.label)))
        : h('input', { ...a, type: f.type, min: f.min, max: f.max, inputmode: 'numeric' });
      return [f.key, input, field(f.label, input)];
    });
    let done = false;
    const finish = (v) => { if (!done) { done = true; closeDialog = null; dlg.close(); dlg.replaceChildren(); resolve(v); } };
    closeDialog = () => finish(null);
    const yesBtn = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', tid: 'confirm-yes' }, yes);
    fill(dlg, h('form', { onsubmit: (ev) => {
      ev.preventDefault();
      const v = { reason: ta ? ta.value.trim() : '' };
      if (reason === 'required' && !v.reason) { err.textContent = reasonLabel + ' is required.'; err.hidden = false; return ta.focus(); }
      for (const [k, input] of fields) v[k] = input.value.trim();
      finish(v);
    } },
    h('h2', { id: 'confirm-title' }, title),
    detail && h('p', { class: 'detail' }, detail),
    ta && field(reasonLabel, ta),
    fields.map((f) => f[2]), err,
    h('div', { class: 'buttons' }, h('button', { type: 'button', tid: 'confirm-no', onclick: () => finish(null) }, 'Cancel'), yesBtn)));
    dlg.oncancel = (ev) => { ev.preventDefault(); finish(null); };
    dlg.showModal();
    (ta || yesBtn).focus();
  });
}

// ---- sign-in and routing ----
let gen = 0, timers = [];
function every(ms, fn) { // refresh while this screen is shown (and the tab visible)
  const g = gen;
  timers.push(setInterval(() => { if (g === gen && !document.hidden) fn().catch(fail); }, ms));
}
function stop() { gen++; timers.forEach(clearInterval); timers = []; if (closeDialog) closeDialog(); }

function signOut(msg, kind) {
  sessionStorage.removeItem(KEY);
  stop();
  chrome(false);
  const input = h('input', { type: 'password', tid: 'signin-token', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true });
  const btn = h('button', { type: 'submit', class: 'primary', tid: 'signin-submit' }, 'Sign in');
  fill(view, h('form', { class: 'card signin', method: 'post', onsubmit: async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = '';
    btn.disabled = true;
    try {
      await api('GET', '/admin/plugins');
      if (/^#\/[a-z]/.test(location.hash)) route(); else location.hash = '#/plugins';
    } catch (e) { fail(e); } finally { btn.disabled = false; }
  } },
  h('h1', null, 'Sign in'),
  field('Admin token', input),
  h('p', { class: 'muted small' }, 'Kept in this tab only: closing the tab forgets it.'),
  btn));
  say(msg, kind || 'error');
  input.focus();
}

function route() {
  stop();
  if (!sessionStorage.getItem(KEY)) return signOut();
  chrome(true);
  const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
  const [screen, arg] = path.split('/').map((p) => { try { return decodeURIComponent(p); } catch (_) { return p; } });
  const q = new URLSearchParams(qs || '');
  for (const a of nav.querySelectorAll('a')) if (a.getAttribute('href') === '#/' + screen) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  const g = gen, alive = () => g === gen;
  say('');
  if (!screen) return location.replace('#/plugins');
  const show = {
    plugins: () => (arg ? plugin(arg, alive) : plugins(alive)),
    live: () => live(alive),
    'dead-letters': () => deadLetters(q, alive),
    conversations: () => (arg ? thread(arg, alive) : conversations(q, alive)),
    alerts: () => alerts(alive),
  }[screen];
  if (!show) return fill(view, h('h1', null, 'Not found'));
  fill(view, empty('Loading…'));
  show().catch((e) => { if (alive()) fail(e); });
}

// ---- #/plugins ----
function rolloutBadge(r) {
  if (!r || !r.mode || r.mode === 'none') return badge('no rollout', 'quiet');
  return badge(r.mode === 'canary' ? `canary ${r.percent ?? '?'}%` : r.mode, 'warn');
}

async function plugins(alive) {
  const d = await api('GET', '/admin/plugins');
  if (!alive()) return;
  const list = h('div', { class: 'list', tid: 'plugin-list' }, (d.plugins || []).map((p) => {
    const r = p.rollout || {};
    return h('a', { class: 'row', href: '#/plugins/' + enc(p.plugin), tid: 'plugin-row-' + p.plugin },
      line(h('strong', null, p.plugin), rolloutBadge(r)),
      h('div', { class: 'muted' }, 'active ', sha(p.active_version), r.candidate && [' · candidate ', sha(r.candidate)],
        p.serving_here && p.serving_here !== p.active_version && [' · serving here ', sha(p.serving_here)]));
  }));
  if (!list.childElementCount) list.append(empty('No plugins deployed.'));
  fill(view, h('h1', null, 'Plugins'), list);
}

async function plugin(name, alive) {
  const load = async () => {
    const [d, sh] = await Promise.all([api('GET', P(name)),
      api('GET', P(name) + '/shadow?limit=50').catch((e) => { if (e instanceof SignedOut) throw e; return { error: e.message }; })]);
    if (alive()) fill(view, pluginView(name, d, sh, load));
  };
  await load();
}

function pluginView(name, d, sh, reload) {
  const r = d.rollout || {}, versions = d.versions || [], active = d.active_version;
  const history = [...(d.history || [])].sort((a, b) => b.id - a.id); // newest first
  const call = (method, path, body) => () => api(method, P(name) + path, body);
  const rollout = (body) => call('PUT', '/rollout', body)();
  const actions = [act('rollback', 'Roll back', 'danger',
    { title: `Roll back ${name}?`, detail: `Active ${short(active)} → previous ${short(d.previous_version)}.`, yes: 'Roll back', danger: true },
    (c) => call('POST', '/rollback', { reason: c.reason })(), (x) => `Rolled back ${name}: active is now ${short(x.active_version)}.`, reload, { disabled: !d.previous_version })];
  if (r.mode && r.mode !== 'none') {
    actions.push(act('promote', 'Promote', 'primary',
      { title: `Promote ${short(r.candidate)}?`, detail: `The candidate becomes the active version of ${name}.`, yes: 'Promote' },
      (c) => rollout({ mode: 'promote', reason: c.reason }), `Promoted ${short(r.candidate)}.`, reload),
    act('abort', 'Abort', null,
      { title: `Abort the ${r.mode}?`, detail: `Active ${short(active)} serves everything again.`, yes: 'Abort rollout', danger: true },
      (c) => rollout({ mode: 'abort', reason: c.reason }), 'Rollout aborted.', reload));
  }

  const others = versions.filter((v) => v.version !== active);
  const opt = (v) => h('option', { value: v.version }, short(v.version) + (v.note ? ' — ' + v.note : ''));
  const kind = h('select', { tid: 'rollout-kind' }, h('option', null, 'canary'), h('option', null, 'shadow'));
  const cand = h('select', { tid: 'rollout-candidate' }, others.map(opt));
  const pct = h('input', { tid: 'rollout-percent', type: 'number', min: 1, max: 100, value: '10', inputmode: 'numeric' });
  const pctLabel = field('Percent', pct);
  kind.onchange = () => { pctLabel.hidden = kind.value !== 'canary'; };
  const start = h('button', { tid: 'rollout-start', disabled: !others.length, onclick: (ev) => {
    const canary = kind.value === 'canary', percent = Number(pct.value);
    if (canary && !(percent >= 1 && percent <= 100)) return say('Percent must be 1 to 100.', 'error');
    ask(ev.target, { title: `Start a ${kind.value} of ${short(cand.value)}?`, yes: 'Start',
      detail: canary ? `${percent}% of ${name}'s events run on the candidate.` : 'The candidate also runs on every event; its effects are discarded and compared.' },
    (c) => rollout({ mode: kind.value, candidate: cand.value, percent: canary ? percent : undefined, reason: c.reason }), `${kind.value} started.`, reload);
  } }, 'Start');

  const file = h('input', { type: 'file', accept: '.wasm,application/wasm', tid: 'upload-file' });
  const upload = h('button', { tid: 'upload-submit', onclick: (ev) => {
    const f = file.files[0];
    if (!f) return say('Choose a .wasm file first.', 'error');
    ask(ev.target, { title: `Upload ${f.name}?`, reasonLabel: 'Note (why this version exists)',
      detail: `${Math.round(f.size / 1024)} KiB as a new version of ${name}; it is not activated.` },
    async (c) => api('POST', P(name) + '/versions?note=' + enc(c.reason), undefined, await f.arrayBuffer()),
    (x) => `${x.created ? 'Uploaded' : 'Already uploaded'}: version ${short(x.version)}.`, reload);
  } }, 'Upload');

  const vlist = h('div', { class: 'list' }, versions.map((v) => h('div', { class: 'row', tid: 'version-row', 'data-version': v.version },
    line(sha(v.version), v.version === active && badge('active', 'good'), v.version === r.candidate && badge('candidate', 'warn'),
      v.version === d.previous_version && badge('previous', 'quiet'), grow(),
      v.version !== active && act('activate', 'Activate', 'small',
        { title: `Activate ${short(v.version)}?`, detail: `It serves every event of ${name}, replacing ${short(active)}.`, yes: 'Activate' },
        (c) => call('POST', '/activate', { version: v.version, reason: c.reason })(), `Activated ${short(v.version)}.`, reload)),
    small(`${Math.round((v.size_bytes || 0) / 1024)} KiB · by ${v.uploaded_by} · `, when(v.uploaded_at_ms), v.signed_by && ` · signed by ${v.signed_by}`),
    v.note && h('div', { class: 'small' }, v.note))));
  if (!versions.length) vlist.append(empty('No versions uploaded.'));

  const hlist = h('div', { class: 'list' }, history.map((e) => h('div', { class: 'row', tid: 'history-row', 'data-action': e.action },
    line(badge(e.action, /rollback|abort/.test(e.action) ? 'bad' : 'quiet'), (e.from_version || e.to_version) && [sha(e.from_version), '→', sha(e.to_version)],
      grow(), small(when(e.at_ms))),
    h('div', { class: 'small' }, small('by '), e.actor, e.reason && [small(' — '), h('q', null, e.reason)]))));
  if (!history.length) hlist.append(empty('No history.'));

  const side = (x) => x || {};
  const shadow = sh.error ? h('p', { class: 'error-text' }, sh.error) : h('div', { class: 'list' }, (sh.runs || []).map((x) => h('div', { class: 'row', tid: 'shadow-row' },
    line(h('code', null, x.event_id), x.differs ? badge('differs', 'bad') : badge('same', 'good'), grow(), small(when(x.at_ms))),
    h('div', { class: 'cmp' }, ['active', 'candidate'].map((k) => h('div', null,
      h('div', { class: 'small' }, k, ' ', sha(side(x[k]).version), ' ', badge(side(x[k]).outcome || '?', 'quiet')),
      h('pre', null, compact(side(x[k]).effects))))))));
  if (!sh.error && !shadow.childElementCount) shadow.append(empty('No differing shadow runs.'));

  return [
    h('p', { class: 'crumbs' }, h('a', { href: '#/plugins' }, 'Plugins'), ' /'),
    h('h1', null, name),
    h('div', { class: 'cols' },
      h('div', null,
        h('section', { class: 'card', tid: 'plugin-detail' }, dl([
          ['Active', sha(active, 'active-version')],
          ['Previous', sha(d.previous_version, 'previous-version')],
          ['Rollout', h('span', { tid: 'rollout-mode', 'data-mode': r.mode || 'none' }, rolloutBadge(r))],
          r.candidate && ['Candidate', sha(r.candidate, 'candidate-version')],
          ['Serving here', sha(d.serving_here)],
          ['Activated', when(d.activated_at_ms)],
          ['Generation', String(d.generation ?? '—')],
        ]), h('div', { class: 'buttons' }, actions)),
        section('Start a rollout', h('div', { class: 'form' }, field('Mode', kind),
          field('Candidate', cand), pctLabel, start), !others.length && empty('Upload another version to roll it out.')),
        section('Upload a version', h('div', { class: 'form' }, field('Component (.wasm)', file), upload)),
        section('Shadow differences', shadow)),
      h('div', null, section(`Versions (${versions.length})`, vlist), section(`History (${history.length})`, hlist))),
  ];
}

// ---- #/live ----
const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs) => { const e = document.createElementNS(SVG, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
function sparkline(points) { // ok (green) and failed (red) per minute, oldest first
  const W = 120, H = 32, n = points.length;
  // The first point comes once the host has a minute of samples.
  if (!n) return h('div', { class: 'spark spark-empty', tid: 'sparkline' }, 'chart after the first minute');
  const max = Math.max(1, ...points.map((p) => (p.ok || 0) + (p.failed || 0)));
  const sum = (k) => points.reduce((a, p) => a + (p[k] || 0), 0);
  const label = `last ${n} min: ${sum('ok')} ok, ${sum('failed')} failed (peak ${max}/min)`;
  const el = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', class: 'spark', role: 'img', 'aria-label': label, 'data-testid': 'sparkline' });
  el.append(svg('title', {}));
  el.firstChild.textContent = label;

  for (const k of n ? ['ok', 'failed'] : []) {
    const pts = points.map((p, i) => `${n === 1 ? 0 : ((i / (n - 1)) * W).toFixed(1)},${(H - 1 - ((p[k] || 0) / max) * (H - 2)).toFixed(1)}`);
    if (n === 1) pts.push(`${W},${pts[0].split(',')[1]}`);
    el.append(svg('polyline', { points: pts.join(' '), class: k }));
  }
  return el;
}

async function live(alive) {
  const head = h('section', { class: 'card', tid: 'live-summary' }), grid = h('div', { class: 'grid' });
  let first = true;
  const load = async () => {
    const s = await api('GET', '/admin/summary');
    if (!alive()) return;
    fill(head, dl([
      ['Replica', s.replica || '—'],
      ['Outbox pending', String(s.outbox ? s.outbox.pending : '—')],
      ['Dead letters', h('a', { href: '#/dead-letters' }, String(s.dead_letters ?? 0))],
      ['Rates over', `the last ${s.window_secs}s`],
      ['Updated', clock(s.at_ms || Date.now())],
    ]));
    fill(grid, (s.plugins || []).map((p) => {
      const rates = Object.entries(p.invocations_per_sec || {}), q = p.queue || {};
      return h('section', { class: 'card live', tid: 'live-plugin-' + p.plugin },
        line(h('a', { href: '#/plugins/' + enc(p.plugin) }, h('strong', null, p.plugin)), rolloutBadge(p.rollout)),
        sparkline(p.chart || []),
        dl([
          ['Invocations/s', rates.length ? h('span', { class: 'rates' }, rates.map(([k, v]) => badge(`${k} ${Number(v).toFixed(2)}`, k === 'ok' ? 'good' : 'bad'))) : '0'],
          ['p50 / p99', p.p50_ms == null ? '—' : `${p.p50_ms} / ${p.p99_ms} ms`],
          ['Queue', `${q.depth ?? 0}` + (q.oldest_age_ms != null ? ` (oldest ${dur(q.oldest_age_ms)})` : '')],
          ['Dead letters', p.dead_letters ? h('a', { href: '#/dead-letters?plugin=' + enc(p.plugin), class: 'bad' }, String(p.dead_letters)) : '0'],
          ['Active', sha(p.active)],
          p.candidate && ['Candidate', sha(p.candidate)],
        ]));
    }));
    if (!grid.childElementCount) grid.append(empty('No plugins.'));
    if (first) { first = false; fill(view, h('h1', null, 'Live'), head, grid); }
  };
  every(5000, load);
  await load();
}

// ---- #/dead-letters ----
async function versionOptions(plugin) {
  const opts = [{ value: '', label: 'the active version' }];
  try {
    const d = await api('GET', P(plugin));
    for (const v of d.versions || []) opts.push({ value: v.version, label: short(v.version) + (v.version === d.active_version ? ' (active)' : '') + (v.note ? ' — ' + v.note : '') });
  } catch (e) { if (e instanceof SignedOut) throw e; }
  return opts;
}
const requeueBody = (c) => { const b = {}; if (c.version) b.version = c.version; if (c.reason) b.reason = c.reason; return b; };
const requeued = (x) => `Requeued ${x.requeued.length ? x.requeued.join(', ') : 'nothing'} onto ${short(x.version)}.`;

async function deadLetters(q, alive) {
  const sel = q.get('plugin') || '';
  const ps = await api('GET', '/admin/plugins');
  if (!alive()) return;
  const pick = h('select', { tid: 'dl-plugin', onchange: () => { location.hash = '#/dead-letters' + (pick.value ? '?plugin=' + enc(pick.value) : ''); } },
    h('option', { value: '' }, 'All plugins'), (ps.plugins || []).map((p) => h('option', null, p.plugin)));
  pick.value = sel;
  const list = h('div', { class: 'list', tid: 'dead-letter-list' });
  const bar = h('div', { class: 'form' }, field('Plugin', pick));
  const load = async () => {
    const d = await api('GET', '/admin/dead-letters?limit=100' + (sel ? '&plugin=' + enc(sel) : ''));
    if (!alive()) return;
    fill(list, (d.dead_letters || []).map((x) => deadRow(x, load)));
    if (!list.childElementCount) list.append(empty('No dead letters.'));
  };
  if (sel) {
    const ver = h('select', { tid: 'requeue-version' }, (await versionOptions(sel)).map((o) => h('option', { value: o.value }, o.label)));
    bar.append(field('Run on', ver), act('requeue-all', 'Requeue all', null,
      { title: `Requeue every dead letter of ${sel}?`, detail: `They run again on ${ver.value ? short(ver.value) : 'the active version'}.`, reason: 'optional', yes: 'Requeue all' },
      (c) => api('POST', P(sel) + '/dead-letters/requeue', requeueBody({ ...c, version: ver.value })), requeued, load));
  }
  every(5000, load);
  await load();
  if (alive()) fill(view, h('h1', null, 'Dead letters'), h('section', { class: 'card' }, bar), list);
}

function deadRow(x, reload) {
  const id = x.event_id, path = `/admin/dead-letters/${enc(id)}/`;
  return h('div', { class: 'row', tid: 'dead-letter-row', 'data-event-id': id, 'data-plugin': x.plugin, 'data-conversation-id': x.conversation_id || '' },
    line(badge(x.outcome || 'failed', 'bad'), h('strong', null, x.plugin), sha(x.version), small(`${x.attempts}× · ${x.kind}`), grow(), small(when(x.at_ms))),
    h('div', { class: 'small' }, h('code', null, id)),
    x.message && h('pre', { class: 'bad' }, x.message),
    x.body != null && h('blockquote', null, x.body),
    h('div', { class: 'buttons' },
      x.conversation_id && h('a', { class: 'grow', tid: 'dead-letter-conversation', href: '#/conversations/' + enc(x.conversation_id) }, 'Conversation'),
      h('button', { class: 'primary', tid: 'requeue', onclick: async (ev) => {
        const btn = ev.target;
        let options;
        try { btn.disabled = true; options = await versionOptions(x.plugin); } catch (e) { return fail(e); } finally { btn.disabled = false; }
        ask(btn, { title: 'Requeue this event?', detail: `${id} (${x.plugin}) runs again.`, reason: 'optional', yes: 'Requeue',
          extra: [{ key: 'version', label: 'Run on', type: 'select', options }] },
        (c) => api('POST', path + 'requeue', requeueBody(c)), requeued, reload);
      } }, 'Requeue'),
      act('discard', 'Discard', 'danger',
        { title: 'Discard this event?', detail: `${id} will never run. This cannot be undone.`, yes: 'Discard', danger: true },
        (c) => api('POST', path + 'discard', { reason: c.reason }), `Discarded ${id}.`, reload)));
}

// ---- #/conversations ----
function takeoverBadge(t) {
  return t && badge(`${t.requested_by_plugin ? 'handed to staff' : 'taken over'} · ${t.by || '?'}${t.until_ms != null ? ' until ' + clock(t.until_ms) : ''}`, 'warn', 'takeover-badge');
}

async function conversations(q, alive) {
  const qv = q.get('q') || '', agent = q.get('agent') || '';
  const [ps, d] = await Promise.all([api('GET', '/admin/plugins'),
    api('GET', '/admin/conversations?limit=50' + (qv ? '&q=' + enc(qv) : '') + (agent ? '&agent=' + enc(agent) : ''))]);
  if (!alive()) return;
  const input = h('input', { type: 'search', tid: 'conversation-search', value: qv, placeholder: 'Phone or digits', inputmode: 'tel', autocomplete: 'off' });
  const pick = h('select', { tid: 'conversation-agent' }, h('option', { value: '' }, 'Any agent'), (ps.plugins || []).map((p) => h('option', null, p.plugin)));
  pick.value = agent;
  const form = h('form', { class: 'card form', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (input.value.trim()) p.set('q', input.value.trim());
    if (pick.value) p.set('agent', pick.value);
    const next = '#/conversations' + (p.toString() ? '?' + p : '');
    if (location.hash === next) route(); else location.hash = next;
  } }, field('Phone', input), field('Agent', pick),
  h('button', { type: 'submit', class: 'primary', tid: 'conversation-search-submit' }, 'Search'));
  const list = h('div', { class: 'list', tid: 'conversation-list' }, (d.conversations || []).map((c) =>
    h('a', { class: 'row', href: '#/conversations/' + enc(c.id), tid: 'conversation-row', 'data-id': c.id, 'data-lead': c.lead_number },
      line(h('strong', null, c.lead_number), takeoverBadge(c.takeover), grow(), small(when(c.last_message_at_ms))),
      small(`${c.plugin} · ${c.agent_number}`),
      c.last_body && h('div', { class: 'clip' }, c.last_body))));
  if (!list.childElementCount) list.append(empty(qv || agent ? 'No conversation matches.' : 'No conversations yet.'));
  fill(view, h('h1', null, 'Conversations'), form, list);
}

function bubble(m) {
  const meta = [when(m.at_ms)];
  const tag = (v, good) => [' · ', badge(v, v === 'failed' || v === 'dead' ? 'bad' : good.test(v) ? 'good' : 'quiet')];
  if (m.direction === 'inbound') {
    if (m.version) meta.push(' · ', sha(m.version));
    if (m.outcome) meta.push(tag(m.outcome, /^done$/));
    if (m.effects) meta.push(' · ' + effectsText(m.effects));
  } else if (m.delivery_status) meta.push(tag(m.delivery_status, /deliver/));
  return h('div', { class: `msg ${m.author}`, tid: 'message-row', 'data-author': m.author, 'data-direction': m.direction, 'data-event-id': m.event_id || '', 'data-id': m.id },
    h('div', { class: 'who', tid: 'message-author' }, m.author === 'staff' ? `staff · ${m.staff || '?'}` : m.author),
    h('div', { class: 'body' }, m.body),
    h('div', { class: 'meta' }, meta),
    m.error && h('div', { class: 'error-text small' }, m.error),
    m.held_reason && small('held: ' + m.held_reason));
}

async function thread(id, alive) {
  const head = h('section', { class: 'card' }), msgs = h('div', { class: 'thread', tid: 'thread' });
  const box = h('textarea', { tid: 'reply-body', rows: 3, maxlength: 1600, placeholder: 'Reply as staff' });
  const send = h('button', { class: 'primary', tid: 'reply-send' }, 'Send');
  const hint = h('p', { class: 'muted small', tid: 'reply-hint' });
  const composer = h('section', { class: 'card' }, field('Reply', box), h('div', { class: 'buttons' }, hint, send));
  const minutes = { key: 'minutes', label: 'Release after (minutes; blank = now)', type: 'number', min: 1, max: 10080 };
  let last = '', canReply = false, pending = null, first = true;

  const load = async () => {
    const d = await api('GET', C(id));
    if (!alive()) return;
    const sig = JSON.stringify(d);
    if (sig === last) return;
    last = sig;
    const c = d.conversation || {}, t = c.takeover;
    canReply = !!t && !c.opted_out;
    box.disabled = send.disabled = !canReply;
    hint.textContent = c.opted_out ? 'The lead opted out (STOP): no replies.' : t ? 'You reply as staff; the agent is paused.' : 'Take over to reply.';
    fill(head,
      line(h('strong', null, c.lead_number || id), small('↔'), c.agent_number, badge(c.plugin || '?', 'quiet'), takeoverBadge(t),
        c.opted_out && badge('opted out', 'bad', 'opted-out-badge')),
      t && h('p', { class: 'small muted' }, 'since ', when(t.since_ms), t.reason && ` — ${t.reason}`),
      h('div', { class: 'buttons' }, t
        ? h('button', { tid: 'release', onclick: async (ev) => {
          const r = await confirmDialog({ title: 'Release to the agent?', detail: 'The agent answers the lead again.', reason: false, yes: 'Release', extra: [minutes] });
          const mins = r && Number(r.minutes);
          if (r && r.minutes && !(mins > 0)) return say('Minutes must be a positive number.', 'error');
          if (r) run(ev.target, () => api('POST', C(id) + '/release', mins > 0 ? { after_ms: Math.round(mins * 60000) } : {}),
            (x) => (x.takeover && x.takeover.until_ms ? `The agent takes over again at ${clock(x.takeover.until_ms)}.` : 'Released to the agent.'), load);
        } }, 'Release')
        : act('takeover', 'Take over', 'primary',
          { title: 'Take over this conversation?', detail: 'The agent stops answering until you release it.', reason: 'optional', yes: 'Take over' },
          (r) => api('POST', C(id) + '/takeover', r.reason ? { reason: r.reason } : {}), 'Taken over: you can reply.', load)));
    fill(msgs, (d.messages || []).map(bubble));
    if (!msgs.childElementCount) msgs.append(empty('No messages.'));
    if (first) {
      first = false;
      fill(view, h('p', { class: 'crumbs' }, h('a', { href: '#/conversations' }, 'Conversations'), ' /'), head, msgs, composer);
      composer.scrollIntoView({ block: 'end' });
    }
  };
  send.onclick = async () => {
    const body = box.value.trim();
    if (!body) return say('Type a reply first.', 'error');
    // One idempotency key per composed message: a retry of the same text reuses it.
    if (!pending || pending.body !== body) pending = { body, key: uuid() };
    send.disabled = true;
    try {
      const r = await api('POST', C(id) + '/reply', { body, idempotency_key: pending.key });
      pending = null;
      box.value = '';
      say(`Reply queued (${r.status || 'pending'}).`, 'ok');
      await load();
    } catch (e) {
      if (e.status === 409) say(`Not sent: ${e.message}. The lead may have opted out (STOP).`, 'error'); else fail(e);
    } finally { send.disabled = !canReply; }
  };
  every(3000, load);
  await load();
}

// ---- #/alerts ----
async function alerts(alive) {
  const d = await api('GET', '/admin/alerts?limit=50');
  if (!alive()) return;
  const sev = { critical: 'bad', warning: 'warn' };
  const list = h('div', { class: 'list', tid: 'alerts-list' }, (d.alerts || []).map((a) =>
    h('div', { class: 'row', tid: 'alert-row', 'data-kind': a.kind, 'data-severity': a.severity },
      line(badge(a.severity, sev[a.severity] || 'quiet'), h('strong', null, a.kind), a.plugin, a.version && sha(a.version), grow(),
        small(when(a.created_at_ms), ` · ${a.status}`)),
      h('div', null, a.message),
      a.fields && Object.keys(a.fields).length > 0 && small(Object.entries(a.fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')),
      a.conversation_id && h('div', { class: 'small' }, h('a', { href: '#/conversations/' + enc(a.conversation_id) }, 'Conversation')))));
  if (!list.childElementCount) list.append(empty('No alerts.'));
  fill(view, h('h1', null, 'Alerts'), list);
}

out.addEventListener('click', () => signOut('Signed out.', 'info'));
window.addEventListener('hashchange', route);
route();
