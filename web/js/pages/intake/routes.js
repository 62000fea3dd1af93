// The intake's pages (issue 18): a caseworker's referrals, the form for a
// new one, drafts, and one referral's timeline; a supervisor sees every
// referral of the organisation, reassigns and authorises overrides.
const both = ['caseworker', 'supervisor'];
export const routes = [
  { path: '/referrals', load: () => import('./list.js'), roles: both, nav: 'intake.nav.referrals' },
  { path: '/referrals/new', load: () => import('./new.js'), roles: both, nav: 'intake.nav.new' },
  { path: '/drafts', load: () => import('./drafts.js'), roles: both, nav: 'intake.nav.drafts' },
  { path: '/referrals/:id', load: () => import('./referral.js'), roles: both },
  { path: '/cases/:id', load: () => import('./case.js'), roles: both },
];
export const home = { caseworker: '/referrals', supervisor: '/referrals' };
