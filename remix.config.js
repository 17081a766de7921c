/** @type {import('@remix-run/dev').AppConfig} */
export default {
  ignoredRouteFiles: ['**/.*', '**/*.test.{ts,tsx}', '**/*.server.ts'],
  serverModuleFormat: 'esm',
  serverPlatform: 'node',
  // `#app/*` imports point at TypeScript sources: bundle them into the server build.
  serverDependenciesToBundle: [/^#/],
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_lazyRouteDiscovery: true,
    v3_singleFetch: true,
  },
}
