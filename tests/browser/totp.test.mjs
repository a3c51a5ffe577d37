// TOTP in the browser: a STAFF account (a required role with totp.enabled) is sent to the set-up
// view at its first login, confirms a code computed here from the key it was shown, and at the
// next login the code field appears when the server answers TOTP_REQUIRED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Server, launch, openPage, screenshot, ADMIN_PASSWORD, DESKTOP } from './harness.mjs';

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 code of a time step (HMAC-SHA1, 6 digits). */
function code(secret, step) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = mac[19] & 0x0f;
  const n = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1000000).padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30000);

let server;
let browser;

before(async () => {
  server = new Server({ totp: { enabled: true } });
  await server.start();
  browser = await launch();
  // The first admin enrols over the API (its login answers totpEnrolmentRequired).
  const call = async (method, target, body, token, status) => {
    const r = await server.call(method, target, body, token);
    if (r.status !== status) throw new Error(`${method} ${target}: ${r.status} ${r.text}`);
    return r.json;
  };
  const admin = await call('POST', '/v1/login', { username: 'admin', password: ADMIN_PASSWORD }, undefined, 200);
  assert.equal(admin.totpEnrolmentRequired, true);
  const e = await call('POST', '/v1/me/totp', undefined, admin.token, 201);
  await call('POST', '/v1/me/totp/confirm', { code: code(e.secret, stepNow()) }, admin.token, 200);
  const center = (await call('GET', '/v1/organizations', undefined, admin.token, 200)).organizations[0].id;
  await call('POST', '/v1/users', {
    username: 'staff1', password: 'staff1-browser-password', displayName: 'Staff Sato', role: 'STAFF', organizationId: center,
  }, admin.token, 201);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.dispose();
});

test('first login sets up the authenticator, the next one asks for the code', async () => {
  const p = await openPage(browser, server, { device: DESKTOP, expectStatuses: [401] });
  // The code field is not shown until the server asks for it.
  assert.equal(await p.isVisible('#login-form [name=totp]'), false);
  await p.fill('#login-form [name=username]', 'staff1');
  await p.fill('#login-form [name=password]', 'staff1-browser-password');
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('#totp-start-form');
  await p.click('#totp-start-form button[type=submit]');
  const secret = (await (await p.waitForSelector('#totp-secret')).textContent()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  const s = stepNow();
  await p.fill('#totp-confirm-form [name=code]', code(secret, s));
  await p.click('#totp-confirm-form button[type=submit]');
  await p.waitForSelector('.tabs');
  await screenshot(p, 'totp-enrolled');

  await p.click('#logout');
  await p.waitForSelector('#login-form');
  await p.fill('#login-form [name=username]', 'staff1');
  await p.fill('#login-form [name=password]', 'staff1-browser-password');
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('#login-form [name=totp]', { state: 'visible' });
  const err = await p.textContent('#login-form [data-field=totp] .err');
  assert.match(err, /./);
  await p.fill('#login-form [name=totp]', code(secret, s + 1));
  await p.click('#login-form button[type=submit]');
  await p.waitForSelector('.tabs');
  assert.deepEqual(p.errors, [], 'console or page errors');
  await p.context().close();
});
