'use strict';
// A small BullMQ queue: every new bug report gets a "triage" job, and an in-process worker completes
// it by marking the report as triaged. Redis being down never fails the HTTP request that enqueues.
const { Queue, Worker } = require('bullmq');
const { withTimeout } = require('./timeout');

const QUEUE_NAME = 'bug-report-triage';
const JOB_NAME = 'triage';
const ENQUEUE_TIMEOUT_MS = 1000;
const CLOSE_GRACE_MS = 3000;

function createTriageQueue({ redisUrl, prisma, logger }) {
  // The queue's commands give up after one reconnect attempt instead of waiting for Redis forever.
  const queue = new Queue(QUEUE_NAME, {
    connection: { url: redisUrl, maxRetriesPerRequest: 1 },
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
    },
  });
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      const { count } = await prisma.bugReport.updateMany({
        where: { id: job.data.bugReportId, status: 'new' },
        data: { status: 'triaged', triagedAt: new Date() },
      });
      return { triaged: count };
    },
    { connection: { url: redisUrl }, concurrency: 2 },
  );

  // BullMQ repeats the same connection error on every reconnect attempt; log each distinct one once.
  let lastError;
  const logRedisError = (error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn('triage queue: Redis error', { error: error.message });
  };
  queue.on('error', logRedisError);
  worker.on('error', logRedisError);
  worker.on('failed', (job, error) => {
    logger.warn('triage job failed', { jobId: job?.id, attempt: job?.attemptsMade, error: error.message });
  });
  worker.on('completed', (job) => {
    lastError = undefined;
    logger.debug('triage job completed', { jobId: job.id, bugReportId: job.data.bugReportId });
  });

  return {
    /** Queues the triage job; returns false (and logs) when Redis does not take it in time. */
    async enqueue(bugReportId) {
      try {
        // The job id makes a repeated enqueue of the same report a no-op.
        await withTimeout(queue.add(JOB_NAME, { bugReportId }, { jobId: `bug-report-${bugReportId}` }), 'Redis', ENQUEUE_TIMEOUT_MS);
        return true;
      } catch (error) {
        logger.warn('triage job not queued', { bugReportId, error: error.message });
        return false;
      }
    },
    async counts() {
      return { name: QUEUE_NAME, ...(await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')) };
    },
    /** Lets running jobs finish and closes the Redis connections, waiting CLOSE_GRACE_MS at most. */
    async close() {
      // BullMQ 6.7's worker.close() never settles while its blocking connection is reconnecting to
      // Redis; the process exits right after this anyway, and unfinished jobs are retried as stalled.
      await withTimeout(Promise.all([worker.close(), queue.close()]), 'closing the triage queue', CLOSE_GRACE_MS)
        .catch((error) => logger.warn('triage queue not closed cleanly', { error: error.message }));
    },
  };
}

module.exports = { createTriageQueue };
