// The HTTP API and the live stream, for the views.

/** An API error: status plus the contract's {code, message, field, visitId}. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'NETWORK' : 'HTTP_' + status);
    this.field = e.field || '';
    this.visitId = e.visitId || '';
  }
}

let token = sessionStorage.getItem('oshin.token') || '';
let onUnauthenticated = () => {};

export function setToken(t) {
  token = t || '';
  if (token) sessionStorage.setItem('oshin.token', token);
  else sessionStorage.removeItem('oshin.token');
}
export function hasToken() { return token !== ''; }
export function whenUnauthenticated(fn) { onUnauthenticated = fn; }

function newKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Calls the API; resolves with the parsed JSON (or text, a Blob when raw, or null); rejects with ApiError. */
export async function call(method, path, body, { accept = 'application/json', raw = false } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // Creating POSTs carry an Idempotency-Key, so a retry after a lost answer creates nothing.
  if (method === 'POST') headers['Idempotency-Key'] = newKey();
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: { code: 'NETWORK', message: 'network error' } });
  }
  if (!res.ok) {
    let parsed = null;
    try { parsed = await res.json(); } catch { parsed = null; }
    const err = new ApiError(res.status, parsed);
    if (res.status === 401 && path !== '/v1/login') onUnauthenticated();
    throw err;
  }
  // Raw answers (CSV downloads) stay bytes: text() would drop the UTF-8 BOM that spreadsheets need.
  if (raw) return res.blob();
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, opts) => call('GET', path, undefined, opts);
export const post = (path, body, opts) => call('POST', path, body ?? {}, opts);

/**
 * The live stream: a ticket, then a WebSocket; on any close it reconnects by itself with
 * ?since=<last seq> (backing off up to 5 s) and reports online/offline.
 */
export class Stream {
  constructor({ onEvent, onStatus, onOpen, storeKey }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    // The last seq is kept per account, so a reload (or the next shift) replays what was missed.
    this.storeKey = storeKey;
    const kept = storeKey ? localStorage.getItem(storeKey) : null;
    this.since = kept && /^\d+$/.test(kept) ? kept : null;
    this.ws = null;
    this.closed = false;
    this.delay = 500;
    this.timer = null;
  }

  start() { this.connect(); }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  retry() {
    if (this.closed) return;
    this.onStatus(false);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  async connect() {
    if (this.closed) return;
    let ticket;
    try {
      ticket = (await post('/v1/stream-tickets')).ticket;
    } catch {
      this.retry();
      return;
    }
    if (this.closed) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${scheme}//${location.host}/v1/stream?ticket=${encodeURIComponent(ticket)}`;
    if (this.since !== null) url += `&since=${encodeURIComponent(this.since)}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.onStatus(true);
      this.onOpen();
    };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev.seq !== undefined) {
        this.since = String(ev.seq);
        if (this.storeKey) localStorage.setItem(this.storeKey, this.since);
      }
      this.onEvent(ev);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.retry();
    };
  }
}
