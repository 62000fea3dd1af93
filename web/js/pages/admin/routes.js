// The administrator's pages: staff accounts and API tokens. No case content.
export const routes = [
  { path: '/staff', load: () => import('./staff.js'), roles: ['admin'], nav: 'admin.nav.staff' },
  { path: '/tokens', load: () => import('./tokens.js'), roles: ['admin'],
    nav: 'admin.nav.tokens' },
];
export const home = { admin: '/staff' };
