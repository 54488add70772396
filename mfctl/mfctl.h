/* mfctl internals: one file per subcommand (up.c, status.c, show.c, dlq.c, retry.c,
 * config_cmd.c), the fleet supervisor (fleet.c), the workers plan (plan.c) and what they
 * share (util.c). Single-threaded program; nothing here is thread-safe. */
#ifndef MF_CTL_H
#define MF_CTL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "mf/config.h"
#include "mf/err.h"
#include "mf/id.h"
#include "mf/limits.h"
#include "mf/redis.h"

/* Exit statuses: 0 success, 1 the operation failed, 2 bad usage or configuration. */
#define MF_CTL_EXIT_FAIL 1
#define MF_CTL_EXIT_USAGE 2

/* Longest unix socket path (sizeof sockaddr_un.sun_path - 1). */
#define MF_CTL_SOCK_MAX 107

typedef struct mf_ctl {
    mf_config cfg;
    /* config flags mfctl received (--name=value / --name value), forwarded to children so
     * that `mfctl up --log-level debug` reaches every process; NULL-terminated */
    char **fwd;
    int nfwd;
} mf_ctl;

/* ---- the workers plan: "image=2,video=1,doc=1" (plan.c) ---------------------------- */

#define MF_CTL_PLAN_MAX_LANES 16
#define MF_CTL_PLAN_MAX_WORKERS 256 /* per lane */
#define MF_CTL_LANE_NAME_MAX 16     /* mf_job.lane */

typedef struct mf_ctl_plan {
    size_t n;
    struct {
        char lane[MF_CTL_LANE_NAME_MAX];
        int count;
        int from_auto; /* set by "auto": a later lane=count replaces it */
    } lanes[MF_CTL_PLAN_MAX_LANES];
} mf_ctl_plan;

/* Parses a comma-separated list of lane=count (spaces allowed around items; a lane named
 * twice is an error). Lane names are [a-z][a-z0-9_]* and shorter than 16 bytes; counts
 * 0..MF_CTL_PLAN_MAX_WORKERS. The item "auto" stands for mf_ctl_plan_auto() on the CPUs this
 * process may use (mf_ctl_cpus()); lane=count items after it override its counts
 * ("auto,video=0"). Returns 0 or MF_ECONFIG with err naming the bad item. */
int mf_ctl_plan_parse(const char *spec, mf_ctl_plan *plan, mf_err *err);

/* The default plan for a box of `cpus` CPUs (at least 1): image=cpus, doc=cpus/2,
 * video=cpus/4, each at least 1. Appends to plan (no lane may be in it yet). Why these
 * shares: see README "mfctl up" (every worker runs one job on one core at a time). */
void mf_ctl_plan_auto(int cpus, mf_ctl_plan *plan);

/* The backlog planner of workers=auto (mfctl up re-runs it every few seconds). */
typedef struct mf_ctl_balance_in {
    size_t n;                                 /* lanes */
    long long backlog[MF_CTL_PLAN_MAX_LANES]; /* jobs waiting + in flight (lag + pending) */
    double job_ms[MF_CTL_PLAN_MAX_LANES];     /* what one of them costs; <= 0: all the same */
    int is_auto[MF_CTL_PLAN_MAX_LANES];       /* 1: the planner decides; 0: fixed[i] workers */
    int fixed[MF_CTL_PLAN_MAX_LANES];
    int cpus;        /* the CPU budget (mf_ctl_cpus()) */
    int workers_min; /* per auto lane */
    int workers_max; /* per auto lane; 0: the budget */
} mf_ctl_balance_in;

/* Counts per lane into out[0..n). Fixed lanes keep their count and use a core per worker that
 * has a job; the cores left (at least one) are the budget. The auto lanes' work is backlog x
 * job_ms; each auto lane with work gets its share of the budget in workers, rounded up
 * (ceil(budget x work / all work)), so the lanes drain together instead of the longest one
 * running alone at the end: the workers may outnumber the cores, which the kernel then
 * shares between them. Cores still left go one at a time to the lane with the most work per
 * worker; busy workers one short of a multiple of the cores get one more (the kernel shares
 * each core evenly between its tasks, so 3 on 2 cores run as 1 + 2 and one job gets twice the
 * CPU of another). Never more workers than jobs, nor than workers_max; every auto lane keeps
 * workers_min. Returns the index of the auto lane with the most work (for the log's reason),
 * or -1 when none has any. Pure. */
int mf_ctl_plan_balance(const mf_ctl_balance_in *in, int *out);

/* CPUs this process may run on: its affinity mask, lowered by a cgroup v2 CPU quota
 * (/sys/fs/cgroup/cpu.max, rounded up) as a container or a Kubernetes limit sets it. */
int mf_ctl_cpus(void);

/* ---- restart back-off (fleet.c) --------------------------------------------------------- */

/* The values live with every other back-off in mf/limits.h (MF_RESTART_BACKOFF_*). */
#define MF_CTL_BACKOFF_MIN_MS MF_RESTART_BACKOFF_MIN_MS
#define MF_CTL_BACKOFF_MAX_MS MF_RESTART_BACKOFF_MAX_MS
/* A child that ran this long before dying is restarted after the minimum delay again. */
#define MF_CTL_BACKOFF_RESET_MS MF_RESTART_BACKOFF_RESET_MS

/* Delay before restarting a child that died after running ran_ms; *backoff_ms holds the
 * previous delay (0 for none) and is updated. 1 s doubling to 30 s, back to 1 s after a
 * run of 60 s. Pure. */
int64_t mf_ctl_backoff(int64_t *backoff_ms, int64_t ran_ms);

/* ---- the supervised processes (fleet.c) ------------------------------------------------ */

/* After the drain time, a worker gets a second SIGTERM (it kills its executor and hands the
 * job back, attempts unchanged, claimable at once) and this long to do so before SIGKILL. */
#define MF_CTL_HANDBACK_MS 3000

typedef struct mf_ctl_child {
    char name[40];                   /* "redis", "dispatcher", "worker-image/2" */
    char lane[MF_CTL_LANE_NAME_MAX]; /* a worker's lane, "" for the others */
    char **argv;                     /* argv[0] is the executable's path; owned by the fleet */
    int store;                       /* the embedded redis: started first, stopped last */
    unsigned id;                     /* unique in the fleet, never reused */
    unsigned gen;                    /* the reload generation that started it */
    pid_t pid;                       /* 0 while not running */
    int64_t started_ms;
    int64_t restart_at_ms; /* monotonic; 0 = no restart scheduled */
    int64_t backoff_ms;
    /* retiring (scaled down or replaced): SIGTERMed, not restarted, removed once it exits */
    int retiring;
    int64_t handback_at_ms; /* monotonic: second SIGTERM (hand the job back) */
    int64_t kill_at_ms;     /* monotonic: SIGKILL; 0 until the hand-back was asked */
} mf_ctl_child;

typedef struct mf_ctl_fleet {
    mf_ctl_child *kids;
    size_t n, cap;
    unsigned next_id;
    int64_t grace_ms; /* how long SIGTERMed children may drain before they hand back */
    int stopping;     /* set once shutdown began: dead children are not restarted */
} mf_ctl_fleet;

/* Adds a child; argv is copied. Returns the new child (valid until the next add). */
mf_ctl_child *mf_ctl_fleet_add(mf_ctl_fleet *f, const char *name, const char *const *argv,
                               int store);
/* Forks and execs c (new process group, stdin /dev/null, SIGTERM on our death). */
int mf_ctl_fleet_spawn(mf_ctl_child *c, mf_err *err);
/* Blocks SIGINT/SIGTERM/SIGHUP/SIGCHLD for sigtimedwait(); call before the first spawn. */
void mf_ctl_fleet_signals(void);
/* Reaps children that exited (non-blocking) and schedules their restart. Returns how many. */
int mf_ctl_fleet_reap(mf_ctl_fleet *f);
/* Retires c: SIGTERM now (drain: finish the job), a second SIGTERM after grace_ms (hand the
 * job back), SIGKILL MF_CTL_HANDBACK_MS later; it is not restarted and leaves the fleet once
 * reaped (mf_ctl_fleet_tick). */
void mf_ctl_fleet_retire(mf_ctl_fleet *f, mf_ctl_child *c, int64_t grace_ms);
/* Restarts children whose back-off passed, escalates retiring ones, drops those that exited
 * (pointers into kids are invalid afterwards). Returns ms until something is due (<= 1 s). */
int64_t mf_ctl_fleet_tick(mf_ctl_fleet *f);
/* Waits up to ms for SIGINT/SIGTERM/SIGHUP/SIGCHLD (blocked by mf_ctl_fleet_signals); returns
 * the signal, or 0 on timeout. */
int mf_ctl_fleet_wait(int64_t ms);
/* Live (not retiring) workers of a lane. */
int mf_ctl_fleet_count(const mf_ctl_fleet *f, const char *lane);
/* Stops everything in order: SIGTERM to workers and dispatcher, wait up to grace_ms (a second
 * stop signal cuts it short), a second SIGTERM (workers hand their job back), SIGKILL what is
 * left MF_CTL_HANDBACK_MS later; then the same for the store. Returns 0. */
int mf_ctl_fleet_stop(mf_ctl_fleet *f);
/* SIGKILLs and reaps whatever still runs; frees the fleet. */
void mf_ctl_fleet_close(mf_ctl_fleet *f);

/* ---- steering a running fleet (steer.c) ---------------------------------------------- */

#define MF_CTL_FWD_MAX 256 /* config flags passed on to children, at most */

typedef struct mf_ctl_steer {
    mf_ctl *ctx; /* its cfg is replaced by a reload */
    mf_ctl_fleet *fleet;
    char url[PATH_MAX + 16];
    char host[256];
    mf_redis *r;
    mf_ctl_plan plan; /* the configured `workers` */
    int64_t started_ms;
    int64_t next_tick_ms, next_auto_ms, next_beat_ms;
    /* per registry lane (mf_lanes order) */
    int scaled[MF_CTL_PLAN_MAX_LANES];   /* mfctl scale override, -1: none */
    int target[MF_CTL_PLAN_MAX_LANES];   /* workers wanted now, -1: not decided yet */
    int lower[MF_CTL_PLAN_MAX_LANES];    /* plans in a row that wanted fewer */
    int missing[MF_CTL_PLAN_MAX_LANES];  /* binary not found (logged once) */
    unsigned seq[MF_CTL_PLAN_MAX_LANES]; /* worker names */
    /* reload */
    unsigned gen;
    int reloading;
    unsigned reload_wait; /* id of the child being replaced */
    unsigned reload_new;  /* id of its replacement */
    long long reload_seen;
    int reload_seen_ok;
} mf_ctl_steer;

/* Prepares steering (no Redis needed yet). Returns 0 or MF_ECONFIG (bad `workers`). */
int mf_ctl_steer_init(mf_ctl_steer *st, mf_ctl *ctx, mf_ctl_fleet *fleet, const char *url,
                      mf_err *err);
/* Call every loop turn (it acts once a second): plan, planner, processes, reload, host beat. */
void mf_ctl_steer_tick(mf_ctl_steer *st);
/* SIGHUP / mfctl reload: re-reads the configuration and replaces every process. */
void mf_ctl_steer_reload(mf_ctl_steer *st);
/* Adds (does not start) a fleet process: exe with mfctl's config flags and --redis-url. */
mf_ctl_child *mf_ctl_steer_add(mf_ctl_steer *st, const char *name, const char *lane,
                               const char *exe);
void mf_ctl_steer_close(mf_ctl_steer *st);

/* ---- shared helpers (util.c) ---------------------------------------------------------- */

/* Prints "mfctl: <message>" and a newline to stderr: what a person at the terminal reads. */
void mf_ctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Finds an executable: next to mfctl's own binary (/proc/self/exe), else on PATH.
 * Returns 0 with its path in buf, or -ENOENT. */
int mf_ctl_find_exe(const char *name, char *buf, size_t size);

/* The Redis URL to talk to: redis_url, or unix://<abs state_dir>/redis.sock when empty
 * (the embedded one `mfctl up` starts). Returns 0 or -errno / MF_ECONFIG with err set. */
int mf_ctl_redis_url(const mf_config *cfg, char *buf, size_t size, mf_err *err);
/* The embedded redis socket path (absolute; state_dir need not exist yet). */
int mf_ctl_socket_path(const mf_config *cfg, char *buf, size_t size, mf_err *err);

/* Connects to the fleet's Redis; on failure prints a hint (is the fleet up?) and returns
 * MF_EREDIS. */
int mf_ctl_connect(const mf_ctl *ctx, mf_redis **out, mf_err *err);

/* Finds the record a person means: an id, a path relative to the inbox as recorded in
 * <prefix>paths, or a file inside the inbox given as a path from here. Returns 1 with id
 * filled, 0 when there is no such record, or MF_EREDIS. */
int mf_ctl_resolve(const mf_ctl *ctx, mf_redis *r, const char *target, char id[MF_ID_LEN],
                   mf_err *err);

/* Calls fn(id, ud) for every record with the given status (and type lane, unless NULL):
 * SCAN over <prefix>file:*, one pipelined HMGET per batch. O(records): an admin command's
 * cost. fn returns 0 to go on. Returns 0, fn's first error, or MF_EREDIS. */
int mf_ctl_scan_records(const mf_ctl *ctx, mf_redis *r, const char *status, const char *lane,
                        int (*fn)(const char *id, void *ud), void *ud, mf_err *err);

/* fputs with control bytes (< 0x20 but \n when keep_nl, and 0x7f) written as \xNN, so a
 * file name cannot drive the terminal. */
void mf_ctl_print_safe(FILE *out, const char *s, int keep_nl);

/* <prefix><a><b> into buf; returns buf ("" when it does not fit). */
const char *mf_ctl_key(char *buf, size_t size, const char *prefix, const char *a, const char *b);

/* ---- subcommands: argv[0] is the subcommand's name; return the exit status ------------- */

int mf_ctl_up(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_status(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_show(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_dlq(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_retry(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_reprocess(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_scale(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_pause(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_resume(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_reload(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_webhooks(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_check_config(mf_ctl *ctx, int argc, char **argv);
int mf_ctl_config_example(mf_ctl *ctx, int argc, char **argv);

#endif
