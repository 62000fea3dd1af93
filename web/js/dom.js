// Building DOM nodes without innerHTML: data is always text, never markup.

// h('button', {class: 'btn', onclick: fn}, 'Accept', child, ...)
// Attributes are set with setAttribute, except on* (listeners) and the
// properties value, checked, selected, disabled; strings and numbers
// become text nodes; null, undefined and false children are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Empties `el` and appends `children`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
