// The workbench's catalogues (web/i18n/LANG/AREA.json) are complete:
// every literal key given to t() in web/js is in English; French and
// Arabic have exactly English's keys, no empty value and the same
// {placeholders}; every key of a route's menu entry exists; no page sets
// innerHTML or touches the browser's storage.
// usage: node check_catalogues.mjs WEB_DIR     exits 1 listing every fault
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const web = process.argv[2];
if (!web) { console.error('usage: node check_catalogues.mjs WEB_DIR'); process.exit(2); }
const LANGS = ['en', 'fr', 'ar'];
const faults = [];

function files(dir, ext) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

const areas = readdirSync(join(web, 'i18n', 'en')).filter((n) => n.endsWith('.json'));
const cat = {};
for (const l of LANGS) {
  cat[l] = {};
  for (const a of areas) {
    let d;
    try { d = JSON.parse(readFileSync(join(web, 'i18n', l, a), 'utf8')); } catch (e) {
      faults.push(`${l}/${a}: ${e.message}`);
      continue;
    }
    for (const [k, v] of Object.entries(d)) {
      if (k in cat[l]) faults.push(`${l}: ${k} is in two files`);
      if (!k.startsWith(`${a.replace(/\.json$/, '')}.`))
        faults.push(`${l}/${a}: ${k} does not start with the area's name`);
      if (typeof v !== 'string' || v.trim() === '') faults.push(`${l}/${a}: ${k} is empty`);
      cat[l][k] = v;
    }
  }
}
const holes = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
for (const l of ['fr', 'ar']) {
  for (const k of Object.keys(cat.en)) {
    if (!(k in cat[l])) faults.push(`${l}: missing ${k}`);
    else if (holes(cat[l][k]) !== holes(cat.en[k]))
      faults.push(`${l}: ${k} has placeholders {${holes(cat[l][k])}}, English {${holes(cat.en[k])}}`);
  }
  for (const k of Object.keys(cat[l])) if (!(k in cat.en)) faults.push(`${l}: ${k} is not in English`);
}

let used = 0;
for (const f of files(join(web, 'js'), '.js')) {
  const src = readFileSync(f, 'utf8');
  const name = relative(web, f);
  for (const m of src.matchAll(/\bt\(\s*'([a-z0-9_.]+)'/g)) {
    used++;
    if (!(m[1] in cat.en)) faults.push(`${name}: t('${m[1]}') is in no catalogue`);
  }
  for (const m of src.matchAll(/\bnav:\s*'([a-z0-9_.]+)'/g))
    if (!(m[1] in cat.en)) faults.push(`${name}: menu entry '${m[1]}' is in no catalogue`);
  if (/\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=/.test(src))
    faults.push(`${name}: sets HTML from a string (use dom.js's h())`);
  if (/\b(localStorage|sessionStorage|indexedDB)\b/.test(src))
    faults.push(`${name}: uses the browser's storage`);
}

for (const f of faults) console.log(`not ok - ${f}`);
console.log(`${Object.keys(cat.en).length} keys in ${areas.length} areas, ${used} uses in the code, ` +
  `${faults.length} faults`);
process.exit(faults.length ? 1 : 0);
