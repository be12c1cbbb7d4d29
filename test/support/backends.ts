/** Which real engines this run has; suites for the others are skipped, and test/run.ts says so. */
export const postgresUrl = process.env.TEST_DATABASE_URL;
export const redisUrl = process.env.TEST_REDIS_URL;
