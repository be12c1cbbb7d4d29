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
    expect(app.environment.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
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
    expect(compose.configs.nginx.content).toContain('server app:3000');
    expect(app.healthcheck.test.join(' ')).toContain('/readyz');
    expect(postgres.volumes[0]).toMatch(/^postgres-data:/);
    expect(redis.volumes[0]).toMatch(/^redis-data:/);
    expect(compose.volumes).toHaveProperty('postgres-data');
    expect(compose.volumes).toHaveProperty('redis-data');
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
    expect(instructions.some((line) => line.startsWith('HEALTHCHECK ') && line.includes('/readyz'))).toBe(true);
    // The image runs the server as `npm start` does, with the same Node flags.
    const start = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start.split(' ');
    expect(start.at(-1)).toBe('server/main.ts');
    expect(instructions.find((line) => line.startsWith('CMD '))).toBe(`CMD ${JSON.stringify(start).replaceAll(',', ', ')}`);
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
