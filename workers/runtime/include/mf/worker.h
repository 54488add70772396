/* The worker runtime shared by every lane binary: `main` of mf-worker-<lane> is one call.
 *
 *   mf-worker-image [--config FILE] [--name=value ...]          run: claim jobs from Redis
 *   mf-worker-image process FILE [--profile P] [--out DIR]       one-shot: no Redis; outputs
 *                                                                 in DIR, the record as JSON
 *   mf-worker-image --check-config                                validate and exit
 *
 * Isolation model (documented in README "How a job is isolated"): the worker process holds
 * the Redis connection and never decodes anything. It forks one executor child that runs
 * lane->init() once and then jobs one at a time, fed over a pipe. The worker watches the
 * executor: a job over its lane's wall-clock timeout or over job_memory_mb of RSS is killed
 * (SIGKILL) and failed with an error naming the limit; a crash (signal) is a retryable
 * MF_ECRASH, so a file that always crashes ends in the DLQ after max_attempts; a new
 * executor is forked for the next job. If the worker itself dies (kill -9), the executor
 * dies with it (PR_SET_PDEATHSIG) and the job is reclaimed by another worker after the
 * visibility timeout. */
#ifndef MF_WORKER_H
#define MF_WORKER_H

#include "mf/lane.h"

/* Parses argv, runs the chosen mode, returns the process exit status. */
int mf_worker_main(const mf_lane *lane, int argc, char **argv);

#endif
