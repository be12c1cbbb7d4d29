import type { Logger } from '../log.ts';

/**
 * One store's state as the requests see it. Every part that talks to a store
 * tells its watch how each operation went; the watch turns that into two log
 * lines per outage instead of one per failed operation (an outage of 20 s
 * once wrote 424 lines, and the one that said when it began was lost among them).
 */
export interface OutageWatch {
  /** An operation failed because the store did not answer: the first such failure begins an outage. */
  failed(error: unknown): void;
  /** An operation got its answer: ends the outage in progress, if any. */
  answered(): void;
  readonly down: boolean;
}

export interface Outages {
  /**
   * The watch of one store (`directory`, `sessions`); `where` says which
   * server, without credentials. `quietUntilAnswered`: failures before the server
   * first answers are the start-up's to report (one line, then exit), not an
   * outage of a running service; for servers whose every answer is reported.
   */
  watch(store: string, where: string, options?: { quietUntilAnswered?: boolean }): OutageWatch;
  /** A request was answered 503: counted against every outage in progress. */
  refused(): void;
}

interface Outage {
  began: number;
  refused: number;
  /** Began before the store ever answered: the start-up reports it, in one line, and no outage is logged. */
  quiet: boolean;
}

/**
 * A store that did not answer when the process started: `store` names which
 * (PostgreSQL, Redis), `where` its address without credentials. main.ts
 * prints it as one line and exits; nothing has been served yet.
 */
export class Unreachable extends Error {
  readonly store: string;
  readonly where: string;
  constructor(store: string, where: string, reason: string) {
    super(`${store} is unreachable at ${where}: ${reason}`);
    this.name = 'Unreachable';
    this.store = store;
    this.where = where;
  }
}

/** Records outages for one process; `log` undefined keeps them silent (the CLI's and tests' own stores). */
export function trackOutages(log: Logger | undefined): Outages {
  const current = new Set<Outage>();
  return {
    watch(store, where, options = {}) {
      let outage: Outage | undefined;
      let answeredOnce = options.quietUntilAnswered !== true;
      return {
        get down() {
          return outage !== undefined;
        },
        failed(error) {
          if (outage) return;
          outage = { began: Date.now(), refused: 0, quiet: !answeredOnce };
          current.add(outage);
          if (!outage.quiet)
            log?.warn(
              { store, where, err: error },
              `store outage began: the ${store} store does not answer; requests get 503 until it does`,
            );
        },
        answered() {
          answeredOnce = true;
          if (!outage) return;
          const { began, refused, quiet } = outage;
          current.delete(outage);
          outage = undefined;
          if (quiet) return;
          const seconds = Math.round((Date.now() - began) / 100) / 10;
          log?.info(
            { store, where, outageMs: Date.now() - began, refused },
            `store outage ended: the ${store} store answers again after ${seconds} s; ${refused} requests got 503`,
          );
        },
      };
    },
    refused() {
      for (const outage of current) outage.refused++;
    },
  };
}
