// Words for values, shared by every area: an enumeration's value from an
// area's catalogue, lists joined as the person's language writes them, and
// language tags by their names. The services a referral may request are
// the schema's (docs/referral.schema.json, $defs.service).
import { t, has, lang } from './i18n.js';

export const SERVICES = ['shelter', 'medical', 'psychosocial', 'legal_aid', 'interpretation',
  'return', 'documentation', 'child_protection', 'livelihood', 'education', 'family_tracing'];

// AREA.GROUP.VALUE from the catalogue; a value it does not know is shown as it is.
export function enumLabel(area, group, value) {
  if (value === undefined || value === null || value === '') return '–';
  const key = `${area}.${group}.${value}`;
  return has(key) ? t(key) : String(value);
}

// Items joined as the person's language writes a list ("a, b, c", "a، b").
export function joinList(items) {
  try {
    return new Intl.ListFormat(lang(), { style: 'short', type: 'unit' }).format(items);
  } catch (e) {
    return items.join(', ');
  }
}

let names = null;
// A language tag in the person's language ("ti" -> "Tigrinya (ti)").
export function langName(tag) {
  try {
    if (!names || names.lang !== lang())
      names = { lang: lang(), dn: new Intl.DisplayNames([lang()], { type: 'language' }) };
    const n = names.dn.of(tag);
    return n && n !== tag ? `${n} (${tag})` : tag;
  } catch (e) {
    return tag;
  }
}

export function langList(tags) {
  return (tags || []).length ? joinList(tags.map(langName)) : '–';
}
