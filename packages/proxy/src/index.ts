export { compileRoutes, lookup, prefixMatches, type RouteTable, type CompiledRoute } from './table.js';
export { compileCerts, selectContext, type CertStore } from './sni.js';
export { applyForwardHeaders, type ForwardContext } from './headers.js';
export { ProxyWorker } from './proxy-worker.js';
