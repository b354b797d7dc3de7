import { flatRoutes } from '@remix-run/fs-routes'
import type { RouteConfig } from '@remix-run/route-config'

// Routes come from the files in app/routes/ (flat routes), declared here as React Router 7 expects (v3_routeConfig).
export default flatRoutes() satisfies RouteConfig
