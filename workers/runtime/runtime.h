/* Internals shared by the files of the worker runtime (mf__ names, not installed). */
#ifndef MF_RUNTIME_INTERNAL_H
#define MF_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "mf/alloc.h"
#include "mf/config.h"
#include "mf/executor.h"
#include "mf/lane.h"

/* Exit statuses of mf_worker_main(). */
#define MF_EXIT_OK 0
#define MF_EXIT_FAILED 1 /* one-shot: the file failed; run: the lane could not start */
#define MF_EXIT_USAGE 2  /* bad command line or configuration */

/* s as a JSON string when it is valid UTF-8, else as {"hex":"..."} so any byte survives;
 * NULL becomes null. Never returns NULL. */
json_t *mf__json_bytes(const char *s);
/* The inverse of mf__json_bytes(): *out is a heap copy, or NULL for null. Returns 0, or -1 when
 * v is neither. */
int mf__json_get_bytes(const json_t *v, char **out);
/* s as a JSON string for a person to read: bytes that are not UTF-8 become U+FFFD
 * (mf_utf8_clean). NULL: null. */
json_t *mf__json_text(const char *s);

/* Removes the flags that are ours rather than config entries from argv: --check-config (sets
 * *check), --help. Returns 1 when help was asked for. */
int mf__take_flags(int *argc, char **argv, int *check);
/* The exec'd executor (argv[1] starts with MF_EXEC_FLAG; see mf/executor.h). Never returns. */
void mf__exec_program(const mf_lane *lane, int argc, char **argv) __attribute__((noreturn));

/* `mf-worker-<lane> process FILE [--profile P] [--out DIR]` (argv[0] is "process"). */
int mf__oneshot_main(const mf_lane *lane, const mf_config *cfg, int argc, char **argv);
/* The Redis loop with ex (owned by the caller, not started yet) as the executor; returns the
 * exit status when drained. The executor is stopped by the caller's mf_executor_free(). */
int mf__worker_run(const mf_lane *lane, const mf_config *cfg, mf_executor *ex);

#endif
