import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresUrl } from './backends.ts';

/**
 * A new, empty database on the TEST_DATABASE_URL server, named uniquely so
 * suites running side by side never see each other's rows. `drop()` removes
 * it again (closing whatever connections are still open to it).
 */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!postgresUrl) throw new Error('TEST_DATABASE_URL is not set; guard the suite with describe.skipIf(!postgresUrl)');
  const name = `slc_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await administer(`CREATE DATABASE "${name}"`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await administer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function administer(statement: string): Promise<void> {
  // CREATE DATABASE copies template1 and fails while another session uses it
  // (55006 object_in_use), which parallel suites can cause; a retry settles it.
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 5) throw error;
    } finally {
      await client.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}
