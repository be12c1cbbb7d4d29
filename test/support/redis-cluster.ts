// Real Redis topologies on loopback for the session suites: a three-master
// Cluster and a Sentinel-managed master, started with Debian's redis-server
// in temporary folders and stopped again by the test that started them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';

/** Why the Cluster and Sentinel suites cannot run here, or undefined when they can. */
export const redisServerMissing: string | undefined =
  fs.existsSync(REDIS_SERVER) && fs.existsSync(REDIS_CLI)
    ? undefined
    : `${REDIS_SERVER} or ${REDIS_CLI} is not installed (apt-get install redis-server)`;

export interface RedisTopology {
  /** host:port list for REDIS_CLUSTER_NODES or REDIS_SENTINELS. */
  addresses: string;
  ports: number[];
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port; with `busOffset`, port + busOffset must be free too (the cluster bus). */
async function freePort(busOffset = 0): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (busOffset === 0) return port;
    if (port + busOffset <= 65_535 && (await portIsFree(port + busOffset))) return port;
  }
  throw new Error('no free loopback port pair found');
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Started {
  child: ChildProcess;
  port: number;
}

function startServer(dir: string, args: string[], port: number): Started {
  const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return { child, port };
}

async function stopAll(started: Started[], dir: string): Promise<void> {
  await Promise.all(
    started.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

const EPHEMERAL = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no'];

/** Three masters, no replicas, every slot assigned; resolves once cluster_state:ok on each node. */
export async function startRedisCluster(): Promise<RedisTopology> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-redis-cluster-'));
  const started: Started[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort(10_000);
      const nodeDir = path.join(dir, String(port));
      fs.mkdirSync(nodeDir);
      started.push(
        startServer(
          nodeDir,
          [
            '--port',
            String(port),
            ...EPHEMERAL,
            '--dir',
            nodeDir,
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '3000',
          ],
          port,
        ),
      );
    }
    const ports = started.map((s) => s.port);
    for (const port of ports) await until(`redis-server on ${port}`, async () => (await cli(port, 'ping')).trim() === 'PONG');
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 60_000,
    });
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () => {
        const info = await cli(port, 'cluster', 'info');
        return info.includes('cluster_state:ok') && info.includes('cluster_slots_assigned:16384');
      });
    }
    return { addresses: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, stop: () => stopAll(started, dir) };
  } catch (error) {
    await stopAll(started, dir);
    throw error;
  }
}

export const SENTINEL_MASTER_NAME = 'slc-test';

/** One master and one sentinel watching it; resolves once the sentinel reports the master's address. */
export async function startRedisSentinel(): Promise<RedisTopology & { masterPort: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-redis-sentinel-'));
  const started: Started[] = [];
  try {
    const masterPort = await freePort();
    started.push(startServer(dir, ['--port', String(masterPort), ...EPHEMERAL, '--dir', dir], masterPort));
    await until(`redis-server on ${masterPort}`, async () => (await cli(masterPort, 'ping')).trim() === 'PONG');

    const sentinelPort = await freePort();
    // A sentinel rewrites its configuration file, so it gets its own.
    const conf = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 5000`,
        '',
      ].join('\n'),
    );
    started.push(startServer(dir, [conf, '--sentinel'], sentinelPort));
    await until(`sentinel on ${sentinelPort}`, async () => {
      const reply = await cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', SENTINEL_MASTER_NAME);
      return reply.includes(String(masterPort));
    });
    return { addresses: `127.0.0.1:${sentinelPort}`, ports: [sentinelPort], masterPort, stop: () => stopAll(started, dir) };
  } catch (error) {
    await stopAll(started, dir);
    throw error;
  }
}

/**
 * One plain redis-server that a test may stop and start again on the same port
 * (an outage). `durable` keeps an append-only file in its folder, as production
 * Redis does, so what was written before the outage is there after it.
 */
export async function startRedisServer(
  options: { durable?: boolean } = {},
): Promise<RedisTopology & { url: string; pause(): Promise<void>; resume(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-redis-'));
  const port = await freePort();
  const started: Started[] = [];
  // Later arguments win over EPHEMERAL's.
  const durability = options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : [];
  const boot = async () => {
    started.push(startServer(dir, ['--port', String(port), ...EPHEMERAL, ...durability, '--dir', dir], port));
    await until(`redis-server on ${port}`, async () => (await cli(port, 'ping')).trim() === 'PONG');
  };
  await boot().catch(async (error) => {
    await stopAll(started, dir);
    throw error;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    addresses: `127.0.0.1:${port}`,
    ports: [port],
    async pause() {
      const running = started.splice(0);
      await stopAll(running, '');
    },
    resume: boot,
    stop: () => stopAll(started, dir),
  };
}
