// #/cases/:id: one case as its caseworker follows it (case.show): how many
// people it is for and each service asked for, with its referral, state,
// the provider holding it and when it last changed; live while open.
import { api } from '../../api.js';
import { h, replace } from '../../dom.js';
import { t, fmtDateTime } from '../../i18n.js';
import { errorBox, stateBadge, table } from '../../ui.js';
import { onEvent } from '../../events.js';

export async function render(main, params) {
  const id = String(params.id || '');
  const body = h('div', {});
  main.append(h('p', {}, h('a', { href: '#/referrals' }, t('intake.referral.back'))),
    h('h1', {}, t('intake.case.title', { id: id.slice(0, 8) })), body);
  const ids = new Set();
  async function load() {
    let c;
    try { c = await api('GET', `/cases/${encodeURIComponent(id)}`); } catch (e) {
      replace(body, errorBox(e));
      return;
    }
    const services = c.services || [];
    ids.clear();
    services.forEach((s) => ids.add(s.id));
    replace(body, h('section', { class: 'card', 'aria-labelledby': 'cs-h' },
      h('h2', { id: 'cs-h' }, t('intake.case.services')),
      h('p', {}, c.people ? t('intake.case.people', { n: String(c.people) })
        : t('intake.case.people_erased')),
      table({ caption: t('intake.case.services'),
        columns: [
          { label: t('intake.list.service'), cell: (s) => t(`common.service.${s.service}`) },
          { label: t('intake.list.state'), cell: (s) => stateBadge(s.state) },
          { label: t('intake.referral.provider'), cell: (s) => s.provider || t('intake.referral.none_yet') },
          { label: t('intake.case.updated'), cell: (s) => fmtDateTime(s.updated) },
          { label: t('intake.referral.id'), cell: (s) => h('a', { href: `#/referrals/${s.id}`,
            class: 'case-referral' }, h('code', {}, s.id.slice(0, 8))) },
        ],
        rows: services,
        empty: t('intake.case.none') })));
  }
  await load();
  let timer = null;
  const off = onEvent('*', (e) => {
    if (!ids.has(e.referral) || e.kind === 'message') return;
    clearTimeout(timer);
    timer = setTimeout(load, 300);
  });
  return () => { off(); clearTimeout(timer); };
}
