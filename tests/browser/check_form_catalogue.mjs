// The referral form's catalogues agree with the schema it is built from:
// every label, hint, choice, row and section key that web/js/form/schema.js
// derives from docs/referral.schema.json is in web/i18n/{en,fr,ar}/form.json
// (so a field added to the schema without its words fails here), no such key
// is left over from a field that is gone, and every key the intake pages and
// the form name in a string ('form.error.…', 'intake.history.…') exists.
// usage: node check_form_catalogue.mjs SCHEMA WEB_DIR     exits 1 listing every fault
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [schemaPath, web] = process.argv.slice(2);
if (!web) { console.error('usage: node check_form_catalogue.mjs SCHEMA WEB_DIR'); process.exit(2); }
const { catalogueKeys } = await import(pathToFileURL(resolve(web, 'js/form/schema.js')).href);
const faults = [];
const keys = catalogueKeys(JSON.parse(readFileSync(schemaPath, 'utf8')));
const derived = new Set(keys);
const DERIVED = /^form\.(field|hint|enum|item|add|remove|choice|section)\./;

for (const l of ['en', 'fr', 'ar']) {
  const cat = { ...JSON.parse(readFileSync(join(web, 'i18n', l, 'form.json'), 'utf8')),
    ...JSON.parse(readFileSync(join(web, 'i18n', l, 'intake.json'), 'utf8')),
    ...JSON.parse(readFileSync(join(web, 'i18n', l, 'common.json'), 'utf8')) };
  for (const k of keys) if (!(k in cat)) faults.push(`${l}: the schema's ${k} has no words`);
  for (const k of Object.keys(cat))
    if (DERIVED.test(k) && !derived.has(k)) faults.push(`${l}: ${k} is for no field of the schema`);
  for (const dir of ['js/form', 'js/pages/intake']) {
    for (const f of readdirSync(join(web, dir)).filter((n) => n.endsWith('.js'))) {
      const src = readFileSync(join(web, dir, f), 'utf8');
      for (const m of src.matchAll(/'((?:form|intake)\.[a-z0-9_]+(?:\.[a-z0-9_]+)+)'/g))
        if (!(m[1] in cat)) faults.push(`${l}: ${dir}/${f} names ${m[1]}, which is missing`);
    }
  }
}
for (const f of faults) console.log(`not ok - ${f}`);
console.log(`${keys.length} keys from the schema, ${faults.length} faults`);
process.exit(faults.length ? 1 : 0);
