// The coordinator's page: the national referral pathway and its open offers.
export const routes = [
  { path: '/pathway', load: () => import('./pathway.js'), roles: ['coordinator'],
    nav: 'router.nav.pathway' },
];
export const home = { coordinator: '/pathway' };
