// Small DOM helpers shared by the views (no framework).
import { t, lang } from './i18n.js';

/** h('button', {class: 'x', onclick: fn}, 'text', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;

/**
 * A labelled field. `name` is the API's JSON path of the value ("vitals.spo2"); an error
 * answered for that path shows right under the control.
 */
export function field(labelKey, control, name, help) {
  const id = 'f' + ++uid;
  control.id = id;
  if (name) control.name = name;
  const err = h('p', { class: 'err', id: id + '-err', 'aria-live': 'polite' });
  control.setAttribute('aria-describedby', id + '-err');
  // Editing a field clears the error shown for it.
  const clear = () => { err.textContent = ''; control.removeAttribute('aria-invalid'); };
  control.addEventListener('input', clear);
  control.addEventListener('change', clear);
  const isCheck = control.type === 'checkbox';
  const label = h('label', { for: id }, t(labelKey), help ? h('span', { class: 'muted' }, ` (${help})`) : null);
  return h('div', { class: 'field' + (isCheck ? ' check' : ''), 'data-field': name || '' },
    isCheck ? [control, label] : [label, control], err);
}

export function select(options, value) {
  return h('select', {}, options.map(([v, label]) =>
    h('option', { value: v, selected: v === value ? true : undefined }, label)));
}

export function enumSelect(values, value) {
  return select(values.map((v) => [v, t(v)]), value);
}

/** A form with a form-level error line; `onsubmit(form)` runs with errors cleared. */
export function form(children, submitKey, onsubmit) {
  const formErr = h('p', { class: 'form-err', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, t(submitKey));
  const f = h('form', { novalidate: true }, children, formErr, h('div', { class: 'row' }, button));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(f);
    button.disabled = true;
    try {
      await onsubmit(f);
    } catch (err) {
      showError(f, err);
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

export function clearErrors(f) {
  f.querySelectorAll('.err, .form-err').forEach((e) => { e.textContent = ''; });
  f.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

/** Shows an API error next to its field (the longest field path that matches), else on the form. */
export function showError(f, err) {
  const message = err && err.message ? err.message : String(err);
  const path = (err && err.field) || '';
  let target = null;
  if (path) {
    let best = -1;
    f.querySelectorAll('[data-field]').forEach((el) => {
      const name = el.getAttribute('data-field');
      if (!name) return;
      const matches = path === name || path.startsWith(name + '.') || path.startsWith(name + '[') ||
        name.startsWith(path + '.');
      if (matches && name.length > best) { best = name.length; target = el; }
    });
  }
  if (target) {
    target.querySelector('.err').textContent = message;
    const control = target.querySelector('input, select, textarea');
    if (control) { control.setAttribute('aria-invalid', 'true'); control.focus(); }
  } else {
    f.querySelector('.form-err').textContent = message;
  }
}

/** The value of the named control, trimmed, '' when absent. */
export function val(f, name) {
  const el = f.elements.namedItem(name);
  return el ? String(el.value).trim() : '';
}

export function num(f, name) {
  const v = val(f, name);
  return v === '' ? undefined : Number(v);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(lang() === 'en' ? 'en-GB' : 'ja-JP',
    { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function statusBadge(status) {
  return h('span', { class: 'status ' + status, 'data-status': status }, t(status));
}

/** Tabs: [{key, render(panel)}]; the chosen tab is kept per page in sessionStorage. */
export function tabs(root, items, storeKey) {
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const panel = h('section', { role: 'tabpanel', tabindex: '-1' });
  const buttons = items.map((item) => h('button', {
    type: 'button', role: 'tab', 'data-tab': item.key, 'aria-selected': 'false',
    onclick: () => choose(item.key),
  }, t(item.key)));
  bar.append(...buttons);
  root.append(bar, panel);
  let active = null;
  function choose(key) {
    const item = items.find((i) => i.key === key) || items[0];
    active = item.key;
    sessionStorage.setItem(storeKey, active);
    buttons.forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === active)));
    panel.replaceChildren();
    item.render(panel);
  }
  choose(sessionStorage.getItem(storeKey) || items[0].key);
  return { choose, active: () => active };
}

export function table(headers, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}
