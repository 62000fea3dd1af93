// The catalogues (web/i18n/LANG/AREA.json, flat objects of full keys) and
// the person's language and time zone. Every visible string goes through t().

export const LANGS = ['en', 'fr', 'ar'];
const RTL = new Set(['ar']);
// Arabic with Latin digits, as the Maghreb writes them and as the numbers
// the catalogues carry are written.
const LOCALE = { en: 'en-GB', fr: 'fr-FR', ar: 'ar-u-nu-latn' };

let current = 'en';
let zone = 'UTC';
let strings = {};

// Loads the catalogues of `areas` for `lang`; a file that cannot be read
// is an error (every area ships all three languages).
export async function load(lang, areas, timeZone) {
  current = LANGS.includes(lang) ? lang : 'en';
  zone = timeZone || 'UTC';
  const parts = await Promise.all(areas.map(async (a) => {
    const r = await fetch(`/i18n/${current}/${a}.json`, { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`catalogue ${current}/${a} cannot be read (${r.status})`);
    return r.json();
  }));
  strings = Object.assign({}, ...parts);
  document.documentElement.lang = current;
  document.documentElement.dir = dir();
}

export function lang() { return current; }
export function timeZone() { return zone; }
export function dir() { return RTL.has(current) ? 'rtl' : 'ltr'; }

// The string for `key` with {name} replaced from `vars`.
export function t(key, vars) {
  let s = strings[key];
  if (s === undefined) {
    console.error(`missing string ${key} (${current})`);
    s = key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
  return s;
}

// True when the catalogue has `key` (for values that may lack a label).
export function has(key) { return key in strings; }

function toDate(x) {
  if (x === null || x === undefined || x === '') return null;
  const d = typeof x === 'number' ? new Date(x) : new Date(x);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDateTime(x) {
  const d = toDate(x);
  if (!d) return '–';
  return new Intl.DateTimeFormat(LOCALE[current], {
    dateStyle: 'medium', timeStyle: 'short', timeZone: zone }).format(d);
}

// A calendar date (YYYY-MM-DD) as written in the person's language; no
// time zone shift: a birth date is a date, not an instant.
export function fmtDate(x) {
  if (typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x)) {
    const [y, m, d] = x.split('-').map(Number);
    return new Intl.DateTimeFormat(LOCALE[current], { dateStyle: 'long', timeZone: 'UTC' })
      .format(new Date(Date.UTC(y, m - 1, d)));
  }
  const d = toDate(x);
  return d ? new Intl.DateTimeFormat(LOCALE[current], { dateStyle: 'long', timeZone: zone })
    .format(d) : '–';
}

function unit(n, u) {
  return new Intl.NumberFormat(LOCALE[current], { style: 'unit', unit: u, unitDisplay: 'short' })
    .format(n);
}

// A duration in milliseconds as "3 h 20 min" in the person's language.
export function fmtDuration(ms) {
  const min = Math.max(0, Math.round(Math.abs(ms) / 60000));
  if (min < 1) return unit(Math.max(0, Math.round(Math.abs(ms) / 1000)), 'second');
  const d = Math.floor(min / 1440), hr = Math.floor((min % 1440) / 60), m = min % 60;
  if (d > 0) return hr ? `${unit(d, 'day')} ${unit(hr, 'hour')}` : unit(d, 'day');
  if (hr > 0) return m ? `${unit(hr, 'hour')} ${unit(m, 'minute')}` : unit(hr, 'hour');
  return unit(m, 'minute');
}

// `ms` from now: "in 3 h 20 min" when ahead, "5 min ago" when past.
export function fmtRelative(ms) {
  return t(ms >= 0 ? 'common.time.in' : 'common.time.ago', { d: fmtDuration(ms) });
}

// A document's size: "512 bytes", "12 KiB", "1.5 MiB", in the person's language.
export function fmtSize(n) {
  const num = (x, digits) => new Intl.NumberFormat(LOCALE[current],
    { maximumFractionDigits: digits }).format(x);
  if (n >= 1048576) return t('common.size.mib', { n: num(n / 1048576, 1) });
  if (n >= 1024) return t('common.size.kib', { n: num(Math.ceil(n / 1024), 0) });
  return t('common.size.bytes', { n: num(n, 0) });
}
