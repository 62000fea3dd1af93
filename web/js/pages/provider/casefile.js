// A received case (the referral file, docs/REFERRAL.md) as a case file to
// read: the consent record first, then the person, safety and risk,
// exploitation, needs, the request and the destination. Every value is
// text in the DOM; labels of enumerations come from the catalogue.
import { h } from '../../dom.js';
import { t, lang, fmtDate, fmtDateTime } from '../../i18n.js';
import { label, langList, yesNo, terms, data, joinList } from './parts.js';

let regions = null;
function country(code) {
  if (code === 'stateless') return t('provider.case.stateless');
  if (/^X[A-Z]$/.test(code)) return code; // user-assigned codes (the example countries)
  try {
    if (!regions || regions.lang !== lang())
      regions = { lang: lang(), dn: new Intl.DisplayNames([lang()], { type: 'region' }) };
    const n = regions.dn.of(code);
    return n && n !== code ? `${n} (${code})` : code;
  } catch (e) {
    return String(code);
  }
}

function section(id, title, ...body) {
  return h('section', { class: 'card pv-section', 'aria-labelledby': id },
    h('h2', { id }, title), ...body);
}

function list(values, fn) {
  const v = (values || []).filter((x) => x !== undefined && x !== null && x !== '');
  return v.length ? joinList(v.map(fn || String)) : '–';
}

// The consent record: who consented, when, to what; an override with its
// legal basis stands out.
export function consentRecord(c) {
  c = c || {};
  const ov = c.override;
  const given = c.services === true;
  return h('section', { class: `card pv-consent ${given ? 'pv-consent-given' : 'pv-consent-override'}`,
    'aria-labelledby': 'pv-consent-h' },
  h('h2', { id: 'pv-consent-h' }, t('provider.consent.title')),
  h('p', { class: 'pv-consent-lead' }, given
    ? t('provider.consent.given', { from: label('obtained_from', c.obtained_from) })
    : t('provider.consent.not_given')),
  terms([
    [t('provider.consent.services'), yesNo(given)],
    [t('provider.consent.share_with'), list(c.share_with, (s) => label('service', s))],
    [t('provider.consent.obtained_from'), label('obtained_from', c.obtained_from)],
    [t('provider.consent.obtained_at'), c.obtained_at ? fmtDateTime(c.obtained_at) : '–'],
    [t('provider.consent.obtained_by'), c.obtained_by],
    [t('provider.consent.legal_basis'), label('legal_basis', c.legal_basis)],
  ]),
  ov && h('div', { class: 'alert alert-info pv-override', role: 'note' },
    h('h3', {}, t('provider.consent.override')),
    terms([
      [t('provider.consent.override_reason'), ov.reason],
      [t('provider.consent.override_by'), ov.authorised_by],
      [t('provider.consent.legal_basis'), label('legal_basis', c.legal_basis)],
    ])));
}

function person(f) {
  const s = f.subject || {};
  const names = (s.names || []).map((n) => [n.given, n.family].filter(Boolean).join(' '));
  const age = s.date_of_birth ? fmtDate(s.date_of_birth)
    : s.age_estimate ? t('provider.case.age_estimate', { min: s.age_estimate.min,
      max: s.age_estimate.max }) : '–';
  const sc = s.safe_contact || {};
  const g = f.guardian, cp = f.child_protection;
  const idf = f.identification || {};
  return section('pv-person-h', t('provider.case.person'),
    terms([
      [t('provider.case.names'), list(names)],
      s.aliases && s.aliases.length && [t('provider.case.aliases'), list(s.aliases)],
      [s.date_of_birth ? t('provider.case.date_of_birth') : t('provider.case.age'), age],
      [t('provider.case.sex'), label('sex', s.sex)],
      [t('provider.case.minor'), yesNo(f.minor)],
      f.minor && f.unaccompanied !== undefined &&
        [t('provider.case.unaccompanied'), yesNo(f.unaccompanied)],
      [t('provider.case.nationalities'), list(s.nationalities, country)],
      [t('provider.case.languages'), langList(s.languages)],
      [t('provider.case.interpreter'), yesNo(s.interpreter_needed)],
      [t('provider.case.identification'), [label('identification', idf.status),
        idf.by ? ` — ${idf.by}` : '', idf.date ? ` (${fmtDate(idf.date)})` : ''].join('')],
    ]),
    h('h3', {}, t('provider.case.safe_contact')),
    terms([
      [t('provider.case.contact_method'), label('contact', sc.method)],
      sc.value && [t('provider.case.contact_value'), sc.value],
      sc.notes && [t('provider.case.contact_notes'), sc.notes],
    ]),
    g && h('h3', {}, t('provider.case.guardian')),
    g && terms([
      [t('provider.case.guardian_name'), g.name],
      [t('provider.case.guardian_relationship'), g.relationship],
      g.organisation && [t('provider.case.organisation'), g.organisation],
      g.contact && [t('provider.case.contact_value'), g.contact],
    ]),
    cp && h('h3', {}, t('provider.case.child_protection')),
    cp && terms([
      [t('provider.case.authority'), cp.authority],
      cp.case_reference && [t('provider.case.case_reference'), cp.case_reference],
      cp.contact && [t('provider.case.contact_value'), cp.contact],
    ]));
}

// What the intake sends in place of a withhold reason, which never leaves it
// (services/intake/intake.c, proto/PROTOCOL.md §9.1).
const KEPT_REASON = '(kept by the referring organisation)';

function risk(f) {
  const r = f.risk || {};
  const wf = r.withhold_from || [];
  return section('pv-risk-h', t('provider.case.risk'),
    h('p', {}, h('span', { class: `badge pv-risk pv-risk-${r.level}` },
      t('provider.case.risk_level', { level: label('risk', r.level) }))),
    terms([
      [t('provider.case.safety_plan'), r.safety_plan],
      [t('provider.case.withhold_from'), wf.length
        ? h('ul', {}, wf.map((w) => h('li', {}, data(`${w.organisation}: ${
          w.reason === KEPT_REASON ? t('provider.case.withhold_reason_kept') : w.reason || ''}`))))
        : t('provider.case.none')],
    ]));
}

function exploitation(f) {
  return section('pv-expl-h', t('provider.case.exploitation'),
    terms([
      [t('provider.case.forms'), (f.exploitation || []).length
        ? list(f.exploitation, (x) => label('exploitation', x)) : t('provider.case.none')],
      [t('provider.case.smuggled'), yesNo(f.smuggled_migrant)],
      [t('provider.case.stage'), label('stage', f.stage)],
    ]));
}

function needs(f) {
  const rows = f.needs || [];
  const th = (k) => h('th', { scope: 'col' }, t(k));
  return section('pv-needs-h', t('provider.case.needs'),
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, th('provider.case.need'), th('provider.case.urgency'),
        th('provider.case.note'))),
      h('tbody', {}, rows.map((n) => h('tr', {},
        h('th', { scope: 'row' }, label('service', n.category)),
        h('td', {}, h('span', { class: `pv-urgency pv-urgency-${n.urgency}` },
          label('urgency', n.urgency))),
        h('td', {}, data(n.note)))))));
}

function request(f) {
  const q = f.request || {}, d = f.destination || {};
  return h('div', { class: 'grid-2' },
    section('pv-request-h', t('provider.case.request'),
      terms([
        [t('provider.case.service'), label('service', q.service)],
        [t('provider.case.reason'), q.reason],
        [t('provider.case.respond_by'), q.respond_by ? fmtDateTime(q.respond_by) : '–'],
      ])),
    section('pv-dest-h', t('provider.case.destination'),
      terms([
        [t('provider.case.country'), d.country ? country(d.country) : '–'],
        [t('provider.case.region'), d.region],
      ])));
}

// Everything but the consent record (which the page puts first).
export function caseSections(f) {
  f = f || {};
  return [person(f), risk(f), exploitation(f), needs(f), request(f),
    f.narrative && section('pv-narr-h', t('provider.case.narrative'),
      h('p', { class: 'pv-narrative', dir: 'auto' }, f.narrative))];
}
