// The provider's pages: the inbox of offers and cases, and one referral
// (its summary before acceptance, the case file after receipt).
export const routes = [
  { path: '/inbox', load: () => import('./inbox.js'), roles: ['caseworker', 'supervisor'],
    nav: 'provider.nav.inbox' },
  { path: '/inbox/:id', load: () => import('./case.js'), roles: ['caseworker', 'supervisor'] },
];
export const home = { caseworker: '/inbox', supervisor: '/inbox' };
