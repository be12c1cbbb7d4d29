export { errorPages } from './errors.ts';
export { healthRoutes, type Probe } from './health.ts';
export { homeRoutes } from './home.ts';
export { createMetrics, type Metrics, routeOf } from './metrics.ts';
export { forwardedHeaders } from './proxies.ts';
export { requestId } from './request-id.ts';
export { securityHeaders } from './security-headers.ts';
export { createViews, installViews, type Render, ROOT } from './views.ts';
