import { migrateToLatest } from '../store/migrations.ts';
import type { Command } from './command.ts';

/** `securelogin migrate`: the server applies migrations on start too; this lets an operator do it first, on purpose. */
export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending migrations to the directory store',
  args: [],
  migrate: false,
  details: 'The server and every other command also apply them; run this before starting a new version on PostgreSQL.',
  async run({ store }) {
    const applied = await migrateToLatest(store.db, store.dialect);
    return {
      json: { store: store.location, applied },
      text: applied.length
        ? `Applied ${applied.length} migration(s) to ${store.location}: ${applied.join(', ')}`
        : `${store.location} is up to date; no migration to apply.`,
    };
  },
};
