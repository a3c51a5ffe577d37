// Nurse and care manager: live status of my requests, the request form, my patients, my inbox.
import { t } from '../i18n.js';
import { h, field, form, val, num, enumSelect, select, fmtTime, statusBadge, tabs } from '../ui.js';
import { inboxPanel } from './inbox.js';

const OPEN = ['REQUESTED', 'OFFERED', 'ASSIGNED', 'EN_ROUTE', 'ON_SITE'];

export function requesterView({ api, root, user }) {
  let patients = [];
  let visits = [];
  let inbox = null;
  let redraw = () => {};

  const patientName = (id) => (patients.find((p) => p.id === id) || {}).name || id;

  async function load() {
    const [p, v] = await Promise.all([api.get('/v1/patients'), api.get('/v1/visits')]);
    patients = p.patients;
    visits = v.visits;
  }

  function requestsPanel(panel) {
    const list = h('ul', { class: 'plain', id: 'request-list' });
    panel.append(h('h2', {}, t('myRequests')), list);
    redraw = () => {
      const sorted = [...visits].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      list.replaceChildren(...(sorted.length ? sorted.map((v) => h('li', { class: 'card', 'data-visit': v.id, 'data-status': v.status },
        h('div', { class: 'row' }, statusBadge(v.status), h('strong', {}, patientName(v.patientId)), h('span', {}, t(v.urgency))),
        h('p', {}, v.chiefComplaint),
        h('p', { class: 'muted' }, `${t('requestedAt')} ${fmtTime(v.createdAt)}`,
          v.eta && OPEN.includes(v.status) ? h('span', { class: 'eta' }, ` · ${t('eta')} ${fmtTime(v.eta)}`) : null,
          v.rejectionCode ? ` · ${v.rejectionCode}` : null),
        OPEN.includes(v.status) && v.status !== 'ON_SITE' ? cancelForm(v) : null)) : [h('li', { class: 'muted' }, t('none'))]));
    };
    redraw();
  }

  // Cancelling a request (a pending offer is withdrawn from the team).
  function cancelForm(v) {
    const f = form([field('cancelReason', h('input', {}), 'reason')], 'cancel', async (fm) => {
      upsert(await api.post(`/v1/visits/${encodeURIComponent(v.id)}/cancel`, { reason: val(fm, 'reason') }));
    });
    f.classList.add('cancel-form');
    return h('details', {}, h('summary', {}, t('cancel')), f);
  }

  function requestPanel(panel) {
    const alert = h('div', { class: 'alert119', role: 'alert', id: 'alert119', hidden: true }, t('call119'), ' ',
      h('a', { href: 'tel:119', class: 'button', id: 'tel119' }, t('dial119')));
    const done = h('p', { class: 'notice ok', role: 'status', hidden: true });
    const life = h('input', { type: 'checkbox' });
    // The life-threatening box answers at once, before anything is sent.
    life.addEventListener('change', () => { alert.hidden = !life.checked; });
    const vitals = ['temperatureC', 'systolicBp', 'diastolicBp', 'pulse', 'spo2', 'respiratoryRate'];
    const f = form([
      field('patient', select([['', t('selectPatient')], ...patients.map((p) => [p.id, p.name])]), 'patientId'),
      h('div', { class: 'grid2' },
        field('urgency', enumSelect(['URGENT', 'SOON'], 'URGENT'), 'urgency'),
        field('reason', enumSelect(['ACUTE_CHANGE', 'END_OF_LIFE', 'DEATH_CONFIRMATION', 'OTHER'], 'ACUTE_CHANGE'), 'reason')),
      field('chiefComplaint', h('textarea', { maxlength: 2000 }), 'chiefComplaint'),
      h('fieldset', { class: 'card' }, h('legend', {}, t('vitals')), h('div', { class: 'grid3' },
        vitals.map((k) => field(k, h('input', { type: 'number', inputmode: 'decimal', step: k === 'temperatureC' ? '0.1' : '1' }), 'vitals.' + k)))),
      field('lifeThreatening', life, 'lifeThreatening'),
      alert,
      field('notes', h('textarea', {}), 'notes'),
    ], 'submitRequest', async (fm) => {
      done.hidden = true;
      const v = {};
      for (const k of vitals) {
        const x = num(fm, 'vitals.' + k);
        if (x !== undefined) v[k] = x;
      }
      const body = {
        patientId: val(fm, 'patientId'), urgency: val(fm, 'urgency'), reason: val(fm, 'reason'),
        chiefComplaint: val(fm, 'chiefComplaint'), vitals: v, lifeThreatening: life.checked, notes: val(fm, 'notes'),
      };
      try {
        const visit = await api.post('/v1/visits', body);
        upsert(visit);
        fm.reset();
        done.textContent = `${t('requestSent')} — ${t(visit.status)}`;
        done.hidden = false;
      } catch (e) {
        if (e.code === 'CALL_EMERGENCY_SERVICES') alert.hidden = false;
        // A refusal is still a recorded (REJECTED) visit: show it in the list too.
        if (e.visitId) { try { await load(); } catch { /* shown on the next refresh */ } }
        throw e;
      }
    });
    f.id = 'request-form';
    panel.append(h('h2', {}, t('newRequest')), f, done);
  }

  function patientsPanel(panel) {
    const list = h('ul', { class: 'plain', id: 'patient-list' },
      patients.length ? patients.map((p) => h('li', { class: 'card', 'data-patient': p.id },
        h('strong', {}, p.name), ` (${p.birthDate}) `, h('span', { class: 'muted' }, p.address))) : h('li', { class: 'muted' }, t('none')));
    const f = form([
      field('name', h('input', { autocomplete: 'off' }), 'name'),
      h('div', { class: 'grid2' },
        field('birthDate', h('input', { type: 'date' }), 'birthDate'),
        field('sex', enumSelect(['FEMALE', 'MALE', 'OTHER'], 'FEMALE'), 'sex')),
      field('address', h('input', {}), 'address'),
      h('div', { class: 'grid2', 'data-field': 'location' },
        field('lat', h('input', { type: 'number', step: 'any' }), 'location.lat'),
        field('lon', h('input', { type: 'number', step: 'any' }), 'location.lon')),
      field('primaryDoctorId', h('input', {}), 'primaryDoctorId'),
      field('careTeamOrganizationIds', h('input', { value: user.organizationId }), 'careTeamOrganizationIds'),
      field('sharingConsent', h('input', { type: 'checkbox', checked: true }), 'sharingConsent'),
      field('allergies', h('input', {}), 'allergies'),
      field('advanceCarePlan', h('textarea', {}), 'advanceCarePlan'),
      field('notes', h('textarea', {}), 'notes'),
    ], 'register', async (fm) => {
      const body = {
        name: val(fm, 'name'), birthDate: val(fm, 'birthDate'), sex: val(fm, 'sex'), address: val(fm, 'address'),
        location: { lat: num(fm, 'location.lat') ?? 0, lon: num(fm, 'location.lon') ?? 0 },
        primaryDoctorId: val(fm, 'primaryDoctorId'),
        careTeamOrganizationIds: val(fm, 'careTeamOrganizationIds').split(',').map((x) => x.trim()).filter(Boolean),
        sharingConsent: fm.elements.namedItem('sharingConsent').checked,
        allergies: val(fm, 'allergies'), advanceCarePlan: val(fm, 'advanceCarePlan'), notes: val(fm, 'notes'),
      };
      const p = await api.post('/v1/patients', body);
      patients.push(p);
      panel.replaceChildren();
      patientsPanel(panel);
    });
    f.id = 'patient-form';
    panel.append(h('h2', {}, t('patients')), list, h('h2', {}, t('registerPatient')), f);
  }

  function upsert(v) {
    const i = visits.findIndex((x) => x.id === v.id);
    if (i >= 0) visits[i] = v; else visits.push(v);
    redraw();
  }

  return {
    async render() {
      root.replaceChildren(h('p', {}, t('loading')));
      try { await load(); } catch (e) { root.replaceChildren(h('p', { class: 'form-err' }, e.message)); return; }
      root.replaceChildren();
      redraw = () => {};
      tabs(root, [
        { key: 'tabRequests', render: (p) => requestsPanel(p) },
        { key: 'tabNewRequest', render: (p) => { redraw = () => {}; requestPanel(p); } },
        { key: 'tabPatients', render: (p) => { redraw = () => {}; patientsPanel(p); } },
        { key: 'tabInbox', render: (p) => { redraw = () => {}; inbox = inboxPanel(api); p.append(inbox.el); inbox.refresh(); } },
      ], 'oshin.tab.requester');
    },
    async refresh() {
      try { await load(); } catch { return; }
      redraw();
      if (inbox && inbox.el.isConnected) inbox.refresh();
    },
    onEvent(ev) {
      if (ev.type === 'visitUpdated' && ev.visitUpdated) upsert(ev.visitUpdated);
      if (ev.type === 'visitSummary' && inbox && inbox.el.isConnected) inbox.refresh();
    },
  };
}
