// A newcomer on an older Node: every entry point says in one line which Node
// is needed and what to do, before any TypeScript is loaded. Run with the
// machine's own older Node when there is one (Debian's, /usr/bin/node).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Outcome } from './support/cli.ts';
import { tempDataDir } from './support/service.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function versionOf(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function older(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 18);
}

function findOlderNode(): { node: string; version: string } | undefined {
  let onPath: string[] = [];
  try {
    onPath = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {}
  for (const node of ['/usr/bin/node', ...onPath]) {
    const version = fs.existsSync(node) ? versionOf(node) : undefined;
    if (version && older(version)) return { node, version };
  }
  return undefined;
}

const old = findOlderNode();
if (!old) console.log('SKIPPING the older-Node entry points: no Node older than 22.18 on this machine (/usr/bin/node, which -a node)');

/** A shell command as npm runs a script: `sh -c`, in the project root, with this Node first on PATH. */
function run(command: string, node: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      cwd: ROOT,
      env: { PATH: `${path.dirname(node)}:/usr/bin:/bin`, HOME: process.env.HOME, DATA_DIR: tempDataDir() },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('one Node minimum', () => {
  it('is the same in package.json, scripts/need-node.js, README and .nvmrc names the LTS', () => {
    expect(pkg.engines.node).toBe('>=22.18');
    expect(fs.readFileSync(path.join(ROOT, 'scripts/need-node.js'), 'utf8')).toContain('const MINIMUM = [22, 18];');
    expect(fs.readFileSync(path.join(ROOT, 'scripts/node24.sh'), 'utf8')).toContain('need-node.js');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('Node 22.18');
    expect(readme).not.toMatch(/22\.12/);
    expect(fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim()).toBe('24');
    // Every script that runs the project's TypeScript checks first.
    for (const name of ['start', 'test', 'e2e', 'bench']) expect(pkg.scripts[name], name).toMatch(/^node scripts\/need-node\.js && node /);
  });
});

describe.skipIf(!old)(`on an older Node (${old?.version ?? 'none found'})`, () => {
  const line = new RegExp(
    `^securelogin: Node 22\\.18 or later is needed \\(this is ${old?.version.replaceAll('.', '\\.')}\\): install Node 24 LTS, or run \`\\. scripts/node24\\.sh\` to use a local copy\\n$`,
  );

  it.each([
    ['npm start', pkg.scripts.start],
    ['npm test', pkg.scripts.test],
    ['npm run e2e', pkg.scripts.e2e],
    ['npm run bench', pkg.scripts.bench],
    ['the CLI', 'node bin/securelogin.js tenant list'],
    ['the CLI with --help', 'node bin/securelogin.js --help'],
  ])('%s prints one line saying which Node is needed and what to do, and nothing else runs', async (_, command) => {
    const outcome = await run(command, old!.node);
    expect(outcome.stderr).toMatch(line);
    expect(outcome.stderr).not.toMatch(/\n\s+at |ERR_/);
    expect(outcome.stdout).toBe('');
    expect(outcome.code).toBe(2);
  });
});
