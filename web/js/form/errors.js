// The checker's located errors ({path, line, column, message}, the same as
// `haven referral check --json`) in a caseworker's words and at their fields:
// every error at the field its path names (or the nearest part of the form
// that is shown), a summary at the top with a link to each, the first field
// focused. A message the catalogue has no words for is shown as it is.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { splitPath } from './schema.js';
import { SERVICES as SERVICE_NAMES } from '../labels.js';

// The checker's messages (services/common/hv_referral.c) and their keys.
const RULES = [
  [/^missing required member/, 'form.error.required'],
  [/^must not be empty/, 'form.error.required'],
  [/^expected at least (\d+) entr/, 'form.error.min_items', (m) => ({ n: m[1] })],
  [/^expected at most (\d+) entries/, 'form.error.max_items', (m) => ({ n: m[1] })],
  [/^expected at most (\d+) bytes/, 'form.error.too_long', (m) => ({ n: m[1] })],
  [/^expected a date YYYY-MM-DD/, 'form.error.date'],
  [/^date of birth is in the future/, 'form.error.birth_future'],
  [/^expected a UTC time/, 'form.error.time'],
  [/^expected one of /, 'form.error.choice'],
  [/^expected a whole number from (-?\d+) to (-?\d+)/, 'form.error.integer',
    (m) => ({ min: m[1], max: m[2] })],
  [/^expected a country code of two capital letters or "stateless"/, 'form.error.nationality'],
  [/^expected a country code of two capital letters/, 'form.error.country'],
  [/^expected a language tag/, 'form.error.language'],
  [/^expected the organisation's node id/, 'form.error.node_id'],
  [/^"min" \(\d+\) is above "max"/, 'form.error.age_range'],
  [/^expected "date_of_birth" or "age_estimate"/, 'form.error.age_missing'],
  [/^give either "date_of_birth" or "age_estimate"/, 'form.error.age_both'],
  [/^a minor needs "guardian" or "child_protection"/, 'form.error.minor_guardian'],
  [/^"unaccompanied" applies to minors only/, 'form.error.unaccompanied'],
  [/^"minor" is false but/, 'form.error.minor_false'],
  [/^"minor" is true but/, 'form.error.minor_true'],
  [/^"respond_by" is in the past/, 'form.error.respond_by_past'],
  [/^consent cannot be recorded as obtained in the future/, 'form.error.consent_future'],
  [/^an override is only for a referral made without consent/, 'form.error.override_consent'],
  [/^consent does not cover sharing with a "([a-z_]+)" service/, 'form.error.consent_cover',
    (m) => ({ service: SERVICES.has(m[1]) ? t(`form.enum.service.${m[1]}`) : m[1] })],
  [/^no consent for services/, 'form.error.no_consent'],
  [/^expected an? [a-z]+, found /, 'form.error.type'],
];
const SERVICES = new Set(SERVICE_NAMES);

// Said of the subject as a whole, but about the choice of date or age.
const AT_CHOICE = /^expected "date_of_birth" or "age_estimate"/;

// A checker message in the person's language, or as it is.
export function explain(message) {
  for (const [re, key, vars] of RULES) {
    const m = re.exec(message || '');
    if (m) return t(key, vars ? vars(m) : undefined);
  }
  return message || '';
}

// Places `errors` in the form (`root.locate(parts)` finds a widget) and
// fills `summary`; returns the number of errors.
export function showErrors(errors, root, summary) {
  // In the order of the form, which is not always the file's (a missing
  // member is reported where its parent begins); the unplaced at the end.
  const placed = (errors || []).map((err) => ({ words: explain(err.message),
    w: root.locate(splitPath(AT_CHOICE.test(err.message || '') ? `${err.path}.date_of_birth`
      : err.path)) }));
  const rank = (a, b) => {
    if (!a.w || !b.w) return (a.w ? 0 : 1) - (b.w ? 0 : 1);
    if (a.w === b.w) return 0;
    return a.w.el.compareDocumentPosition(b.w.el) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  };
  placed.sort(rank);
  const items = [];
  let first = null;
  for (const { words, w } of placed) {
    if (w) {
      w.showError(words);
      if (!first) first = w;
    }
    const target = w ? w.focusEl() : null;
    const text = w ? `${w.label}: ${words}` : words;
    items.push(h('li', {}, target
      ? h('a', { href: `#${target.id}`, onclick: (e) => { e.preventDefault(); target.focus(); } },
        text)
      : text));
  }
  if (!items.length) return 0;
  summary.replaceChildren(h('div', { class: 'alert alert-error', role: 'alert',
    tabindex: '-1' }, h('h2', {}, t('form.errors.title', { n: items.length })),
  h('p', {}, t('form.errors.intro')), h('ul', {}, items)));
  if (first) first.focusEl().focus();
  else summary.firstChild.focus();
  return items.length;
}
