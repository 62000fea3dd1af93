// #/pathway: the pathway as a table (the providers of each service in the
// order they are offered referrals, with regions, languages, minors, places
// and pending offers), then the referrals with their open offers and the
// time each answer is due. The router holds summaries only: no case content.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { enumLabel, joinList, langList } from '../../labels.js';
import { onEvent } from '../../events.js';
import { errorBox, countdown } from '../../ui.js';

const label = (group, v) => enumLabel('router', group, v);
function yesNo(b) { return t(b ? 'router.common.yes' : 'router.common.no'); }
const langs = langList;

const th = (k, cls) => h('th', { scope: 'col', class: cls }, t(k));

function providerTable(service, rows) {
  const id = `rt-svc-${service}`;
  return h('section', { class: 'card rt-service', 'aria-labelledby': id },
    h('h3', { id }, label('service', service)),
    h('div', { class: 'rt-scroll' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' },
        t('router.pathway.providers_of', { service: label('service', service) })),
      h('thead', {}, h('tr', {}, th('router.pathway.col_order', 'num'),
        th('router.pathway.col_provider'), th('router.pathway.col_regions'),
        th('router.pathway.col_languages'), th('router.pathway.col_minors'),
        th('router.pathway.col_places', 'num'), th('router.pathway.col_pending', 'num'),
        th('router.pathway.col_free', 'num'), th('router.pathway.col_status'))),
      h('tbody', {}, rows.map((p, i) => {
        const places = p.capacity;
        const pending = p.offers_pending || 0;
        const regions = p.regions || [];
        const minors = p.accepts_minors;
        const free = p.places_open;
        if (p.registered === false)
          return h('tr', {}, h('td', { class: 'num' }, i + 1),
            h('th', { scope: 'row' }, p.id),
            h('td', { colspan: '7' }, h('span', { class: 'badge rt-missing' },
              t('router.pathway.not_registered'))));
        return h('tr', {},
          h('td', { class: 'num' }, i + 1),
          h('th', { scope: 'row' }, h('span', { class: 'rt-org' }, p.organisation || p.id),
            h('br', {}), h('span', { class: 'muted' }, p.id)),
          h('td', {}, regions.length ? h('bdi', {}, joinList(regions)) : t('router.pathway.all_regions')),
          h('td', {}, langs(p.languages)),
          h('td', {}, yesNo(minors)),
          h('td', { class: 'num' }, places ?? '–'),
          h('td', { class: 'num' }, pending),
          h('td', { class: 'num' }, free === 0
            ? h('span', { class: 'badge rt-full' }, t('router.pathway.full')) : free),
          h('td', {}, p.active === false
            ? h('span', { class: 'badge rt-inactive' }, t('router.pathway.inactive'))
            : h('span', { class: 'badge rt-active' }, t('router.pathway.active'))));
      })))));
}

// The open offers (pathway.show's open_offers), with what the referral's
// row adds: urgency and the referring organisation.
function openOffers(r) {
  const refs = new Map((r.referrals || []).map((x) => [x.id, x]));
  return (r.open_offers || []).map((o) => {
    const x = refs.get(o.referral) || {};
    const s = x.summary || {};
    return { id: o.referral, service: o.service || s.service, urgency: s.urgency,
      provider: o.provider, answer_by: o.answer_by, respond_by: o.respond_by || x.respond_by,
      intake: x.intake };
  });
}

export async function render(main, params, ctx) {
  const box = h('div', {});
  main.append(h('h1', {}, t('router.pathway.title')), box);

  async function load() {
    let r;
    try {
      r = await api('GET', '/pathway');
    } catch (e) {
      replace(box, errorBox(e));
      return;
    }
    const services = Object.entries(r.pathway || {});
    const offers = openOffers(r);
    const refs = r.referrals || [];
    replace(box,
      h('p', { class: 'muted' }, t('router.pathway.lead', { router: r.router || '–',
        country: r.country || '–' })),
      h('section', { 'aria-labelledby': 'rt-offers-h' },
        h('h2', { id: 'rt-offers-h' }, t('router.offers.title')),
        offers.length ? h('div', { class: 'rt-scroll' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, th('router.offers.col_referral'),
            th('router.offers.col_service'), th('router.offers.col_urgency'),
            th('router.offers.col_provider'), th('router.offers.col_from'),
            th('router.offers.col_due'))),
          h('tbody', {}, offers.map((o) => h('tr', {},
            h('th', { scope: 'row' }, String(o.id || '').slice(0, 8)),
            h('td', {}, label('service', o.service)),
            h('td', {}, label('urgency', o.urgency)),
            h('td', {}, o.provider || '–'),
            h('td', {}, o.intake || '–'),
            h('td', {}, o.answer_by ? countdown(o.answer_by)
              : o.respond_by ? t('router.offers.respond_by', { at: fmtDateTime(o.respond_by) })
                : '–')))))) : h('p', { class: 'muted' }, t('router.offers.none')),
        offers.some((o) => !o.answer_by) &&
          h('p', { class: 'field-hint' }, t('router.offers.no_deadline'))),
      h('section', { 'aria-labelledby': 'rt-path-h' },
        h('h2', { id: 'rt-path-h' }, t('router.pathway.providers')),
        services.length ? services.map(([svc, rows]) => providerTable(svc, rows))
          : h('p', { class: 'muted' }, t('router.pathway.empty'))),
      h('section', { 'aria-labelledby': 'rt-refs-h' },
        h('h2', { id: 'rt-refs-h' }, t('router.referrals.title')),
        refs.length ? h('div', { class: 'rt-scroll' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, th('router.offers.col_referral'),
            th('router.referrals.col_state'), th('router.offers.col_service'),
            th('router.offers.col_from'), th('router.referrals.col_current'))),
          h('tbody', {}, refs.map((x) => h('tr', {},
            h('th', { scope: 'row' }, String(x.id).slice(0, 8)),
            h('td', {}, h('span', { class: `badge state-${x.state}` }, label('state', x.state))),
            h('td', {}, label('service', x.summary && x.summary.service)),
            h('td', {}, x.intake || '–'),
            h('td', {}, x.current || '–')))))) : h('p', { class: 'muted' },
          t('router.referrals.none'))));
  }

  await load();
  let timer = null;
  const kick = () => { clearTimeout(timer); timer = setTimeout(load, 300); };
  const offs = ['offer', 'status', 'due_soon'].map((k) => onEvent(k, kick));
  return () => { clearTimeout(timer); offs.forEach((o) => o()); };
}
