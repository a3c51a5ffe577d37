// The staff's reports in the browser: demand charts, billing and payroll with CSV download.
// Needs GET /v1/reports/{demand,billing,payroll} (API.md "Clinic operations"); registered in ctest
// as browser_reports, DISABLED until the reports branch is merged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Server, setupNight, makePatient, launch, openPage, login, screenshot, until, DESKTOP } from './harness.mjs';

let server;
let night;
let browser;
let visitId;

before(async () => {
  server = new Server();
  await server.start();
  night = await setupNight(server);
  browser = await launch();
  // One visit from request to summary, over the API.
  const patientId = await makePatient(server, night, '山田 花子');
  const { must, tokens } = night;
  const visit = await must(server.call('POST', '/v1/visits', {
    patientId, urgency: 'URGENT', reason: 'ACUTE_CHANGE', chiefComplaint: 'fever', vitals: {}, lifeThreatening: false, notes: '',
  }, tokens.nurse1), 'visit');
  visitId = visit.id;
  const offer = await until(async () => (await server.call('GET', '/v1/offers', undefined, tokens.doctor1)).json.offers[0], 15000, 'offer');
  await must(server.call('POST', `/v1/offers/${offer.id}/accept`, {}, tokens.doctor1), 'accept', 200);
  for (const step of ['depart', 'arrive', 'complete']) {
    await must(server.call('POST', `/v1/visits/${visitId}/${step}`, {}, tokens.driver1), step, 200);
  }
  await must(server.call('POST', `/v1/visits/${visitId}/summary`, {
    findings: 'ok', diagnoses: ['pneumonia'], treatment: 'iv', prescriptions: [], disposition: 'STAYED_HOME',
    instructionsForCareTeam: 'watch', followUpForPrimaryDoctor: 'see tomorrow',
  }, tokens.doctor1), 'summary');
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.dispose();
});

test('staff see the demand heat map, response times, billing and payroll, and download CSV', async () => {
  const staff = await openPage(browser, server, { device: DESKTOP });
  await login(staff, 'staff1', night.passwords.staff1);

  await staff.click('[data-tab=tabCharts]');
  await staff.waitForSelector('#demand-total');
  assert.ok(Number(await staff.textContent('#demand-total')) >= 1);
  assert.equal(await staff.locator('#heatmap rect').count(), 7 * 24);
  assert.ok(await staff.locator('#heatmap rect:not([data-count="0"])').count() >= 1);
  await staff.waitForSelector('#demand tr[data-urgency=URGENT]');
  await staff.waitForSelector('#histogram rect[data-urgency=URGENT][data-count="1"]');
  assert.equal(await staff.locator('[data-unavailable]').count(), 0);
  await screenshot(staff, 'staff-demand');

  await staff.click('[data-tab=tabBilling]');
  await staff.waitForSelector(`#billing tr[data-visit="${visitId}"]`);
  assert.ok(Number(await staff.textContent('#billing-total')) > 0);
  const [download] = await Promise.all([staff.waitForEvent('download'), staff.click('#billing button.csv')]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\uFEFF'), 'CSV starts with a BOM');
  assert.ok(csv.trim().split(/\r?\n/).length >= 2, 'header and one row');
  await screenshot(staff, 'staff-billing');

  await staff.click('[data-tab=tabPayroll]');
  await staff.waitForSelector(`#payroll tr[data-user="${night.ids.doctor1}"]`);
  await staff.waitForSelector(`#payroll tr[data-user="${night.ids.driver1}"]`);
  const [pd] = await Promise.all([staff.waitForEvent('download'), staff.click('#payroll button.csv')]);
  assert.ok(readFileSync(await pd.path(), 'utf8').startsWith('\uFEFF'));
  await screenshot(staff, 'staff-payroll');

  const errors = staff.errors;
  await staff.context().close();
  assert.deepEqual(errors, []);
});
