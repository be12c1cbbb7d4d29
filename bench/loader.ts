import { fork } from 'node:child_process';
import path from 'node:path';
import type {
  CannonJob,
  CannonResult,
  Job,
  LoginJob,
  LoginResult,
  MixJob,
  MixResult,
  PacedJob,
  PacedResult,
  RefreshJob,
  RefreshResult,
  SequenceJob,
  SequenceResult,
} from './load.ts';

export type * from './load.ts';

type ResultOf<J extends Job> = J extends CannonJob
  ? CannonResult
  : J extends MixJob
    ? MixResult
    : J extends PacedJob
      ? PacedResult
      : J extends SequenceJob
        ? SequenceResult
        : J extends RefreshJob
          ? RefreshResult
          : J extends LoginJob
            ? LoginResult
            : never;

/** How long a job may take beyond its own duration before its process is killed. */
const GRACE_MS = 60_000;

function budgetOf(job: Job): number {
  if ('seconds' in job) return job.seconds * 1000 + GRACE_MS;
  if ('maxSeconds' in job) return job.maxSeconds * 1000 + GRACE_MS;
  return 10 * 60_000;
}

/** Runs one load job in a fresh process of its own (bench/load.ts) and returns its figures. */
export function runLoad<J extends Job>(job: J): Promise<ResultOf<J>> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(import.meta.dirname, 'load.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`load job ${job.kind} did not finish within ${budgetOf(job)} ms`));
    }, budgetOf(job));
    const finish = (error: Error | undefined, result?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result as ResultOf<J>);
    };
    child.once('message', (message: { result?: unknown; error?: string }) => {
      if (message.error) finish(new Error(`load job ${job.kind} failed: ${message.error}`));
      else finish(undefined, message.result);
    });
    child.once('exit', (code) => finish(new Error(`load job ${job.kind} exited (${code}) without an answer`)));
    child.once('error', (error) => finish(error));
    child.send(job);
  });
}
