// Doctor and driver, phone first: the current offer with its countdown, accept / decline, the
// current visit with navigation and progress buttons, and (doctor) the summary form.
import { t } from '../i18n.js';
import { h, field, form, val, enumSelect, fmtTime, statusBadge } from '../ui.js';

const ACTIVE = ['ASSIGNED', 'EN_ROUTE', 'ON_SITE'];

export function teamView({ api, root, user }) {
  let offers = [];
  let visits = [];
  let team = null;
  let patient = null;
  let message = '';
  let ticker = null;
  const isDoctor = user.role === 'DOCTOR';

  async function load() {
    const [o, v, tm] = await Promise.all([api.get('/v1/offers'), api.get('/v1/visits'), api.get('/v1/teams')]);
    offers = o.offers;
    visits = v.visits;
    team = tm.teams[0] || null;
    const cur = currentVisit();
    // The team may read the patient only while its visit is active; a completed visit awaiting
    // its summary keeps what was read before.
    if (!cur) {
      patient = null;
    } else if (ACTIVE.includes(cur.status)) {
      if (!patient || patient.id !== cur.patientId) {
        try { patient = await api.get(`/v1/patients/${encodeURIComponent(cur.patientId)}`); } catch { patient = null; }
      }
    } else if (patient && patient.id !== cur.patientId) {
      patient = null;
    }
  }

  function currentVisit() {
    const active = visits.find((v) => ACTIVE.includes(v.status));
    if (active) return active;
    // A completed visit still needs its summary from the doctor.
    return isDoctor ? visits.find((v) => v.status === 'COMPLETED' && !v.summaryId) : undefined;
  }

  function countdown(expiresAt) {
    const el = h('span', { class: 'countdown', 'aria-live': 'off', 'data-expires': expiresAt });
    const tick = () => {
      const left = Math.max(0, Math.round((new Date(expiresAt).getTime() - Date.now()) / 1000));
      el.textContent = `${t('remaining')} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    };
    tick();
    return el;
  }

  function offerCard(o) {
    const err = h('p', { class: 'form-err', role: 'alert' });
    const accept = h('button', { type: 'button', class: 'primary', id: 'accept', onclick: async () => {
      accept.disabled = true;
      try {
        await api.post(`/v1/offers/${encodeURIComponent(o.id)}/accept`);
        await refresh();
      } catch (e) { err.textContent = e.message; accept.disabled = false; }
    } }, t('accept'));
    const df = form([field('declineReason', h('input', {}), 'reason')], 'decline', async (fm) => {
      await api.post(`/v1/offers/${encodeURIComponent(o.id)}/decline`, { reason: val(fm, 'reason') });
      await refresh();
    });
    df.id = 'decline-form';
    const p = o.patient || {};
    return h('div', { class: 'card', id: 'offer', 'data-offer': o.id, 'data-visit': o.visitId },
      h('h2', {}, t('currentOffer')), countdown(o.expiresAt),
      h('p', {}, h('strong', {}, t(o.urgency)), ' · ', t(o.reason)),
      h('p', { class: 'complaint' }, o.chiefComplaint),
      h('p', {}, h('strong', {}, p.name || ''), ' ', p.address || ''),
      p.allergies ? h('p', {}, `${t('allergies')}: ${p.allergies}`) : null,
      p.advanceCarePlan ? h('p', {}, `${t('advanceCarePlan')}: ${p.advanceCarePlan}`) : null,
      h('p', { class: 'muted' }, `${t('eta')} ${fmtTime(o.eta)}`),
      h('div', { class: 'row' }, accept), err, df);
  }

  function visitCard(v) {
    const err = h('p', { class: 'form-err', role: 'alert' });
    const step = (key, allowed) => h('button', { type: 'button', class: 'primary', id: key, disabled: v.status !== allowed ? true : undefined,
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api.post(`/v1/visits/${encodeURIComponent(v.id)}/${key}`);
          await refresh();
        } catch (x) { err.textContent = x.message; e.target.disabled = false; }
      } }, t(key));
    const loc = patient && patient.location;
    const geo = loc ? `geo:${loc.lat},${loc.lon}?q=${loc.lat},${loc.lon}` : null;
    return h('div', { class: 'card', id: 'visit', 'data-visit': v.id, 'data-status': v.status },
      h('h2', {}, t('currentVisit')),
      h('div', { class: 'row' }, statusBadge(v.status), h('strong', {}, t(v.urgency))),
      h('p', {}, v.chiefComplaint),
      patient ? h('p', {}, h('strong', {}, patient.name), ' ', h('span', { id: 'address' }, patient.address)) : null,
      patient && patient.allergies ? h('p', {}, `${t('allergies')}: ${patient.allergies}`) : null,
      geo ? h('p', {}, h('a', { class: 'button', id: 'navigate', href: geo }, t('navigate'))) : null,
      h('div', { class: 'row' }, step('depart', 'ASSIGNED'), step('arrive', 'EN_ROUTE'), step('complete', 'ON_SITE')),
      err,
      isDoctor && ['ON_SITE', 'COMPLETED'].includes(v.status) && !v.summaryId ? summaryForm(v) : null);
  }

  function summaryForm(v) {
    const dest = field('destination', h('input', {}), 'destination');
    const disp = enumSelect(['STAYED_HOME', 'TRANSFERRED_TO_HOSPITAL', 'DECEASED'], 'STAYED_HOME');
    const f = form([
      field('findings', h('textarea', {}), 'findings'),
      field('diagnoses', h('textarea', {}), 'diagnoses', t('diagnosesHelp')),
      field('treatment', h('textarea', {}), 'treatment'),
      field('prescriptions', h('textarea', {}), 'prescriptions', t('prescriptionsHelp')),
      field('disposition', disp, 'disposition'),
      dest,
      field('instructionsForCareTeam', h('textarea', {}), 'instructionsForCareTeam'),
      field('followUpForPrimaryDoctor', h('textarea', {}), 'followUpForPrimaryDoctor'),
    ], 'submitSummary', async (fm) => {
      const lines = (name) => val(fm, name).split('\n').map((x) => x.trim()).filter(Boolean);
      const body = {
        findings: val(fm, 'findings'), diagnoses: lines('diagnoses'), treatment: val(fm, 'treatment'),
        prescriptions: lines('prescriptions').map((l) => {
          const [drug = '', dose = '', days = ''] = l.split(',').map((x) => x.trim());
          return { drug, dose, days: days === '' ? 0 : Number.parseInt(days, 10) || 0 };
        }),
        disposition: val(fm, 'disposition'),
        instructionsForCareTeam: val(fm, 'instructionsForCareTeam'),
        followUpForPrimaryDoctor: val(fm, 'followUpForPrimaryDoctor'),
      };
      if (val(fm, 'destination')) body.destination = val(fm, 'destination');
      await api.post(`/v1/visits/${encodeURIComponent(v.id)}/summary`, body);
      message = t('summarySent');
      await refresh();
    });
    f.id = 'summary-form';
    return h('div', {}, h('h3', {}, t('summaryForm')), f);
  }

  let drawn = '';

  function draw(force) {
    const cur = currentVisit();
    // Redraw only when something shown changed, so a late event never wipes a form being filled.
    const sig = JSON.stringify([message, team && team.status, offers.map((o) => o.id),
      cur && [cur.id, cur.status, cur.summaryId], patient && patient.id]);
    if (!force && sig === drawn && root.querySelector('#no-offer, #offer')) return;
    drawn = sig;
    clearInterval(ticker);
    const parts = [];
    if (message) parts.push(h('p', { class: 'notice ok', role: 'status', id: 'message' }, message));
    if (team) {
      parts.push(h('p', { class: 'muted', id: 'team' }, `${t('myTeam')}: ${team.vehicle} · ${t('teamStatus')} `,
        h('span', { class: 'status', 'data-status': team.status }, t(team.status))));
    }
    const offer = offers.length ? offerCard(offers[0])
      : h('div', { class: 'card', id: 'no-offer' }, h('h2', {}, t('currentOffer')), h('p', { class: 'muted' }, t('noOffer')));
    const visit = cur ? visitCard(cur)
      : h('div', { class: 'card', id: 'no-visit' }, h('h2', {}, t('currentVisit')), h('p', { class: 'muted' }, t('noVisit')));
    // What needs the user now comes first: a pending offer, else the visit in progress.
    if (cur && !offers.length) parts.push(visit, offer); else parts.push(offer, visit);
    root.replaceChildren(...parts);
    ticker = setInterval(() => {
      root.querySelectorAll('.countdown').forEach((el) => {
        const left = Math.max(0, Math.round((new Date(el.dataset.expires).getTime() - Date.now()) / 1000));
        el.textContent = `${t('remaining')} ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
      });
    }, 1000);
  }

  // Events can come in bursts (a replay after a reconnect): one reload at a time, plus one more
  // when anything arrived meanwhile.
  let loading = null;
  let again = false;
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        try { await load(); } catch (e) { message = e.message; }
      } while (again);
      draw();
    })();
    try { await loading; } finally { loading = null; }
  }

  return {
    async render() {
      root.replaceChildren(h('p', {}, t('loading')));
      try { await load(); } catch (e) { message = e.message; }
      draw(true);
    },
    refresh,
    onEvent(ev) {
      if (ev.type === 'offerWithdrawn' && ev.offerWithdrawn?.reason !== 'ACCEPTED') message = t('offerGone');
      if (ev.type === 'offer') message = '';
      if (['offer', 'offerWithdrawn', 'visitUpdated'].includes(ev.type)) refresh();
    },
  };
}
