// Entry point: login, then the view of the signed-in role, with the live stream around it.
import * as api from './api.js';
import { t, lang, setLang } from './i18n.js';
import { h, field, form, val } from './ui.js';
import { requesterView } from './views/requester.js';
import { teamView } from './views/team.js';
import { primaryView } from './views/primary.js';
import { staffView } from './views/staff.js';

const root = document.getElementById('app');
const net = document.getElementById('net');
const who = document.getElementById('who');
const langButton = document.getElementById('lang');
const logoutButton = document.getElementById('logout');

let user = null;
let stream = null;
let view = null;

function header() {
  document.title = t('appTitle');
  document.getElementById('title').textContent = t('appTitle');
  langButton.textContent = t('switchLang');
  langButton.setAttribute('lang', lang() === 'ja' ? 'en' : 'ja');
  logoutButton.textContent = t('logout');
  logoutButton.hidden = !user;
  who.textContent = user ? `${user.displayName} (${t('role_' + user.role)})` : '';
  net.textContent = t('offline');
}

function showLogin() {
  stopStream();
  user = null;
  header();
  // The code field appears only when the server asks for it (TOTP_REQUIRED).
  const totpField = field('totp', h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' }), 'totp');
  totpField.hidden = true;
  const f = form([
    field('username', h('input', { autocomplete: 'username', autocapitalize: 'none' }), 'username'),
    field('password', h('input', { type: 'password', autocomplete: 'current-password' }), 'password'),
    totpField,
  ], 'signIn', async (fm) => {
    const body = { username: val(fm, 'username'), password: fm.elements.namedItem('password').value };
    if (!totpField.hidden && val(fm, 'totp')) body.totp = val(fm, 'totp');
    let r;
    try {
      r = await api.post('/v1/login', body);
    } catch (err) {
      if (err.code === 'TOTP_REQUIRED') {
        totpField.hidden = false;
        err.field = 'totp';
      }
      throw err;
    }
    api.setToken(r.token);
    user = r.user;
    if (r.totpEnrolmentRequired) {
      sessionStorage.setItem('oshin.totpEnrol', '1');
      showTotpEnrolment();
    } else {
      startApp();
    }
  });
  f.id = 'login-form';
  root.replaceChildren(h('div', { class: 'card' }, h('h2', {}, t('login')), f));
  f.querySelector('input').focus();
}

/** A session that may only enrol TOTP: create a key, show it once, confirm a code. */
function showTotpEnrolment() {
  stopStream();
  header();
  const keyBox = h('div', { id: 'totp-key' });
  const confirm = form([
    field('totp', h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6' }), 'code'),
  ], 'totpConfirm', async (fm) => {
    user = await api.post('/v1/me/totp/confirm', { code: val(fm, 'code') });
    sessionStorage.removeItem('oshin.totpEnrol');
    startApp();
  });
  confirm.id = 'totp-confirm-form';
  confirm.hidden = true;
  const start = form([], 'totpStart', async () => {
    const e = await api.post('/v1/me/totp');
    keyBox.replaceChildren(
      h('p', {}, t('totpSecret') + ': ', h('code', { id: 'totp-secret' }, e.secret)),
      h('p', {}, h('a', { href: e.otpauthUri }, t('totpLink'))));
    start.hidden = true;
    confirm.hidden = false;
    confirm.querySelector('input').focus();
  });
  start.id = 'totp-start-form';
  root.replaceChildren(h('div', { class: 'card' }, h('h2', {}, t('totpSetup')),
    h('p', { class: 'notice' }, t('totpSetupHelp')), start, keyBox, confirm));
}

function stopStream() {
  if (stream) stream.stop();
  stream = null;
  net.hidden = true;
}

function makeView() {
  const ctx = { user, api, root };
  switch (user.role) {
    case 'NURSE':
    case 'CARE_MANAGER':
      return requesterView(ctx);
    case 'DOCTOR':
    case 'DRIVER':
      return teamView(ctx);
    case 'PRIMARY_DOCTOR':
      return primaryView(ctx);
    case 'STAFF':
      return staffView(ctx);
    default:
      return { render() { root.replaceChildren(h('p', { class: 'notice' }, `${user.role}: ` + t('unavailable'))); }, onEvent() {}, refresh() {} };
  }
}

function startApp() {
  header();
  view = makeView();
  view.render();
  stopStream();
  stream = new api.Stream({
    onEvent: (ev) => view && view.onEvent(ev),
    onStatus: (online) => {
      net.hidden = online;
      document.body.dataset.stream = online ? 'online' : 'offline';
    },
    // Every (re)connect re-reads the state, so nothing between the page load and the stream is lost.
    onOpen: () => view && view.refresh(),
    storeKey: `oshin.seq.${user.id}`,
  });
  stream.start();
}

langButton.addEventListener('click', () => {
  setLang(lang() === 'ja' ? 'en' : 'ja');
  header();
  if (user && view) view.render();
  else if (user && sessionStorage.getItem('oshin.totpEnrol')) showTotpEnrolment();
  else showLogin();
});

logoutButton.addEventListener('click', async () => {
  try { await api.post('/v1/logout'); } catch { /* the token is dropped either way */ }
  api.setToken('');
  sessionStorage.removeItem('oshin.totpEnrol');
  showLogin();
});

api.whenUnauthenticated(() => {
  api.setToken('');
  sessionStorage.removeItem('oshin.totpEnrol');
  showLogin();
});

async function boot() {
  header();
  if (api.hasToken()) {
    try {
      user = await api.get('/v1/me');
      if (sessionStorage.getItem('oshin.totpEnrol') && !user.totpEnabled) showTotpEnrolment();
      else startApp();
      return;
    } catch {
      api.setToken('');
    }
  }
  showLogin();
}

boot();
