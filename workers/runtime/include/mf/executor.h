/* The job executor: the child process that runs a lane's init() once and then its jobs, and
 * the parent-side supervision of it (wall-clock timeout, RSS cap, crash detection). See the
 * isolation model in mf/worker.h. Used by worker.c; public so the unit tests can drive it
 * with a fake lane.
 *
 * Protocol over two pipes, one JSON object per line:
 *   child  -> parent  {"ready":true} | {"ready":false,"code":N,"error":"..."}   after init()
 *   parent -> child   {"id","rel_path","profile","mime","outdir"}            one per job
 *   child  -> parent  {"ok":true,"code":0,"error":null,"meta":{},"outputs":[]} one per job
 * Strings that are not valid UTF-8 (paths may hold any byte) travel as {"hex":"..."}.
 *
 * How the child comes to life: mf-worker-<lane> (the supervisor) links no media library; its
 * forked child execv()s the lane's executor program mf-exec-<lane> (mf_executor_set_program,
 * found by mf_executor_find) as `mf-exec-<lane> --executor=<worker pid> -- ARGS...`, where ARGS
 * are the worker's own configuration arguments, so both load the same configuration. Without
 * a program (the unit tests' fake lanes) the forked child runs the lane itself. Either way the
 * child has the jobs on descriptor 3 and the replies on 4, dies with the worker
 * (PR_SET_PDEATHSIG) and is supervised the same way.
 *
 * Thread safety: an mf_executor belongs to one thread. The parent must not have started any
 * thread when it forks (mf_executor_start), and must not have initialised the lane's
 * libraries: a forked child inherits the parent's memory as it is. */
#ifndef MF_EXECUTOR_H
#define MF_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "mf/config.h"
#include "mf/err.h"
#include "mf/lane.h"

/* Longest line either side accepts; a longer one is a protocol error, never a big malloc. */
#define MF_EXEC_LINE_MAX (4 * 1024 * 1024)
/* How often the parent samples the executor's RSS while a job runs. */
#define MF_EXEC_RSS_INTERVAL_MS 100
/* Least time between two progress lines of the executor (mf_lane_progress). */
#define MF_EXEC_PROGRESS_MS 250
/* How long a freshly forked executor may take to run lane->init(). */
#define MF_EXEC_INIT_TIMEOUT_MS 30000

/* One job as sent to the executor. Strings are heap copies when decoded; mime and profile
 * may be NULL. */
typedef struct mf_exec_job {
    char *id;
    char *rel_path; /* relative to cfg->inbox */
    char *profile;
    char *mime;
    char *outdir; /* <outbox>/<id>; the executor creates it */
} mf_exec_job;

void mf_exec_job_close(mf_exec_job *job); /* frees the strings; NULL-safe */

/* Encodes a job as one line ending in '\n'. Returns heap text (free()); never NULL. */
char *mf_exec_job_encode(const mf_exec_job *job);
/* Decodes one line (len bytes, no NUL needed). Returns 0 or MF_EPROTO with err set. */
int mf_exec_job_decode(const char *line, size_t len, mf_exec_job *job, mf_err *err);

/* Encodes a job's outcome: rc 0 with res, or an error code with err->msg. Heap text. */
char *mf_exec_reply_encode(int rc, const mf_result *res, const mf_err *err);
/* Decodes a reply: returns the job's rc (0: res filled, which the caller then owns and must
 * mf_result_close(); < 0: err holds the lane's code and message), or MF_EPROTO for a line
 * that is not a reply. */
int mf_exec_reply_decode(const char *line, size_t len, mf_result *res, mf_err *err);

/* The first argument of an exec'd executor, followed by the worker's pid. */
#define MF_EXEC_FLAG "--executor="
/* Where the executor programs are installed, relative to the folder of mf-worker-<lane>. */
#define MF_EXEC_LIBEXEC "../libexec/mediafleet"

typedef struct mf_executor mf_executor;

/* Finds mf-exec-<lane> for the running binary: $MF_EXEC_DIR/mf-exec-<lane> when MF_EXEC_DIR
 * is set, else <dir of /proc/self/exe>/../libexec/mediafleet/mf-exec-<lane> (installed), else
 * <dir of /proc/self/exe>/mf-exec-<lane> (build tree). Returns 0 with the path in path, or
 * MF_ECONFIG with err naming every path tried. */
int mf_executor_find(const char *lane, char *path, size_t size, mf_err *err);

/* Creates the supervisor (no child yet). cfg and lane must outlive it. The wall-clock limit
 * is mf_config_lane_timeout(cfg, lane->name) (0: none); the memory limit job_memory_mb. */
mf_executor *mf_executor_new(const mf_lane *lane, const mf_config *cfg);
/* Closes the job pipe so the child runs lane->shutdown() and exits; kills it after a grace
 * period. NULL-safe. */
void mf_executor_free(mf_executor *ex);

/* Makes the child execv() path (see above) instead of running lane itself; argv holds the argc
 * configuration arguments to pass on (copied). Only lane->name is used then. */
void mf_executor_set_program(mf_executor *ex, const char *path, int argc, char *const *argv);

/* Forks the executor and waits until lane->init() has run. Returns 0, the child's init error
 * (code and message as init() returned them), or MF_ECRASH / -errno. */
int mf_executor_start(mf_executor *ex, mf_err *err);

/* Sends one job, starting a fresh executor first when there is none (or it died while
 * idle). Returns 0 or an error with err set (the job did not start). */
int mf_executor_submit(mf_executor *ex, const mf_exec_job *job, mf_err *err);

/* Waits up to slice_ms for the current job. Returns 0 while it is still running, 1 when it
 * succeeded (res filled; the caller owns it), or < 0 when it failed: the lane's own error, or
 * the executor was killed or died (MF_ETIMEOUT, MF_EMEMLIMIT, MF_ECRASH), err says which in
 * words a user understands. After a kill or crash the next submit forks a fresh executor. */
int mf_executor_wait(mf_executor *ex, int slice_ms, mf_result *res, mf_err *err);

/* Stops an idle executor the way mf_executor_free() does (lane->shutdown(), then exit; killed
 * after 2 s) and keeps ex: the next mf_executor_submit() starts a fresh one. A busy one is
 * killed. */
void mf_executor_stop(mf_executor *ex);
/* Kills the executor now (SIGKILL) and reaps it: used to abandon a job on a hard stop. */
void mf_executor_kill(mf_executor *ex);

/* How far the running job is by the lane's own reports, per mille (0..1000), or -1 when it
 * has not said (or no job runs). Only increases during a job. */
int mf_executor_progress(const mf_executor *ex);

/* The executor's pid, or 0 when none runs. */
pid_t mf_executor_pid(const mf_executor *ex);

#endif
