/**
 * The layout and the configuration files of the Temporal cluster on PostgreSQL (docs/decisions/072): which process
 * runs which service on which loopback address and ports, and the YAML each one reads.
 */

/**
 * The platform's history shard count. A cluster's shard count is fixed when its databases are first set up and can
 * never change (the only way to another count is a new cluster and a migration of every workflow), so it is sized for
 * production, not for a laptop: docs/decisions/072-temporal-on-postgresql.md says why 512. docker-compose.yml's
 * cluster uses the same number. Test clusters, which live for one run, may choose fewer.
 */
export const HISTORY_SHARDS = 512

export type ClusterService = 'frontend' | 'matching' | 'history' | 'worker'

export interface ClusterMemberSpec {
  /** "frontend", "matching", "history-1", "history-2", "worker": the process's name in logs and in up.ts. */
  name: string
  service: ClusterService
  /** The loopback address it binds and announces to the others. */
  ip: string
  grpcPort: number
  membershipPort: number
  /** Its Prometheus metrics (Temporal's own latencies, for the benchmark). */
  metricsPort: number
}

/** The order the processes start in; they stop in the reverse order. */
export const START_ORDER: readonly ClusterService[] = ['frontend', 'matching', 'history', 'worker']

/**
 * Temporal's own port layout, around the frontend's port (7233 → history 7234, matching 7235, worker 7239, and
 * membership ports 300 lower): stable across restarts, which `./platform up` wants (TEMPORAL_ADDRESS stays right, and
 * the membership table's old entries point at the same places). History processes after the first one listen on the
 * same ports on their own loopback address.
 */
export function fixedLayout(ip: string, frontendPort: number, historyIps: readonly string[], metricsPorts: readonly number[]): ClusterMemberSpec[] {
  const at = (offset: number) => frontendPort + offset
  const metrics = (index: number) => metricsPorts[index] ?? 0
  return [
    { name: 'frontend', service: 'frontend', ip, grpcPort: at(0), membershipPort: at(-300), metricsPort: metrics(0) },
    { name: 'matching', service: 'matching', ip, grpcPort: at(2), membershipPort: at(-298), metricsPort: metrics(1) },
    ...historyIps.map((historyIp, index) => ({
      name: `history-${index + 1}`,
      service: 'history' as const,
      ip: historyIp,
      grpcPort: at(1),
      membershipPort: at(-299),
      metricsPort: metrics(2 + index),
    })),
    { name: 'worker', service: 'worker', ip, grpcPort: at(6), membershipPort: at(-294), metricsPort: metrics(2 + historyIps.length) },
  ]
}

export interface SqlStore {
  host: string
  port: number
  user: string
  database: string
  /** `sslmode` and the like, from DATABASE_URL's query. */
  connectAttributes: Record<string, string>
}

export interface ClusterConfigInput {
  member: ClusterMemberSpec
  members: readonly ClusterMemberSpec[]
  frontendAddress: string
  persistence: SqlStore
  visibility: SqlStore
  numHistoryShards: number
  dynamicConfigFile: string
  logLevel: string
}

/** The variable the processes read the database password from: it never lands in a file or on a command line. */
export const PASSWORD_ENV = 'TEMPORAL_SQL_PASSWORD'

// Connections per process: PostgreSQL allows 100 by default, shared with the platform's own pools.
const MAX_CONNS: Record<ClusterService, number> = { frontend: 5, matching: 5, history: 10, worker: 3 }
const VISIBILITY_MAX_CONNS = 2

const q = (value: string | number) => JSON.stringify(value)

function store(s: SqlStore, maxConns: number): string {
  const attributes = Object.entries(s.connectAttributes)
  return [
    `      sql:`,
    `        pluginName: "postgres12"`,
    `        databaseName: ${q(s.database)}`,
    `        connectAddr: ${q(`${s.host}:${s.port}`)}`,
    `        connectProtocol: "tcp"`,
    `        user: ${q(s.user)}`,
    `        password: {{ env "${PASSWORD_ENV}" | quote }}`,
    `        maxConns: ${maxConns}`,
    `        maxIdleConns: ${maxConns}`,
    `        maxConnLifetime: "1h"`,
    ...(attributes.length ? [`        connectAttributes:`, ...attributes.map(([k, v]) => `          ${q(k)}: ${q(v)}`)] : []),
  ].join('\n')
}

/** One process's configuration file. Every process knows every service's ports; each runs only its own. */
export function clusterConfigYaml(input: ClusterConfigInput): string {
  const { member, members } = input
  // The same service's other processes differ only in their address: each process describes itself.
  const services = START_ORDER.map((service) => {
    const spec = service === member.service ? member : members.find((m) => m.service === service)!
    return [
      `  ${service}:`,
      `    rpc:`,
      `      grpcPort: ${spec.grpcPort}`,
      `      membershipPort: ${spec.membershipPort}`,
      `      bindOnIP: ${q(spec.ip)}`,
    ].join('\n')
  }).join('\n')
  return `# enable-template
# Written by temporal/setup/cluster/config.ts for the process "${member.name}"; regenerated at every start.
log:
  stdout: true
  level: ${q(input.logLevel)}
  format: "console"

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${input.numHistoryShards}
  datastores:
    postgres-default:
${store(input.persistence, MAX_CONNS[member.service])}
    postgres-visibility:
${store(input.visibility, VISIBILITY_MAX_CONNS)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: ${q(member.ip)}
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: ${q(`${member.ip}:${member.metricsPort}`)}

services:
${services}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: ${q(input.frontendAddress)}

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${q(input.dynamicConfigFile)}
  pollInterval: "10s"
`
}

/** Dynamic configuration: the values the platform relies on, written out even where they are the defaults. */
export const DYNAMIC_CONFIG_YAML = `# Written by temporal/setup/cluster/config.ts. The calls use workflow updates (awaitCallStart, callConnected, endCall).
frontend.enableUpdateWorkflowExecution:
  - value: true
frontend.enableUpdateWorkflowExecutionAsyncAccepted:
  - value: true
# Nexus needs the frontend's HTTP port, which the cluster does not open; off, so that the frontend does not warn at every start.
system.enableNexus:
  - value: false
`
