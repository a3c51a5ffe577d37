// Shared set-up of the browser tests: the real oshin-server on a temp data dir, accounts over the
// API, Debian's chromium through playwright-core, and a strict console watch on every page.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ADMIN_PASSWORD = 'admin-browser-test-pass';
export const CENTER = { lat: 35.6716, lon: 139.395 };
const SERVER = process.env.OSHIN_SERVER;
export const SCREENSHOTS = process.env.OSHIN_SCREENSHOTS || path.resolve('browser-screenshots');
const CHROMIUM = process.env.OSHIN_CHROMIUM || '/usr/bin/chromium';

/** Waits for `predicate()` to be truthy, polling until `ms` have passed; returns its value. */
export async function until(predicate, ms = 15000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One oshin-server process on a temp data dir; restartable on the same port and data dir. */
export class Server {
  constructor(config = {}, { demo = false } = {}) {
    this.demo = demo;
    if (!SERVER) throw new Error('set OSHIN_SERVER to the oshin-server binary');
    this.dir = mkdtempSync(path.join(tmpdir(), 'oshin-browser-'));
    this.config = { serviceHours: { always: true }, dataDir: path.join(this.dir, 'data'), ...config };
    this.configPath = path.join(this.dir, 'oshin.json');
    writeFileSync(this.configPath, JSON.stringify(this.config));
    this.port = 0;
    this.output = '';
    /** RFC 3339 instant for --clock-start at the next start(); null: the real clock. */
    this.clockStart = null;
  }

  /** Starts the process and resolves once it logs `listening on HOST:PORT`. */
  start() {
    const listen = `127.0.0.1:${this.port}`;
    const args = ['--config', this.configPath, '--listen', listen, ...(this.demo ? ['--demo'] : []),
      ...(this.clockStart ? ['--clock-start', this.clockStart] : [])];
    this.proc = spawn(SERVER, args, {
      env: { ...process.env, OSHIN_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = this.proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start:\n' + this.output)), 30000);
      const onData = (chunk) => {
        this.output += chunk.toString();
        const m = /listening on [^\s]*:(\d+)/.exec(this.output.slice(-4000));
        if (m && proc.listening !== true) {
          proc.listening = true;
          clearTimeout(timer);
          this.port = Number(m[1]);
          resolve(this.port);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.on('exit', () => { clearTimeout(timer); if (proc.listening !== true) reject(new Error('server exited:\n' + this.output)); });
    });
  }

  /** SIGTERM and wait for the exit. */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }

  async dispose() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get base() { return `http://127.0.0.1:${this.port}`; }

  async call(method, target, body, token) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.base + target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, json, text };
  }
}

export function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

/**
 * The accounts of a night (as tests/integration/night.cpp): a station with two nurses, a clinic
 * with a primary doctor, two teams (team 1 at the center, team 2 a few km west) and staff.
 */
export async function setupNight(server) {
  const must = async (r, what, status = 201) => {
    const x = await r;
    if (x.status !== status) throw new Error(`${what}: ${x.status} ${x.text}`);
    return x.json;
  };
  const tokens = {};
  const ids = {};
  const passwords = {};
  const login = async (who, pw) => (await must(server.call('POST', '/v1/login', { username: who, password: pw }), 'login ' + who, 200)).token;
  tokens.admin = await login('admin', ADMIN_PASSWORD);
  const orgs = {};
  orgs.center = (await must(server.call('GET', '/v1/organizations', undefined, tokens.admin), 'orgs', 200)).organizations[0].id;
  for (const [key, name, kind] of [['station', 'Station A', 'VISITING_NURSE_STATION'], ['clinic', 'Home Clinic', 'CLINIC']]) {
    orgs[key] = (await must(server.call('POST', '/v1/organizations', { name, kind }, tokens.admin), 'org')).id;
  }
  const users = [['staff1', 'STAFF', 'center', 'Staff Sato'], ['nurse1', 'NURSE', 'station', 'Nurse Tanaka'],
    ['doctor1', 'DOCTOR', 'center', 'Dr One'], ['doctor2', 'DOCTOR', 'center', 'Dr Two'],
    ['driver1', 'DRIVER', 'center', 'Driver One'], ['driver2', 'DRIVER', 'center', 'Driver Two'],
    ['primary1', 'PRIMARY_DOCTOR', 'clinic', 'Dr Primary']];
  for (const [name, role, org, displayName] of users) {
    const pw = `${name}-browser-password`;
    ids[name] = (await must(server.call('POST', '/v1/users',
      { username: name, password: pw, displayName, role, organizationId: orgs[org] }, tokens.admin), 'user')).id;
    passwords[name] = pw;
    tokens[name] = await login(name, pw);
  }
  const now = Date.now();
  const teams = {};
  for (const i of [1, 2]) {
    teams[i] = (await must(server.call('POST', '/v1/teams', {
      doctorId: ids[`doctor${i}`], driverId: ids[`driver${i}`], vehicle: `car ${i}`,
      shiftStart: iso(now - 3600e3), shiftEnd: iso(now + 12 * 3600e3),
      base: { lat: CENTER.lat, lon: CENTER.lon - (i === 1 ? 0 : 0.05) }, skills: [],
    }, tokens.staff1), 'team')).id;
  }
  return { tokens, ids, passwords, orgs, teams, must };
}

/** Registers a patient of nurse1's station over the API. */
export async function makePatient(server, night, name, lat = CENTER.lat + 0.01, lon = CENTER.lon + 0.01) {
  return (await night.must(server.call('POST', '/v1/patients', {
    name, birthDate: '1938-04-02', sex: 'FEMALE', address: `Hino-shi ${name} 1-2-3`, location: { lat, lon },
    primaryDoctorId: night.ids.primary1, careTeamOrganizationIds: [night.orgs.station], sharingConsent: true,
    allergies: 'penicillin', advanceCarePlan: 'stay home',
    eligibility: { lastScheduledVisitDate: '2026-11-01' },
  }, night.tokens.nurse1), 'patient')).id;
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh, empty user data dir of its own.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
export const DESKTOP = { viewport: { width: 1280, height: 900 } };

/**
 * A page in its own browser context with every console error and page error recorded.
 * Chromium itself logs an HTTP error answer as a console error ("Failed to load resource: the
 * server responded with a status of 401"); a test names the statuses it provokes on purpose in
 * `expectStatuses`, and nothing else is tolerated.
 */
export async function openPage(browser, server, { device = DESKTOP, expectStatuses = [], expectOffline = false } = {}) {
  const context = await browser.newContext({ ...device, locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  page.errors = [];
  const allowed = (text) => {
    const m = /the server responded with a status of (\d+)/.exec(text);
    if (m && expectStatuses.includes(Number(m[1]))) return true;
    // Only the restart test expects the server to be away for a moment.
    if (expectOffline && /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|WebSocket connection to .* failed/.test(text)) return true;
    return false;
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed(msg.text())) page.errors.push(`console: ${msg.text()} at ${msg.location().url}`);
  });
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  await page.goto(server.base + '/');
  return page;
}

export async function login(page, username, password) {
  await page.fill('#login-form [name=username]', username);
  await page.fill('#login-form [name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('.tabs, #offer, #no-offer, #inbox-list', { timeout: 15000 });
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
