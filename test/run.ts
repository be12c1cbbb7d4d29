// `npm test`: finds out which real backends answer, says plainly which
// backend suites will be skipped, then runs vitest with that knowledge.
import net from 'node:net';
import { runVitest } from './support/vitest.ts';

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const env = { ...process.env };
env.TEST_DATABASE_URL ||= 'postgres://postgres@127.0.0.1:5432/test';
env.TEST_REDIS_URL ||= 'redis://127.0.0.1:6379';
const postgres = await answers(env.TEST_DATABASE_URL);
const redis = await answers(env.TEST_REDIS_URL);
if (!postgres) delete env.TEST_DATABASE_URL;
if (!redis) delete env.TEST_REDIS_URL;

const skipped = [
  !postgres && `PostgreSQL suites (nothing answers at ${new URL(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432').host})`,
  !redis && `Redis suites (nothing answers at ${new URL(process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379').host})`,
].filter(Boolean);
console.log(`backends: embedded SQLite yes, PostgreSQL ${postgres ? 'yes' : 'no'}, Redis ${redis ? 'yes' : 'no'}`);
for (const line of skipped) console.log(`SKIPPING ${line}; set TEST_DATABASE_URL / TEST_REDIS_URL or start the server to run them`);

const code = await runVitest('tests', process.argv.slice(2), env);
if (skipped.length) console.log(`note: skipped ${skipped.length} backend group(s): ${skipped.join('; ')}`);
process.exit(code);
