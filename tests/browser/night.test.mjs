// A whole night in the browser: separate contexts for the nurse, the doctors, the driver, the
// primary doctor and the staff, against the real oshin-server. Run by ctest (label `browser`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, setupNight, makePatient, launch, openPage, login, screenshot, until, PHONE, DESKTOP, CENTER } from './harness.mjs';

let server;
let night;
let browser;
const pages = [];

async function page(opts) {
  const p = await openPage(browser, server, opts);
  pages.push(p);
  return p;
}

async function visitsOf(who) {
  return (await server.call('GET', '/v1/visits', undefined, night.tokens[who])).json.visits;
}

async function offersOf(who) {
  return (await server.call('GET', '/v1/offers', undefined, night.tokens[who])).json.offers;
}

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

// Every page of a test must end without console or page errors.
async function closeClean(...ps) {
  for (const p of ps) {
    const errors = p.errors;
    await p.context().close();
    assert.deepEqual(errors, [], 'console or page errors');
  }
}

test('a wrong password is refused on the login form', async () => {
  const p = await page({ device: PHONE, expectStatuses: [401] });
  await p.fill('#login-form [name=username]', 'nurse1');
  await p.fill('#login-form [name=password]', 'not-the-password');
  await p.click('#login-form button[type=submit]');
  const err = await p.waitForSelector('#login-form .form-err:not(:empty)');
  assert.match(await err.textContent(), /./);
  assert.equal(await p.isVisible('.tabs'), false);
  // Keyboard only: the right password, Enter to submit.
  await p.fill('#login-form [name=password]', night.passwords.nurse1);
  await p.focus('#login-form [name=password]');
  await p.keyboard.press('Enter');
  await p.waitForSelector('.tabs');
  assert.equal(await p.getAttribute('html', 'lang'), 'ja');
  await closeClean(p);
});

test('a whole night: request, offer, accept, progress, summary, acknowledge, staff log', async () => {
  const nurse = await page({ device: PHONE, expectStatuses: [400] });
  await login(nurse, 'nurse1', night.passwords.nurse1);

  // My patients: a missing name is shown next to the name field; then the patient is registered.
  await nurse.click('[data-tab=tabPatients]');
  await nurse.fill('#patient-form [name=birthDate]', '1938-04-02');
  await nurse.fill('#patient-form [name=address]', '日野市多摩平1-2-3');
  await nurse.fill('#patient-form [name="location.lat"]', String(CENTER.lat + 0.01));
  await nurse.fill('#patient-form [name="location.lon"]', String(CENTER.lon + 0.01));
  await nurse.fill('#patient-form [name=primaryDoctorId]', night.ids.primary1);
  await nurse.fill('#patient-form [name=allergies]', 'penicillin');
  await nurse.click('#patient-form button[type=submit]');
  await nurse.waitForSelector('#patient-form [data-field=name] .err:not(:empty)');
  await nurse.fill('#patient-form [name=name]', '山田 花子');
  await nurse.click('#patient-form button[type=submit]');
  await nurse.waitForSelector('#patient-list li:has-text("山田 花子")');
  await screenshot(nurse, 'nurse-patients');

  // The doctor and the driver of team 1 wait on their phones.
  const doctor = await page({ device: PHONE });
  await login(doctor, 'doctor1', night.passwords.doctor1);
  const driver = await page({ device: PHONE });
  await login(driver, 'driver1', night.passwords.driver1);
  await doctor.waitForSelector('#no-offer');
  await doctor.waitForFunction(() => document.body.dataset.stream === 'online');
  await driver.waitForFunction(() => document.body.dataset.stream === 'online');

  // The request form: errors next to their fields, then a good request.
  await nurse.click('[data-tab=tabNewRequest]');
  await nurse.reload();
  await nurse.waitForSelector('#request-form');
  await nurse.waitForFunction(() => document.body.dataset.stream === 'online');
  await nurse.selectOption('#request-form [name=patientId]', { label: '山田 花子' });
  await nurse.click('#request-form button[type=submit]');
  await nurse.waitForSelector('#request-form [data-field=chiefComplaint] .err:not(:empty)');
  await nurse.fill('#request-form [name=chiefComplaint]', '39度の発熱、呼吸が苦しい');
  await nurse.fill('#request-form [name="vitals.spo2"]', '150');
  await nurse.click('#request-form button[type=submit]');
  await nurse.waitForSelector('#request-form [data-field="vitals.spo2"] .err:not(:empty)');
  assert.equal(await nurse.textContent('#request-form [data-field=chiefComplaint] .err'), '');
  await nurse.fill('#request-form [name="vitals.spo2"]', '91');
  await nurse.fill('#request-form [name="vitals.temperatureC"]', '39.1');
  await nurse.fill('#request-form [name="vitals.pulse"]', '110');
  await screenshot(nurse, 'nurse-request-form');
  await nurse.click('#request-form button[type=submit]');
  await nurse.waitForSelector('.notice.ok:not([hidden])');
  const [visit] = (await visitsOf('nurse1'));
  assert.ok(visit, 'the visit exists');

  // The offer reaches the doctor's phone through the stream, with its countdown.
  const offer = await doctor.waitForSelector(`#offer[data-visit="${visit.id}"]`);
  assert.match(await doctor.textContent('#offer .countdown'), /\d+:\d\d/);
  assert.match(await offer.textContent(), /39度の発熱/);
  await driver.waitForSelector(`#offer[data-visit="${visit.id}"]`);
  await screenshot(doctor, 'doctor-offer');
  await doctor.click('#accept');
  await doctor.waitForSelector(`#visit[data-visit="${visit.id}"][data-status=ASSIGNED]`);
  assert.match(await doctor.getAttribute('#navigate', 'href'), /^geo:35\.68\d*,139\.40\d*/);
  assert.match(await doctor.textContent('#address'), /日野市多摩平/);
  // The driver's phone follows from the stream.
  await driver.waitForSelector(`#visit[data-visit="${visit.id}"][data-status=ASSIGNED]`);
  await screenshot(driver, 'driver-visit');

  // The nurse sees the status and ETA live.
  await nurse.click('[data-tab=tabRequests]');
  await nurse.waitForSelector(`#request-list [data-visit="${visit.id}"][data-status=ASSIGNED] .eta`);

  await driver.click('#depart');
  await doctor.waitForSelector(`#visit[data-status=EN_ROUTE]`);
  await nurse.waitForSelector(`#request-list [data-visit="${visit.id}"][data-status=EN_ROUTE]`);
  await doctor.click('#arrive');
  await doctor.waitForSelector(`#visit[data-status=ON_SITE] #summary-form`);
  await doctor.click('#complete');
  await doctor.waitForSelector(`#visit[data-status=COMPLETED] #summary-form`);
  await nurse.waitForSelector(`#request-list [data-visit="${visit.id}"][data-status=COMPLETED]`);

  // The summary.
  await doctor.fill('#summary-form [name=findings]', '右下肺野に湿性ラ音');
  await doctor.fill('#summary-form [name=diagnoses]', '誤嚥性肺炎\n脱水');
  await doctor.fill('#summary-form [name=treatment]', '点滴500ml');
  await doctor.fill('#summary-form [name=prescriptions]', 'アモキシシリン, 250mg 1日3回, 5');
  await doctor.selectOption('#summary-form [name=disposition]', 'STAYED_HOME');
  await doctor.fill('#summary-form [name=instructionsForCareTeam]', '明朝に検温してください');
  await doctor.fill('#summary-form [name=followUpForPrimaryDoctor]', '明日の往診で再評価を');
  await screenshot(doctor, 'doctor-summary-form');
  await doctor.click('#summary-form button[type=submit]');
  await doctor.waitForSelector('#message');
  await doctor.waitForSelector('#no-visit');

  // The primary doctor reads and acknowledges.
  const primary = await page({ device: PHONE });
  await login(primary, 'primary1', night.passwords.primary1);
  const item = await primary.waitForSelector(`#inbox-list [data-visit="${visit.id}"][data-acked=false]`);
  assert.match(await item.textContent(), /誤嚥性肺炎/);
  assert.match(await item.textContent(), /明日の往診で再評価を/);
  await screenshot(primary, 'primary-inbox');
  await primary.click(`#inbox-list [data-visit="${visit.id}"] [data-ack]`);
  await primary.waitForSelector(`#inbox-list [data-visit="${visit.id}"][data-acked=true]`);

  // The nurse's organization has its own item.
  await nurse.click('[data-tab=tabInbox]');
  await nurse.waitForSelector(`#inbox-list [data-visit="${visit.id}"]:has-text("明朝に検温してください")`);
  await screenshot(nurse, 'nurse-inbox');
  await nurse.click('[data-tab=tabRequests]');
  await screenshot(nurse, 'nurse-requests');

  // Staff: the board, the log and the response-time chart show the visit.
  const staff = await page({ device: DESKTOP, expectStatuses: [400, 404] });
  await login(staff, 'staff1', night.passwords.staff1);
  await staff.waitForSelector('#board-plot circle');
  assert.equal(await staff.locator('#board-plot .team-dot').count(), 2);
  await screenshot(staff, 'staff-board');
  await staff.click('[data-tab=tabLog]');
  await staff.waitForSelector(`#log-result tr[data-visit="${visit.id}"] [data-status=COMPLETED]`);
  await staff.selectOption('#log-form [name=status]', 'CANCELLED');
  await staff.click('#log-form button[type=submit]');
  await staff.waitForSelector(`#log-result tr[data-visit="${visit.id}"]`, { state: 'detached' });
  await staff.selectOption('#log-form [name=status]', 'COMPLETED');
  await staff.click('#log-form button[type=submit]');
  await staff.waitForSelector(`#log-result tr[data-visit="${visit.id}"]`);
  await screenshot(staff, 'staff-log');
  await staff.click('[data-tab=tabCharts]');
  await staff.waitForSelector('#histogram rect[data-urgency=URGENT][data-count="1"]');
  await staff.waitForSelector('#demand');
  await screenshot(staff, 'staff-charts');
  // Teams and shifts: a bad doctor id is shown next to its field.
  await staff.click('[data-tab=tabTeams]');
  await staff.fill('#team-form [name=doctorId]', night.ids.nurse1);
  await staff.fill('#team-form [name=driverId]', night.ids.driver1);
  await staff.fill('#team-form [name=vehicle]', 'car 3');
  await staff.click('#team-form button[type=submit]');
  await staff.waitForSelector('#team-form [data-field=doctorId] .err:not(:empty)');
  await screenshot(staff, 'staff-teams');

  // English switch.
  await staff.click('#lang');
  await staff.waitForSelector('[data-tab=tabBoard]:has-text("Board")');
  assert.equal(await staff.getAttribute('html', 'lang'), 'en');

  await closeClean(nurse, doctor, driver, primary, staff);
});

test('a life-threatening request answers "call 119" at once and is refused', async () => {
  const patientId = await makePatient(server, night, '佐藤 一郎');
  const nurse = await page({ device: PHONE, expectStatuses: [422] });
  await login(nurse, 'nurse1', night.passwords.nurse1);
  await nurse.click('[data-tab=tabNewRequest]');
  await nurse.selectOption('#request-form [name=patientId]', patientId);
  await nurse.fill('#request-form [name=chiefComplaint]', '呼吸していない');
  assert.equal(await nurse.isVisible('#alert119'), false);
  await nurse.check('#request-form [name=lifeThreatening]');
  await nurse.waitForSelector('#alert119', { state: 'visible' });
  assert.match(await nurse.textContent('#alert119'), /119/);
  assert.equal(await nurse.getAttribute('#tel119', 'href'), 'tel:119');
  await screenshot(nurse, 'nurse-call-119');
  await nurse.click('#request-form button[type=submit]');
  await nurse.waitForSelector('#request-form .form-err:not(:empty)');
  const visits = (await visitsOf('nurse1')).filter((v) => v.patientId === patientId);
  assert.equal(visits.length, 1);
  assert.equal(visits[0].status, 'REJECTED');
  await nurse.click('[data-tab=tabRequests]');
  await nurse.waitForSelector(`#request-list [data-visit="${visits[0].id}"][data-status=REJECTED]`);
  await closeClean(nurse);
});

test('a declined offer moves to the other doctor', async () => {
  const patientId = await makePatient(server, night, '鈴木 次郎');
  const d1 = await page({ device: PHONE });
  await login(d1, 'doctor1', night.passwords.doctor1);
  const d2 = await page({ device: PHONE });
  await login(d2, 'doctor2', night.passwords.doctor2);
  await d1.waitForFunction(() => document.body.dataset.stream === 'online');
  await d2.waitForFunction(() => document.body.dataset.stream === 'online');
  const r = await server.call('POST', '/v1/visits', {
    patientId, urgency: 'SOON', reason: 'ACUTE_CHANGE', chiefComplaint: '食事がとれない', vitals: {}, lifeThreatening: false, notes: '',
  }, night.tokens.nurse1);
  assert.equal(r.status, 201, r.text);
  const visitId = r.json.id;
  const first = await until(async () => {
    if ((await offersOf('doctor1')).length) return 'doctor1';
    if ((await offersOf('doctor2')).length) return 'doctor2';
    return null;
  }, 15000, 'an offer').catch(async (e) => {
    const v = await server.call('GET', `/v1/visits/${visitId}`, undefined, night.tokens.staff1);
    const teams = await server.call('GET', '/v1/teams', undefined, night.tokens.staff1);
    throw new Error(`${e.message}: ${v.text} ${teams.text}`);
  });
  const [from, to] = first === 'doctor1' ? [d1, d2] : [d2, d1];
  await from.waitForSelector(`#offer[data-visit="${visitId}"]`);
  await from.fill('#decline-form [name=reason]', '前の往診が長引いている');
  await from.click('#decline-form button[type=submit]');
  await from.waitForSelector('#no-offer');
  await to.waitForSelector(`#offer[data-visit="${visitId}"]`);
  await screenshot(to, 'doctor-offer-after-decline');
  // The nurse cancels the request on her phone, and the offer leaves the doctor's.
  const nurse = await page({ device: PHONE });
  await login(nurse, 'nurse1', night.passwords.nurse1);
  await nurse.click('[data-tab=tabRequests]');
  const card = `#request-list [data-visit="${visitId}"]`;
  await nurse.click(`${card} summary`);
  await nurse.fill(`${card} .cancel-form [name=reason]`, '家族が救急車を呼んだ');
  await nurse.click(`${card} .cancel-form button[type=submit]`);
  await nurse.waitForSelector(`${card}[data-status=CANCELLED]`);
  await to.waitForSelector('#no-offer');
  await closeClean(d1, d2, nurse);
});

test('the stream shows when it is offline and recovers after a server restart', async () => {
  const patientId = await makePatient(server, night, '高橋 三郎');
  const nurse = await page({ device: PHONE, expectOffline: true });
  const sockets = [];
  nurse.on('websocket', (ws) => sockets.push(new URL(ws.url())));
  await login(nurse, 'nurse1', night.passwords.nurse1);
  await nurse.click('[data-tab=tabRequests]');
  await nurse.waitForFunction(() => document.body.dataset.stream === 'online');
  assert.equal(await nurse.isVisible('#net'), false);
  const newVisit = () => server.call('POST', '/v1/visits', {
    patientId, urgency: 'URGENT', reason: 'ACUTE_CHANGE', chiefComplaint: '転倒後の痛み', vitals: {}, lifeThreatening: false, notes: '',
  }, night.tokens.nurse1);
  // An event before the restart gives the page a seq to resume from.
  const first = await newVisit();
  assert.equal(first.status, 201, first.text);
  await nurse.waitForSelector(`#request-list [data-visit="${first.json.id}"]`);
  const seq = await until(() => nurse.evaluate((k) => localStorage.getItem(k), `oshin.seq.${night.ids.nurse1}`), 5000, 'a seq');

  await server.stop();
  await nurse.waitForSelector('#net', { state: 'visible' });
  await screenshot(nurse, 'nurse-offline');
  await server.start();
  await nurse.waitForFunction(() => document.body.dataset.stream === 'online', undefined, { timeout: 20000 });
  assert.equal(await nurse.isVisible('#net'), false);

  // The reconnect resumed after the last seq it had seen, with a fresh single-use ticket.
  const last = sockets[sockets.length - 1];
  assert.ok(sockets.length >= 2);
  assert.ok(Number(last.searchParams.get('since')) >= Number(seq), last.toString());
  assert.notEqual(last.searchParams.get('ticket'), sockets[0].searchParams.get('ticket'));
  // A request made after the restart reaches the page through the reconnected stream.
  const r = await newVisit();
  assert.equal(r.status, 201, r.text);
  await nurse.waitForSelector(`#request-list [data-visit="${r.json.id}"]`);
  await closeClean(nurse);
});
