import { NavLink } from '@remix-run/react'

/** The admin portal's own navigation, under the site header. */
export function AdminNav() {
  const links: [string, string][] = [
    ['/admin', 'Overview'],
    ['/admin/users', 'Users'],
    ['/admin/payouts', 'Payouts'],
    ['/admin/calls', 'Calls'],
    ['/admin/revenue', 'Revenue'],
    ['/admin/settings', 'Settings'],
    ['/admin/audit', 'Audit log'],
    ['/admin/mail', 'Mail outbox'],
    ['/admin/ledger', 'Ledger check'],
    ['/admin/password', 'Your password'],
  ]
  return (
    <nav aria-label="Admin" className="portal-nav">
      <ul>
        {links.map(([to, label]) => (
          <li key={to}>
            <NavLink to={to} end={to === '/admin'}>
              {label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  )
}

export function OperatorNav() {
  const links: [string, string][] = [
    ['/operator', 'Dashboard'],
    ['/operator/profile', 'Profile and price'],
    ['/operator/calls', 'Calls'],
    ['/operator/payouts', 'Payouts'],
    ['/operator/plugin', 'Plugin'],
  ]
  return (
    <nav aria-label="Operator" className="portal-nav">
      <ul>
        {links.map(([to, label]) => (
          <li key={to}>
            <NavLink to={to} end={to === '/operator'}>
              {label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  )
}

/** A link to a workflow's page in the Temporal UI. */
export function TemporalLink({ uiUrl, namespace, workflowId }: { uiUrl: string; namespace: string; workflowId: string }) {
  const href = `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`
  return (
    <a href={href} target="_blank" rel="noreferrer">
      Workflow <span className="visually-hidden">{workflowId}</span> in Temporal
    </a>
  )
}
