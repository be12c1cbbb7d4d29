// There is no Docker engine on the project's machines, so the deployment files
// are validated statically: the compose file against the Compose
// Specification's JSON schema (shipped in dclint) and dclint's rules, the
// Dockerfile with dockerfile-utils' validator, and both for what the product
// needs of them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../server/config.ts';
import { ROOT } from '../server/web/index.ts';

const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parseYaml(composeText);
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    // The schema names draft-07 by its https address, which Ajv knows as http; the draft is the same.
    const { $schema: _draft, ...schema } = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'node_modules/dclint/schemas/compose.schema.json'), 'utf8'),
    );
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const valid = ajv.validate(schema, compose);
    expect(ajv.errors ?? [], ajv.errorsText()).toEqual([]);
    expect(valid).toBe(true);
  });

  it('passes dclint', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/dclint/bin/dclint.cjs'), 'docker-compose.yml'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.stdout + run.stderr).not.toMatch(/error/);
    expect(run.status).toBe(0);
  });

  it('runs two app replicas on PostgreSQL and Redis behind one published port', () => {
    const { app, proxy, postgres, redis } = compose.services;
    expect(app.deploy.replicas).toBe(2);
    expect(app.environment.DATABASE_URL).toBe('postgres://securelogin@postgres:5432/securelogin');
    expect(app.environment.REDIS_URL).toBe('redis://redis:6379');
    expect(app.environment.TRUST_PROXY).toBe('true');
    expect(app.environment.PROXY_HOPS).toBeUndefined();
    // nginx reaches the app from the compose network, so its X-Forwarded-For is believed; a stranger's is not.
    const trusted = /^\$\{TRUSTED_PROXIES:-(.+)\}$/.exec(app.environment.TRUSTED_PROXIES)?.[1];
    const { trustedProxies } = loadConfig({ TRUSTED_PROXIES: trusted });
    expect(trustedProxies.trusts('172.18.0.4')).toBe(true);
    expect(trustedProxies.trusts('203.0.113.9')).toBe(false);
    expect(app.ports).toBeUndefined();
    expect(proxy.ports).toHaveLength(1);
    // The image's liveness check, not one of its own that could differ from it.
    expect(app.healthcheck).toBeUndefined();
    expect(proxy.depends_on.app.condition).toBe('service_healthy');
    expect(postgres.volumes[0]).toMatch(/^postgres-data:/);
    expect(redis.volumes[0]).toMatch(/^redis-data:/);
    expect(compose.volumes).toHaveProperty('postgres-data');
    expect(compose.volumes).toHaveProperty('redis-data');
  });

  it('has nginx find the replicas again by itself, so that --scale app=4 needs no restart of it', () => {
    // As nginx reads it: compose turns $$ into $.
    const nginx: string = compose.configs.nginx.content.replaceAll('$$', '$');
    const directives = nginx
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean);
    // Docker's embedded DNS, asked again once an answer is 10 s old.
    const resolver = directives.find((d) => d.startsWith('resolver '));
    expect(resolver).toMatch(/^resolver 127\.0\.0\.11 .*valid=(\d+)s/);
    expect(Number(/valid=(\d+)s/.exec(resolver!)![1])).toBeLessThanOrEqual(30);
    // A static upstream block or a literal proxy_pass host is resolved once, at start: the replicas added later never get traffic.
    expect(directives.some((d) => d.startsWith('upstream '))).toBe(false);
    const variable = /^set \$(\w+) http:\/\/app:3000;$/.exec(directives.find((d) => d.startsWith('set ')) ?? '')?.[1];
    expect(variable).toBeDefined();
    const proxyPasses = directives.filter((d) => d.startsWith('proxy_pass '));
    expect(proxyPasses).toEqual([`proxy_pass $${variable};`]);
    // A replica that is not ready (503) is passed over for another.
    expect(directives).toContain('proxy_next_upstream error timeout http_502 http_503;');
  });

  it('passes a PostgreSQL password with @ / : # % to the app intact', async () => {
    const pg = (await import('pg')).default;
    const password = 'p@ss/w:rd#50%';
    // Compose's own interpolation of ${VAR}, ${VAR:-default} and ${VAR:?message}.
    const shell = { POSTGRES_PASSWORD: password, PUBLIC_URL: 'https://connect.example.com' } as Record<string, string>;
    const environment = Object.fromEntries(
      Object.entries(compose.services.app.environment as Record<string, string>).map(([name, value]) => [
        name,
        value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, variable, kind, rest) => shell[variable] ?? (kind === '-' ? rest : '')),
      ]),
    );
    const config = loadConfig(environment);
    const parameters = (new pg.Client({ connectionString: config.databaseUrl }) as unknown as { connectionParameters: any })
      .connectionParameters;
    expect(parameters).toMatchObject({ user: 'securelogin', password, host: 'postgres', port: 5432, database: 'securelogin' });
    // And PostgreSQL itself is given the same password.
    expect(compose.services.postgres.environment.POSTGRES_PASSWORD).toBe(compose.services.app.environment.DATABASE_PASSWORD);
  });

  it('keeps Redis durable and never evicts tokens', () => {
    const command: string[] = compose.services.redis.command;
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual(['--appendonly', 'yes']);
    expect(command.slice(command.indexOf('--maxmemory-policy'), command.indexOf('--maxmemory-policy') + 2)).toEqual([
      '--maxmemory-policy',
      'noeviction',
    ]);
  });
});

describe('Dockerfile', () => {
  it('has no errors by dockerfile-utils', () => {
    expect(validateDockerfile(dockerfile)).toEqual([]);
  });

  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));

  it('runs the app on node:24-slim as a non-root user with a healthcheck', () => {
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    expect(froms.at(-1)).toBe('FROM node:24-slim');
    expect(instructions.filter((line) => line.startsWith('USER ')).at(-1)).toBe('USER node');
    // The image runs the server as `npm start` does, with the same Node flags (the version check is for older Nodes than the image's).
    const start = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
      .scripts.start.replace(/^node scripts\/need-node\.js && /, '')
      .split(' ');
    expect(start.at(-1)).toBe('server/main.ts');
    expect(instructions.find((line) => line.startsWith('CMD '))).toBe(`CMD ${JSON.stringify(start).replaceAll(',', ', ')}`);
  });

  it('checks liveness on /healthz, as README tells orchestrators, and leaves readiness (/readyz) to the load balancer', () => {
    const healthchecks = instructions.filter((line) => line.startsWith('HEALTHCHECK '));
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]).toContain("/healthz'");
    expect(healthchecks[0]).not.toContain('/readyz');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/\*\*`\/readyz`\*\*[\s\S]*for readiness, and \*\*`\/healthz`\*\*[\s\S]*liveness/);
    expect(readme).toContain('Do not restart instances on a failing `/readyz`');
    expect(readme).toMatch(/image's `HEALTHCHECK` is liveness, on\s+`\/healthz`/);
  });

  it('has what the CLI needs to start: its Node check', () => {
    const copied = instructions.filter((line) => line.startsWith('COPY ') && !line.includes('--from=')).map((line) => line.split(/\s+/)[1]);
    expect(copied).toContain('bin');
    expect(copied).toContain('scripts/need-node.js');
    expect(fs.readFileSync(path.join(ROOT, 'bin/securelogin.js'), 'utf8')).toContain("import '../scripts/need-node.js';");
  });

  it('copies only what exists and what .dockerignore does not exclude', () => {
    const ignored = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    const sources = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(fs.existsSync(path.join(ROOT, source)), `${source} exists`).toBe(true);
      expect(ignored, `${source} is not ignored`).not.toContain(source);
    }
  });
});
