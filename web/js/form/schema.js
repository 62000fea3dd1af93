// The referral form's model, read from docs/referral.schema.json (served as
// GET /api/v1/schema/referral): a tree of nodes the form is built from, and
// the catalogue keys every label, hint and choice needs. No DOM here, so the
// key check (tests/browser/check_form_catalogue.mjs) runs it under node.
//
// Keys (web/i18n/LANG/form.json), P being the schema path without indices
// ("subject.names.given", "needs.category"):
//   form.field.P, form.hint.P          every field's label and hint
//   form.enum.P.VALUE                  an enumeration's choices; one reached
//                                      through $defs/NAME: form.enum.NAME.VALUE
//   form.item.P, form.add.P, form.remove.P   a list's row ({n}), add, remove ({n})
//   form.choice.P, form.choice.P.MEMBER      "one of these members" (oneOf required)
//   form.section.S                     the sections of x-haven-sections

// Resolves a local $ref ("#/$defs/name") and merges the referring node's own
// annotations (title, description, examples, x-haven-*) over the target.
function resolve(root, node) {
  if (!node || !node.$ref) return { node: node || {}, def: null };
  const m = /^#\/\$defs\/([A-Za-z0-9_]+)$/.exec(node.$ref);
  if (!m || !root.$defs || !root.$defs[m[1]]) throw new Error(`unresolvable $ref ${node.$ref}`);
  const { $ref, ...own } = node;
  return { node: { ...root.$defs[m[1]], ...own }, def: m[1] };
}

function kindOf(s) {
  if ('const' in s) return 'const';
  if (s.enum) return 'enum';
  if (s.anyOf) return 'string';
  if (s.type === 'object') return 'object';
  if (s.type === 'array') return 'array';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'integer') return 'integer';
  if (s['x-haven-input'] === 'date') return 'date';
  if (s['x-haven-input'] === 'file') return 'file';
  if (s['x-haven-input'] === 'datetime') return 'datetime';
  if (s.type === 'string') return (s.maxLength || 0) > 200 ? 'text' : 'string';
  throw new Error(`no form control for ${JSON.stringify(s).slice(0, 80)}`);
}

// The members of an object named by its oneOf of single `required` lists
// ("date_of_birth" or "age_estimate"): the form offers a choice between them.
function choiceOf(s) {
  if (!Array.isArray(s.oneOf)) return null;
  const members = s.oneOf.map((o) => (o.required && o.required.length === 1 &&
    Object.keys(o).length === 1 ? o.required[0] : null));
  return members.every(Boolean) ? members : null;
}

function build(root, raw, path, name, required) {
  const { node: s, def } = resolve(root, raw);
  const n = {
    name, path, required, kind: kindOf(s), schema: s,
    section: s['x-haven-section'] || null,
    when: s['x-haven-when'] || null,
    valueWhen: s['x-haven-value-when'] || null, // {VALUE: condition}: offered only then
  };
  if (n.kind === 'const') n.value = s.const;
  if (n.kind === 'enum') {
    n.values = s.enum;
    n.enumKey = def ? `form.enum.${def}` : `form.enum.${path}`;
  }
  if (s.anyOf) {
    const alt = s.anyOf.find((a) => 'const' in a);
    const str = s.anyOf.find((a) => a.type === 'string');
    n.alt = alt ? alt.const : null;
    n.pattern = str && str.pattern;
  }
  if (n.kind === 'string' || n.kind === 'text') {
    n.maxLength = s.maxLength;
    n.pattern = n.pattern || s.pattern;
  }
  if (n.kind === 'integer') { n.min = s.minimum; n.max = s.maximum; }
  if (n.kind === 'object') {
    const req = new Set(s.required || []);
    n.props = Object.entries(s.properties || {}).map(([k, v]) =>
      build(root, v, path ? `${path}.${k}` : k, k, req.has(k)));
    n.choice = choiceOf(s);
  }
  if (n.kind === 'array') {
    n.minItems = s.minItems || 0;
    n.maxItems = s.maxItems || 100;
    n.item = build(root, s.items || {}, path, null, true);
    // A list of choices is a group of checkboxes rather than rows.
    n.checks = n.item.kind === 'enum';
  }
  return n;
}

// The model of the whole file: {sections: [...], root: node}.
export function model(schema) {
  const root = build(schema, schema, '', null, true);
  const sections = schema['x-haven-sections'] || [];
  for (const p of root.props)
    if (p.kind !== 'const' && !sections.includes(p.section))
      throw new Error(`member ${p.name} has no section of x-haven-sections`);
  return { sections, root };
}

// Every catalogue key the form uses for `schema`, sorted.
export function catalogueKeys(schema) {
  const { sections, root } = model(schema);
  const keys = new Set(sections.map((s) => `form.section.${s}`));
  const walk = (n, isItem) => {
    if (n.kind === 'const') return;
    if (!isItem) { keys.add(`form.field.${n.path}`); keys.add(`form.hint.${n.path}`); }
    if (n.kind === 'enum') for (const v of n.values) keys.add(`${n.enumKey}.${v}`);
    if (n.alt) keys.add(`form.enum.${n.path}.${n.alt}`);
    if (n.kind === 'object') {
      for (const p of n.props) walk(p, false);
      if (n.choice) {
        keys.add(`form.choice.${n.path}`);
        for (const m of n.choice) keys.add(`form.choice.${n.path}.${m}`);
      }
    }
    if (n.kind === 'array') {
      if (n.checks) walk(n.item, true);
      else {
        for (const k of ['item', 'add', 'remove']) keys.add(`form.${k}.${n.path}`);
        walk(n.item, true);
      }
    }
  };
  for (const p of root.props) walk(p, false);
  return [...keys].sort();
}

// "needs[2].category" -> ['needs', 2, 'category']; '' -> [].
export function splitPath(p) {
  const out = [];
  for (const part of String(p || '').split('.')) {
    if (!part) continue;
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) { out.push(part); continue; }
    if (m[1]) out.push(m[1]);
    for (const i of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

// The value at parts of `v`, or undefined.
export function valueAt(v, parts) {
  let x = v;
  for (const p of parts) {
    if (x === null || x === undefined) return undefined;
    x = x[p];
  }
  return x;
}

// Whether an x-haven-when condition holds for the file's value `v`:
// {"consent.services": true} or {"subject.safe_contact.method": ["phone", ...]}.
export function holds(when, v) {
  if (!when) return true;
  return Object.entries(when).every(([p, want]) => {
    const have = valueAt(v, splitPath(p));
    return Array.isArray(want) ? want.includes(have) : have === want;
  });
}
