// Overdue acknowledgements in the staff view: a summary nobody acknowledged by the next
// morning's deadline is listed from GET /v1/inbox/overdue (patient, deadline, recipient's name), after
// a restart whose clock is days later, and leaves the list once its recipient acknowledges it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, setupNight, makePatient, launch, openPage, login, screenshot, until, iso, DESKTOP } from './harness.mjs';

let server;
let night;
let browser;

before(async () => {
  server = new Server();
  await server.start();
  night = await setupNight(server);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.dispose();
});

test('a summary past its acknowledgement deadline is listed until it is acknowledged', async () => {
  const { must, tokens } = night;
  const patientId = await makePatient(server, night, '山田 花子');
  const visit = await must(server.call('POST', '/v1/visits', {
    patientId, urgency: 'URGENT', reason: 'ACUTE_CHANGE', chiefComplaint: '発熱', vitals: {}, lifeThreatening: false, notes: '',
  }, tokens.nurse1), 'visit');

  // Whichever team is offered the visit takes it through to a summary over the API.
  const offered = await until(async () => {
    for (const doctor of ['doctor1', 'doctor2']) {
      const offers = (await server.call('GET', '/v1/offers', undefined, tokens[doctor])).json.offers;
      const offer = offers.find((o) => o.visitId === visit.id);
      if (offer) return { doctor, offer };
    }
    return null;
  }, 15000, 'the offer');
  const token = tokens[offered.doctor];
  await must(server.call('POST', `/v1/offers/${offered.offer.id}/accept`, {}, token), 'accept', 200);
  for (const step of ['depart', 'arrive', 'complete']) {
    await must(server.call('POST', `/v1/visits/${visit.id}/${step}`, {}, token), step, 200);
  }
  await must(server.call('POST', `/v1/visits/${visit.id}/summary`, {
    findings: '咽頭発赤', diagnoses: ['急性上気道炎'], treatment: '解熱剤', prescriptions: [],
    disposition: 'STAYED_HOME', instructionsForCareTeam: '明朝に検温', followUpForPrimaryDoctor: '再診を',
  }, token), 'summary');

  // Three days later every deadline (09:00 the next morning) has passed: the center's clock
  // jumps there with a restart; the earlier sessions have expired by then.
  await server.stop();
  server.clockStart = iso(Date.now() + 3 * 86400e3);
  await server.start();

  const staff = await openPage(browser, server, { device: DESKTOP });
  await login(staff, 'staff1', night.passwords.staff1);
  await staff.click('[data-tab=tabOverdue]');
  const row = (item) => `#overdue-list li[data-visit="${visit.id}"]${item ? `[data-item="${item}"]` : ''}`;
  // One item for the primary doctor, one for the requesting station.
  await until(async () => (await staff.$$(row())).length === 2, 15000, 'two overdue items');
  const texts = await staff.$$eval(row(), (els) => els.map((e) => e.textContent));
  assert.ok(texts.every((x) => x.includes('山田 花子')), texts.join(' | '));
  // Whom to call, by name (STAFF cannot read the accounts themselves).
  assert.ok(texts.some((x) => x.includes('Dr Primary')), texts.join(' | '));
  assert.ok(texts.some((x) => x.includes('Station A')), texts.join(' | '));
  await screenshot(staff, 'staff-overdue');

  // The primary doctor acknowledges: after a reload only the station's item is left.
  const primary = await must(server.call('POST', '/v1/login',
    { username: 'primary1', password: night.passwords.primary1 }), 'login primary1', 200);
  const inbox = (await server.call('GET', '/v1/inbox', undefined, primary.token)).json.items;
  const mine = inbox.find((i) => i.visitId === visit.id);
  assert.ok(mine, JSON.stringify(inbox));
  const ack = await server.call('POST', `/v1/inbox/${mine.id}/ack`, {}, primary.token);
  assert.equal(ack.status, 204, ack.text);
  await staff.click('#overdue-reload');
  await until(async () => (await staff.$$(row())).length === 1, 15000, 'one overdue item left');
  assert.equal(await staff.$$(row(mine.id)).then((x) => x.length), 0);
  assert.match(await staff.textContent(row()), /Station A/);

  const errors = staff.errors;
  await staff.context().close();
  assert.deepEqual(errors, [], 'console or page errors');
});
