// `make run` serves the demo (--demo): every demo role signs in with its demo password and gets
// its own main screen, without console errors. Screenshots: demo-<role>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage, login, screenshot, PHONE, DESKTOP } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = new Server({ serviceHours: { always: false, weeknightStart: '18:00', weeknightEnd: '08:00', holidaysAllDay: true } }, { demo: true });
  await server.start();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.dispose();
});

const roles = [
  ['staff1', DESKTOP, '#board-plot .team-dot'],
  ['nurse1', PHONE, '#request-list'],
  ['caremanager1', PHONE, '#request-list'],
  ['doctor1', PHONE, '#no-offer, #offer'],
  ['driver1', PHONE, '#no-offer, #offer'],
  ['primary1', PHONE, '#inbox-list'],
];

for (const [username, device, selector] of roles) {
  test(`demo login ${username} shows its main screen`, async () => {
    // The staff charts ask for /v1/reports/*, which may answer 404 on a server without them.
    const page = await openPage(browser, server, { device, expectStatuses: [404] });
    await login(page, username, `${username}-demo-pass`);
    await page.waitForSelector(selector);
    await page.waitForFunction(() => document.body.dataset.stream === 'online');
    await screenshot(page, `demo-${username}`);
    const errors = page.errors;
    await page.context().close();
    assert.deepEqual(errors, []);
  });
}
