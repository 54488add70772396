/* The worker runtime shared by every lane: `main` of mf-worker-<lane> (the supervisor) and of
 * mf-exec-<lane> (the lane's code) is one call each.
 *
 *   mf-worker-image [--config FILE] [--name=value ...]          run: claim jobs from Redis
 *   mf-worker-image process FILE [--profile P] [--out DIR]       one-shot: no Redis; outputs
 *                                                                 in DIR, the record as JSON
 *   mf-worker-image --check-config                                validate and exit
 *
 * Isolation model (documented in README "How a job is isolated"): the worker process holds
 * the Redis connection, never decodes anything and links no media library. It forks one
 * executor child, which execv()s mf-exec-<lane> (found as mf_executor_find() says), runs
 * lane->init() once and then jobs one at a time, fed over a pipe. One-shot mode and
 * --check-config execv() mf-exec-<lane> in place, with the same arguments. The worker watches the
 * executor: a job over its lane's wall-clock timeout or over job_memory_mb of RSS is killed
 * (SIGKILL) and failed with an error naming the limit; a crash (signal) is a retryable
 * MF_ECRASH with the signal named, but the second crash on the same file (MF_MAX_CRASHES,
 * counted in the record's `crashes`) fails it for good whatever attempts are left; a new
 * executor is forked for the next job. If the worker itself dies (kill -9), the executor
 * dies with it (PR_SET_PDEATHSIG) and the job is reclaimed by another worker after the
 * visibility timeout. */
#ifndef MF_WORKER_H
#define MF_WORKER_H

#include "mf/lane.h"

/* mf-worker-<lane>: parses argv, runs the chosen mode, returns the process exit status (or
 * becomes mf-exec-<lane> for one-shot and --check-config). lane is the supervisor's side of
 * the lane (mf/lane.h: name, finish; init/process/shutdown are the executor's and ignored);
 * a name not in the lane registry exits with MF_EXIT_USAGE. */
int mf_worker_main_lane(const mf_lane *lane, int argc, char **argv);
/* The same for a lane without a supervisor-side step: lane is the lane's name. */
int mf_worker_main(const char *lane, int argc, char **argv);

/* mf-exec-<lane>: the executor child when started by mf-worker-<lane> (never returns then);
 * else one-shot mode and --check-config as mf-worker-<lane> hands them over. Returns the
 * process exit status. */
int mf_exec_main(const mf_lane *lane, int argc, char **argv);

#endif
