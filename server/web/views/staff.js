// Center staff: live board (SVG plot around the center), teams and shifts, the visit log,
// demand charts, billing and payroll with CSV download, overdue acknowledgements.
import { t } from '../i18n.js';
import { h, s, field, form, val, num, enumSelect, select, fmtTime, statusBadge, tabs, table } from '../ui.js';

const OPEN = ['REQUESTED', 'OFFERED', 'ASSIGNED', 'EN_ROUTE', 'ON_SITE'];
const STATUSES = [...OPEN, 'COMPLETED', 'CANCELLED', 'REJECTED'];
const TARGET = { URGENT: 60, SOON: 180 };

function isoLocal(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function toIso(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

/** Minutes from request to arrival, from the visit's history; null when it never arrived. */
export function responseMinutes(v) {
  const arrived = (v.history || []).find((c) => c.status === 'ON_SITE');
  if (!arrived) return null;
  return (new Date(arrived.at).getTime() - new Date(v.createdAt).getTime()) / 60000;
}

export function staffView({ api, root }) {
  let center = null;
  let teams = [];
  let visits = [];
  let patients = [];
  let redraw = () => {};
  let reloadOverdue = null;  // set while the overdue tab is shown

  const patientById = (id) => patients.find((p) => p.id === id);

  async function loadBoard() {
    const [c, tm, v, p] = await Promise.all([
      center ? Promise.resolve(center) : api.get('/v1/center'),
      api.get('/v1/teams'), api.get('/v1/visits'), api.get('/v1/patients')]);
    center = c;
    teams = tm.teams;
    visits = v.visits;
    patients = p.patients;
  }

  // ---- board
  function plot() {
    const R = center.serviceRadiusKm;
    const lat0 = center.location.lat;
    const lon0 = center.location.lon;
    const kx = 111.32 * Math.cos((lat0 * Math.PI) / 180);
    const ky = 110.574;
    const size = 400;
    const scale = (size / 2 - 20) / (R * 1.15);
    const xy = (loc) => [size / 2 + (loc.lon - lon0) * kx * scale, size / 2 - (loc.lat - lat0) * ky * scale];
    const clamp = ([x, y]) => [Math.min(size - 6, Math.max(6, x)), Math.min(size - 6, Math.max(6, y))];
    // Labels of points at the same place are stacked instead of drawn over each other.
    const placed = [[size / 2 + 9, size / 2 + 4]];
    const labelAt = (x, y) => {
      let ly = y + 4;
      while (placed.some(([px, py]) => Math.abs(px - (x + 9)) < 80 && Math.abs(py - ly) < 13)) ly += 13;
      placed.push([x + 9, ly]);
      return ly;
    };
    const items = [
      s('title', {}, t('map')),
      s('circle', { cx: size / 2, cy: size / 2, r: R * scale, fill: '#f0f6fd', stroke: '#0b5cad', 'stroke-dasharray': '6 4' }),
      s('text', { x: size / 2 + R * scale * 0.7 + 4, y: size / 2 - R * scale * 0.7, 'font-size': 12, fill: '#0b5cad' }, `${R} km`),
      s('rect', { x: size / 2 - 6, y: size / 2 - 6, width: 12, height: 12, fill: '#0b5cad' }),
      s('text', { x: size / 2 + 9, y: size / 2 + 4, 'font-size': 12 }, t('center')),
    ];
    for (const tm of teams) {
      if (!tm.location) continue;
      const [x, y] = clamp(xy(tm.location));
      items.push(s('g', { class: 'team-dot', 'data-team': tm.id },
        s('title', {}, `${tm.vehicle} ${t(tm.status)}`),
        s('polygon', { points: `${x},${y - 8} ${x - 7},${y + 6} ${x + 7},${y + 6}`, fill: tm.status === 'AVAILABLE' ? '#1e7b34' : '#a15c00' }),
        s('text', { x: x + 9, y: labelAt(x, y), 'font-size': 11 }, tm.vehicle)));
    }
    for (const v of visits.filter((x) => OPEN.includes(x.status))) {
      const p = patientById(v.patientId);
      if (!p || !p.location) continue;
      const [x, y] = clamp(xy(p.location));
      items.push(s('g', { class: 'visit-dot', 'data-visit': v.id },
        s('title', {}, `${p.name} ${t(v.status)}`),
        s('circle', { cx: x, cy: y, r: 7, fill: v.urgency === 'URGENT' ? '#b3261e' : '#e08a00' }),
        s('text', { x: x + 9, y: labelAt(x, y), 'font-size': 11 }, p.name)));
    }
    return s('svg', { class: 'plot', id: 'board-plot', viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': t('map') }, items);
  }

  function boardPanel(panel) {
    const body = h('div', {});
    panel.append(body);
    redraw = () => {
      const open = visits.filter((v) => OPEN.includes(v.status));
      body.replaceChildren(
        h('h2', {}, t('openVisits')),
        table([t('status'), t('patient'), t('urgency'), t('chiefComplaint'), t('requestedAt'), t('eta'), t('team')],
          open.map((v) => h('tr', { 'data-visit': v.id }, h('td', {}, statusBadge(v.status)),
            h('td', {}, (patientById(v.patientId) || {}).name || v.patientId), h('td', {}, t(v.urgency)),
            h('td', {}, v.chiefComplaint), h('td', {}, fmtTime(v.createdAt)), h('td', {}, fmtTime(v.eta)),
            h('td', {}, (teams.find((x) => x.id === v.teamId) || {}).vehicle || '')))),
        h('h2', {}, t('teams')),
        table([t('vehicle'), t('status'), t('shiftStart'), t('shiftEnd')],
          teams.map((x) => h('tr', { 'data-team': x.id }, h('td', {}, x.vehicle), h('td', {}, t(x.status)),
            h('td', {}, fmtTime(x.shiftStart)), h('td', {}, fmtTime(x.shiftEnd))))),
        h('h2', {}, t('map')), center ? plot() : null);
    };
    redraw();
  }

  // ---- teams and shifts
  function teamsPanel(panel) {
    const now = new Date();
    const f = form([
      h('div', { class: 'grid2' },
        field('doctorId', h('input', {}), 'doctorId'),
        field('driverId', h('input', {}), 'driverId')),
      field('vehicle', h('input', {}), 'vehicle'),
      h('div', { class: 'grid2' },
        field('shiftStart', h('input', { type: 'datetime-local', value: isoLocal(now) }), 'shiftStart'),
        field('shiftEnd', h('input', { type: 'datetime-local', value: isoLocal(new Date(now.getTime() + 14 * 3600e3)) }), 'shiftEnd')),
      h('div', { class: 'grid2', 'data-field': 'base' },
        field('baseLat', h('input', { type: 'number', step: 'any', value: center ? center.location.lat : '' }), 'base.lat'),
        field('baseLon', h('input', { type: 'number', step: 'any', value: center ? center.location.lon : '' }), 'base.lon')),
      h('fieldset', { class: 'card', 'data-field': 'skills' }, h('legend', {}, t('skills')),
        ['PEDIATRIC', 'PALLIATIVE', 'RESPIRATORY'].map((k) => field(k, h('input', { type: 'checkbox', value: k }), 'skill.' + k)),
        h('p', { class: 'err' })),
    ], 'createTeam', async (fm) => {
      const body = {
        doctorId: val(fm, 'doctorId'), driverId: val(fm, 'driverId'), vehicle: val(fm, 'vehicle'),
        shiftStart: toIso(val(fm, 'shiftStart')), shiftEnd: toIso(val(fm, 'shiftEnd')),
        base: { lat: num(fm, 'base.lat') ?? 0, lon: num(fm, 'base.lon') ?? 0 },
        skills: ['PEDIATRIC', 'PALLIATIVE', 'RESPIRATORY'].filter((k) => fm.elements.namedItem('skill.' + k).checked),
      };
      const team = await api.post('/v1/teams', body);
      teams.push(team);
      panel.replaceChildren();
      teamsPanel(panel);
    });
    f.id = 'team-form';
    panel.append(h('h2', {}, t('teams')),
      table(['ID', t('vehicle'), t('status'), t('shiftStart'), t('shiftEnd'), t('skills')],
        teams.map((x) => h('tr', { 'data-team': x.id }, h('td', {}, x.id), h('td', {}, x.vehicle), h('td', {}, t(x.status)),
          h('td', {}, fmtTime(x.shiftStart)), h('td', {}, fmtTime(x.shiftEnd)), h('td', {}, (x.skills || []).map(t).join(', '))))),
      h('h2', {}, t('createTeam')), f);
  }

  // ---- visit log
  function logPanel(panel) {
    const out = h('div', { id: 'log-result' });
    const f = form([
      h('div', { class: 'grid2' },
        field('status', select([['', t('all')], ...STATUSES.map((x) => [x, t(x)])]), 'status'),
        field('patientId', h('input', {}), 'patientId'),
        field('from', h('input', { type: 'datetime-local' }), 'from'),
        field('to', h('input', { type: 'datetime-local' }), 'to')),
    ], 'filter', async (fm) => {
      const q = new URLSearchParams();
      for (const k of ['status', 'patientId']) if (val(fm, k)) q.set(k, val(fm, k));
      for (const k of ['from', 'to']) if (val(fm, k)) q.set(k, toIso(val(fm, k)));
      const r = await api.get('/v1/visits' + (q.toString() ? '?' + q : ''));
      show(r.visits);
    });
    f.id = 'log-form';
    function show(list) {
      const sorted = [...list].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      out.replaceChildren(h('p', { class: 'muted' }, `${t('count')}: ${sorted.length}`),
        table([t('requestedAt'), t('status'), t('patient'), t('urgency'), t('reason'), t('chiefComplaint'), t('responseStats')],
          sorted.map((v) => {
            const m = responseMinutes(v);
            return h('tr', { 'data-visit': v.id }, h('td', {}, fmtTime(v.createdAt)), h('td', {}, statusBadge(v.status)),
              h('td', {}, (patientById(v.patientId) || {}).name || v.patientId), h('td', {}, t(v.urgency)), h('td', {}, t(v.reason)),
              h('td', {}, v.chiefComplaint), h('td', { class: 'num' }, m === null ? '—' : m.toFixed(1)));
          })));
    }
    panel.append(h('h2', {}, t('tabLog')), f, out);
    show(visits);
  }

  // ---- period form shared by charts, billing, payroll
  function periodForm(onPeriod) {
    const now = new Date();
    const from = new Date(now.getTime() - 30 * 86400e3);
    const to = new Date(now.getTime() + 86400e3);
    const f = form([h('div', { class: 'grid2' },
      field('from', h('input', { type: 'datetime-local', value: isoLocal(from) }), 'from'),
      field('to', h('input', { type: 'datetime-local', value: isoLocal(to) }), 'to'))],
    'filter', async (fm) => onPeriod(toIso(val(fm, 'from')), toIso(val(fm, 'to'))));
    return f;
  }

  function unavailable() {
    return h('p', { class: 'unavailable', 'data-unavailable': 'true' }, t('unavailable'));
  }

  // A report answered 404 (a server without the report endpoints) shows "not available".
  async function report(path, from, to) {
    try {
      return await api.get(`${path}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    } catch (e) {
      if (e.status === 404 && e.code === 'NOT_FOUND') return null;
      throw e;
    }
  }

  function heatMap(rows) {
    const days = t('weekdays').split(',');
    const max = Math.max(1, ...rows.flatMap((r) => r.hours || []));
    const cw = 22, ch = 22, left = 34, top = 18;
    const cells = [];
    for (let hr = 0; hr < 24; hr += 3) cells.push(s('text', { x: left + hr * cw + 2, y: 12, 'font-size': 10 }, String(hr)));
    for (const r of rows) {
      cells.push(s('text', { x: 2, y: top + r.weekday * ch + 15, 'font-size': 11 }, days[r.weekday] || r.weekday));
      (r.hours || []).forEach((n, hr) => {
        const a = n / max;
        cells.push(s('rect', { x: left + hr * cw, y: top + r.weekday * ch, width: cw - 2, height: ch - 2,
          fill: n ? `rgba(179,38,30,${(0.15 + 0.85 * a).toFixed(2)})` : '#eef1f4', 'data-count': n,
          'data-cell': `${r.weekday}-${hr}` }, s('title', {}, `${days[r.weekday]} ${hr}:00 — ${n}`)));
      });
    }
    return s('svg', { class: 'chart', id: 'heatmap', viewBox: `0 0 ${left + 24 * cw} ${top + 7 * ch}`, role: 'img', 'aria-label': t('heatMap') }, cells);
  }

  /** Histogram of request → arrival minutes per urgency, from the visits' own history. */
  function histogram(list) {
    const bins = [0, 15, 30, 45, 60, 90, 120, 180, 240];
    const labels = bins.map((b, i) => (i + 1 < bins.length ? `${b}–${bins[i + 1]}` : `${b}+`));
    const counts = { URGENT: bins.map(() => 0), SOON: bins.map(() => 0) };
    for (const v of list) {
      const m = responseMinutes(v);
      if (m === null || !counts[v.urgency]) continue;
      let i = bins.length - 1;
      while (i > 0 && m < bins[i]) i -= 1;
      counts[v.urgency][i] += 1;
    }
    const max = Math.max(1, ...counts.URGENT, ...counts.SOON);
    const bw = 44, H = 120, top = 10, left = 8;
    const parts = [];
    bins.forEach((_, i) => {
      ['URGENT', 'SOON'].forEach((u, j) => {
        const n = counts[u][i];
        const hgt = (n / max) * H;
        parts.push(s('rect', { x: left + i * bw + j * 18, y: top + H - hgt, width: 16, height: hgt,
          fill: u === 'URGENT' ? '#b3261e' : '#e08a00', 'data-urgency': u, 'data-bin': labels[i], 'data-count': n },
        s('title', {}, `${t(u)} ${labels[i]}: ${n}`)));
        if (n) parts.push(s('text', { x: left + i * bw + j * 18 + 3, y: top + H - hgt - 2, 'font-size': 9 }, String(n)));
      });
      parts.push(s('text', { x: left + i * bw, y: top + H + 14, 'font-size': 9 }, labels[i]));
    });
    return h('div', {}, s('svg', { class: 'chart', id: 'histogram', viewBox: `0 0 ${left + bins.length * bw} ${top + H + 20}`, role: 'img', 'aria-label': t('histogram') }, parts),
      h('p', { class: 'legend' }, h('span', { class: 'status REJECTED' }, t('URGENT')), ' ', h('span', { class: 'status OFFERED' }, t('SOON'))));
  }

  function chartsPanel(panel) {
    const out = h('div', { id: 'charts' });
    const run = async (from, to) => {
      const [demand, v] = await Promise.all([report('/v1/reports/demand', from, to),
        api.get(`/v1/visits?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)]);
      const parts = [];
      parts.push(h('h3', {}, t('histogram')), histogram(v.visits));
      parts.push(h('h3', {}, t('heatMap')));
      if (!demand) {
        parts.push(h('div', { id: 'demand' }, unavailable()));
      } else {
        parts.push(h('div', { id: 'demand' },
          h('p', {}, `${t('demandTotal')}: `, h('strong', { id: 'demand-total' }, String(demand.total))),
          heatMap(demand.byWeekdayHour || []),
          h('h3', {}, t('responseStats')),
          table([t('urgency'), t('count'), 'p50', 'p90', 'max', t('withinTarget')],
            Object.entries(demand.responseMinutes || {}).map(([u, r]) => h('tr', { 'data-urgency': u }, h('td', {}, t(u)),
              h('td', { class: 'num' }, r.count), h('td', { class: 'num' }, (r.p50 ?? 0).toFixed(1)), h('td', { class: 'num' }, (r.p90 ?? 0).toFixed(1)),
              h('td', { class: 'num' }, (r.max ?? 0).toFixed(1)), h('td', { class: 'num' }, `${Math.round((r.withinTarget ?? 0) * 100)}% (≤${TARGET[u] ?? '?'})`)))),
          h('h3', {}, t('refusals')),
          table([t('reason'), t('count')], Object.entries(demand.refusals || {}).map(([k, n]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, n))))));
      }
      out.replaceChildren(...parts);
    };
    const f = periodForm(run);
    f.id = 'charts-form';
    panel.append(h('h2', {}, t('tabCharts')), f, out);
    f.requestSubmit();
  }

  function csvLink(path, from, to, name) {
    const err = h('p', { class: 'err', role: 'alert' });
    const button = h('button', { type: 'button', class: 'csv', onclick: async () => {
      try {
        const blob = await api.get(`${path}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, { accept: 'text/csv', raw: true });
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) { err.textContent = e.message; }
    } }, t('downloadCsv'));
    return h('div', { class: 'row' }, button, err);
  }

  function billingPanel(panel) {
    const out = h('div', { id: 'billing' });
    const f = periodForm(async (from, to) => {
      const r = await report('/v1/reports/billing', from, to);
      if (!r) { out.replaceChildren(unavailable()); return; }
      out.replaceChildren(
        h('p', {}, `${t('totalPoints')}: `, h('strong', { id: 'billing-total' }, String(r.totalPoints)), r.feeTable ? ` · ${r.feeTable}` : ''),
        table([t('visits'), t('startedAt'), t('timeBand'), t('billing'), t('totalPoints')],
          (r.visits || []).map((v) => h('tr', { 'data-visit': v.visitId }, h('td', {}, v.visitId), h('td', {}, fmtTime(v.startedAt)),
            h('td', {}, `${v.timeBand} ${v.timeBandReason || ''}`), h('td', {}, (v.items || []).map((i) => `${i.code} ${i.name} ${i.points}`).join(' / ')),
            h('td', { class: 'num' }, v.totalPoints)))),
        csvLink('/v1/reports/billing', from, to, 'billing.csv'));
    });
    f.id = 'billing-form';
    panel.append(h('h2', {}, t('tabBilling')), f, out);
    f.requestSubmit();
  }

  function payrollPanel(panel) {
    const out = h('div', { id: 'payroll' });
    const f = periodForm(async (from, to) => {
      const r = await report('/v1/reports/payroll', from, to);
      if (!r) { out.replaceChildren(unavailable()); return; }
      out.replaceChildren(
        table(['ID', t('role'), t('visits'), t('workedMinutes'), t('pay'), t('overMonthlyCap')],
          (r.people || []).map((p) => h('tr', { 'data-user': p.userId }, h('td', {}, p.displayName || p.userId), h('td', {}, t('role_' + p.role)),
            h('td', { class: 'num' }, p.visits), h('td', { class: 'num' }, Number(p.workedMinutes || 0).toFixed(0)),
            h('td', { class: 'num' }, Math.round(p.pay || 0).toLocaleString()), h('td', {}, p.overMonthlyCap ? '⚠' : '')))),
        csvLink('/v1/reports/payroll', from, to, 'payroll.csv'));
    });
    f.id = 'payroll-form';
    panel.append(h('h2', {}, t('tabPayroll')), f, out);
    f.requestSubmit();
  }

  // The server's list is the truth (it drops acknowledged items and holds those whose
  // ackOverdue event this page missed); an ackOverdue event reloads it.
  function overduePanel(panel) {
    const list = h('ul', { class: 'plain', id: 'overdue-list' });
    const err = h('p', { class: 'form-err' });
    const reload = h('button', { type: 'button', id: 'overdue-reload' }, t('refresh'));
    let items = null;
    const draw = () => {
      list.replaceChildren(...(items && items.length ? items.map((it) => {
        const v = visits.find((x) => x.id === it.visitId);
        const p = v && patientById(v.patientId);
        const who = it.recipientId ? `${t('recipient')} ${it.recipientName || it.recipientId}`
          : `${t('recipientOrganization')} ${it.recipientName || it.recipientOrganizationId}`;
        return h('li', { class: 'card', 'data-item': it.id, 'data-visit': it.visitId },
          h('strong', {}, p ? p.name : it.visitId),
          ` · ${t('ackDueAt')} ${fmtTime(it.ackDueAt)} · ${who}`);
      }) : [h('li', { class: 'muted' }, items ? t('none') : t('loading'))]));
    };
    const load = async () => {
      try {
        items = (await api.get('/v1/inbox/overdue')).items;
        err.textContent = '';
      } catch (e) {
        err.textContent = e.message;
      }
      draw();
    };
    reload.addEventListener('click', load);
    panel.append(h('h2', {}, t('overdue')), reload, err, list);
    reloadOverdue = load;
    redraw = draw;
    draw();
    load();
  }

  function upsert(v) {
    const i = visits.findIndex((x) => x.id === v.id);
    if (i >= 0) visits[i] = v; else visits.push(v);
  }

  return {
    async render() {
      root.replaceChildren(h('p', {}, t('loading')));
      try { await loadBoard(); } catch (e) { root.replaceChildren(h('p', { class: 'form-err' }, e.message)); return; }
      root.replaceChildren();
      const wrap = (fn) => (p) => { redraw = () => {}; reloadOverdue = null; fn(p); };
      tabs(root, [
        { key: 'tabBoard', render: wrap(boardPanel) },
        { key: 'tabTeams', render: wrap(teamsPanel) },
        { key: 'tabLog', render: wrap(logPanel) },
        { key: 'tabCharts', render: wrap(chartsPanel) },
        { key: 'tabBilling', render: wrap(billingPanel) },
        { key: 'tabPayroll', render: wrap(payrollPanel) },
        { key: 'tabOverdue', render: wrap(overduePanel) },
      ], 'oshin.tab.staff');
    },
    async refresh() {
      try { await loadBoard(); } catch { return; }
      redraw();
      if (reloadOverdue) reloadOverdue();
    },
    async onEvent(ev) {
      if (ev.type === 'visitUpdated' && ev.visitUpdated) {
        upsert(ev.visitUpdated);
        if (!patientById(ev.visitUpdated.patientId)) {
          try { patients = (await api.get('/v1/patients')).patients; } catch { /* shown on the next refresh */ }
        }
        try { teams = (await api.get('/v1/teams')).teams; } catch { /* idem */ }
        redraw();
      }
      if (ev.type === 'ackOverdue' && ev.ackOverdue && reloadOverdue) {
        reloadOverdue();
      }
    },
  };
}
