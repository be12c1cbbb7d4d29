// A PostgreSQL server of the test's own, on a spare loopback port, that the
// test may stop and start again (an outage) without touching the machine's
// server on 5432. Debian's binaries, a temporary cluster, trust auth on
// 127.0.0.1. PostgreSQL refuses to run as root, so as root it runs as the
// `postgres` user in a folder that user owns.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './service.ts';

const run = promisify(execFile);
const DEBIAN_POSTGRES = '/usr/lib/postgresql';

function binDir(): string | undefined {
  if (!fs.existsSync(DEBIAN_POSTGRES)) return undefined;
  const versions = fs
    .readdirSync(DEBIAN_POSTGRES)
    .filter(
      (v) => fs.existsSync(path.join(DEBIAN_POSTGRES, v, 'bin', 'pg_ctl')) && fs.existsSync(path.join(DEBIAN_POSTGRES, v, 'bin', 'initdb')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(DEBIAN_POSTGRES, versions[0], 'bin');
}

const BIN = binDir();
const AS_ROOT = process.getuid?.() === 0;

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    };
  } catch {
    return undefined;
  }
}

const OWNER = AS_ROOT ? postgresUser() : undefined;

/** Why a private PostgreSQL server cannot be started here, or undefined when it can. */
export const postgresServerMissing: string | undefined = !BIN
  ? `no PostgreSQL binaries under ${DEBIAN_POSTGRES} (apt-get install postgresql)`
  : AS_ROOT && !OWNER
    ? 'running as root and there is no postgres user to run PostgreSQL as'
    : undefined;

/** pg_ctl and initdb as the user PostgreSQL accepts to run as. */
function postgresCommand(binary: string, args: string[]) {
  const file = path.join(BIN!, binary);
  return AS_ROOT ? run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 60_000 }) : run(file, args, { timeout: 60_000 });
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  url: string;
  port: number;
  /** Stops the server as a crash would (pg_ctl -m immediate): no checkpoint, recovery from the WAL on the next start. */
  pause(): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  /**
   * SIGSTOPs the server and every backend: connections stay open and new ones
   * are accepted by the kernel, but nothing answers (a hung host, a cut
   * network), and the server's own statement_timeout cannot fire either.
   */
  freeze(): void;
  /** SIGCONTs them again. */
  thaw(): void;
  stop(): Promise<void>;
}

const started = new Set<string>();
// A test process that dies must not leave a server running behind it.
process.once('exit', () => {
  for (const data of started) {
    try {
      const args = ['-D', data, '-m', 'immediate', 'stop'];
      if (AS_ROOT) execFileSync('runuser', ['-u', 'postgres', '--', path.join(BIN!, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(path.join(BIN!, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // Already stopped.
    }
  }
});

export async function startPostgresServer(): Promise<PostgresServer> {
  if (postgresServerMissing) throw new Error(postgresServerMissing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slc-postgres-'));
  if (OWNER) fs.chownSync(dir, OWNER.uid, OWNER.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  await postgresCommand('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);

  let running = false;
  const start = async () => {
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c max_connections=50`;
    await postgresCommand('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
    running = true;
    started.add(data);
  };
  const halt = async (mode: 'immediate' | 'fast') => {
    if (!running) return;
    await postgresCommand('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    running = false;
    started.delete(data);
  };

  try {
    await start();
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  // The postmaster's pid is the first line of postmaster.pid; its children are the backends.
  const processes = (): number[] => {
    const postmaster = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          // stat: "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
          const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
        } catch {
          return false;
        }
      })
      .map(Number);
    return [postmaster, ...children];
  };
  const signal = (name: NodeJS.Signals) => {
    for (const pid of processes()) process.kill(pid, name);
  };

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    pause: () => halt('immediate'),
    resume: start,
    async stop() {
      await halt('fast').catch(() => halt('immediate'));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
