export { compileRoutes, lookup, prefixMatches, type RouteTable, type CompiledRoute, type TableEntry, type UnavailableRoute } from './table.js';
export { compileCerts, selectContext, type SniContexts } from './sni.js';
export { applyForwardHeaders, type ForwardContext } from './headers.js';
export { ProxyWorker } from './proxy-worker.js';
