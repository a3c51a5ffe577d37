// The inbox of visit summaries (primary doctor; nurse and care manager), with acknowledge.
import { t } from '../i18n.js';
import { h, fmtTime } from '../ui.js';

export function summaryBlock(s) {
  const line = (key, value) => value ? h('p', {}, h('strong', {}, t(key) + ': '), value) : null;
  return h('div', { class: 'summary' },
    line('findings', s.findings),
    line('diagnoses', (s.diagnoses || []).join(', ')),
    line('treatment', s.treatment),
    (s.prescriptions || []).length ? h('p', {}, h('strong', {}, t('prescriptions') + ': '),
      s.prescriptions.map((p) => `${p.drug} ${p.dose} × ${p.days}`).join(' / ')) : null,
    line('disposition', s.disposition ? t(s.disposition) + (s.destination ? ` (${s.destination})` : '') : ''),
    line('instructionsForCareTeam', s.instructionsForCareTeam),
    line('followUpForPrimaryDoctor', s.followUpForPrimaryDoctor),
    s.billing ? line('billing', `${s.billing.totalPoints} ${t('points')}`) : null);
}

/** An inbox panel; returns {el, refresh}. */
export function inboxPanel(api) {
  const list = h('ul', { class: 'plain', id: 'inbox-list' });
  const err = h('p', { class: 'form-err', role: 'alert' });
  const el = h('div', {}, h('h2', {}, t('inbox')), err, list);
  async function refresh() {
    let items;
    try {
      items = (await api.get('/v1/inbox')).items;
    } catch (e) {
      err.textContent = e.message;
      return;
    }
    err.textContent = '';
    items.sort((a, b) => String(b.summary?.createdAt || '').localeCompare(String(a.summary?.createdAt || '')));
    list.replaceChildren(...(items.length ? items.map(item) : [h('li', { class: 'muted' }, t('none'))]));
  }
  function item(it) {
    const acked = !!it.acknowledgedAt;
    const ackErr = h('p', { class: 'err', role: 'alert' });
    const ack = acked ? h('span', { class: 'status COMPLETED' }, `${t('acknowledged')} ${fmtTime(it.acknowledgedAt)}`)
      : h('button', { type: 'button', class: 'primary', 'data-ack': it.id, onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api.post(`/v1/inbox/${encodeURIComponent(it.id)}/ack`);
          await refresh();
        } catch (x) {
          ackErr.textContent = x.message;
          e.target.disabled = false;
        }
      } }, t('acknowledge'));
    return h('li', { class: 'card', 'data-item': it.id, 'data-visit': it.visitId, 'data-acked': String(acked) },
      h('p', { class: 'muted' }, `${fmtTime(it.summary?.createdAt)} · ${acked ? t('acknowledged') : t('unacknowledged')}`),
      it.summary ? summaryBlock(it.summary) : null, h('div', { class: 'row' }, ack), ackErr);
  }
  return { el, refresh };
}
