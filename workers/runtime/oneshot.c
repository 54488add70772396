/* One-shot mode: `mf-worker-<lane> process FILE [--profile P] [--out DIR]`. The lane runs in
 * this process (no executor, no Redis) and the record is printed as JSON on stdout, so the
 * same code path can be tried by hand, scripted, and benchmarked against the stock tools. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/log.h"
#include "runtime.h"

#define MF__ONESHOT_DEFAULT_OUT "./out"

typedef struct mf__oneshot {
    const char *file;
    const char *profile;
    const char *outdir;
} mf__oneshot;

static int mf__oneshot_args(int argc, char **argv, mf__oneshot *a)
{
    int i;

    a->file = NULL;
    a->profile = "default";
    a->outdir = MF__ONESHOT_DEFAULT_OUT;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            a->profile = argv[++i];
        else if (strncmp(argv[i], "--profile=", 10) == 0)
            a->profile = argv[i] + 10;
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            a->outdir = argv[++i];
        else if (strncmp(argv[i], "--out=", 6) == 0)
            a->outdir = argv[i] + 6;
        else if (a->file == NULL && (argv[i][0] != '-' || strcmp(argv[i - 1], "--") == 0))
            a->file = argv[i];
        else if (strcmp(argv[i], "--") != 0)
            return -1;
    }
    return a->file != NULL && a->profile[0] != '\0' && a->outdir[0] != '\0' ? 0 : -1;
}

/* The record as the run mode would write it, plus "outdir" (outputs are relative to it). */
static json_t *mf__oneshot_record(const mf_lane *lane, const mf__oneshot *a, int64_t size,
                                  int64_t started_ms, int64_t duration_ms, int rc, mf_result *res,
                                  const mf_err *err)
{
    char started[MF_ISO_TIME_LEN], finished[MF_ISO_TIME_LEN], worker[300];
    json_t *rec = json_object();

    gethostname(worker, sizeof(worker) - 32);
    worker[sizeof(worker) - 32] = '\0';
    snprintf(worker + strlen(worker), 32, ":%ld", (long)getpid());
    mf_clock_iso(started_ms, started, sizeof(started));
    mf_clock_iso(started_ms + duration_ms, finished, sizeof(finished));
    json_object_set_new(rec, "id", json_string("oneshot"));
    json_object_set_new(rec, "path", mf__json_text(a->file));
    json_object_set_new(rec, "size", size >= 0 ? json_integer(size) : json_null());
    json_object_set_new(rec, "mime", json_null());
    json_object_set_new(rec, "type", json_string(lane->name));
    json_object_set_new(rec, "profile", mf__json_text(a->profile));
    json_object_set_new(rec, "status", json_string(rc == 0 ? "done" : "failed"));
    json_object_set_new(rec, "started_at", json_string(started));
    json_object_set_new(rec, "finished_at", json_string(finished));
    json_object_set_new(rec, "process_duration_ms", json_integer(duration_ms));
    json_object_set_new(rec, "attempts", json_integer(1));
    json_object_set_new(rec, "worker", mf__json_text(worker));
    json_object_set(rec, "outputs", res->outputs != NULL ? res->outputs : json_array());
    json_object_set(rec, "meta", res->meta != NULL ? res->meta : json_object());
    if (rc < 0)
        json_object_set_new(rec, "error", mf__json_text(err->msg));
    json_object_set_new(rec, "outdir", mf__json_text(a->outdir));
    return rec;
}

/* Opens the file, runs the lane on it. Returns the lane's rc; *size gets the file size. */
static int mf__oneshot_run(const mf_lane *lane, const mf_config *cfg, const mf__oneshot *a,
                           int64_t *size, mf_result *res, mf_err *err)
{
    char abs[PATH_MAX];
    struct stat st;
    int fd, rc;
    mf_lane_job job;

    *size = -1;
    fd = open(a->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = mf_err_set(err, -errno, "open() failed on %s: %s", a->file, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) == 0)
        *size = (int64_t)st.st_size;
    rc = mf_fs_mkdirs(a->outdir, err);
    if (rc < 0)
        goto out;
    if (realpath(a->file, abs) == NULL)
        snprintf(abs, sizeof(abs), "/proc/self/fd/%d", fd);
    job = (mf_lane_job){.id = "oneshot",
                        .path = abs,
                        .fd = fd,
                        .rel_path = a->file,
                        .profile = a->profile,
                        .mime = NULL,
                        .outdir = a->outdir};
    rc = lane->process(&job, res, err);
    if (rc == 0)
        rc = mf_result_describe(res, lane, cfg, "oneshot", a->outdir, err);
    if (rc < 0 && err->msg[0] == '\0')
        mf_err_set(err, rc, "%s", mf_strerror(rc));
out:
    if (fd >= 0)
        close(fd);
    return rc < 0 ? rc : 0;
}

int mf__oneshot_main(const mf_lane *lane, const mf_config *cfg, int argc, char **argv)
{
    int64_t t0, started_ms, size = -1;
    int rc, status = MF_EXIT_USAGE;
    mf__oneshot a;
    mf_result res = {0};
    json_t *rec = NULL;
    char *text = NULL, q[MF_ERR_MSG_MAX + 64];
    mf_err err;

    mf_err_clear(&err);
    if (mf__oneshot_args(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: mf-worker-%s process FILE [--profile P] [--out DIR]\n", lane->name);
        goto out;
    }
    rc = lane->init(cfg, &err);
    if (rc < 0) {
        fprintf(stderr, "mf-worker-%s: %s\n", lane->name, err.msg);
        goto out;
    }
    mf_result_init(&res);
    started_ms = mf_clock_now_ms();
    t0 = mf_clock_mono_ms();
    rc = mf__oneshot_run(lane, cfg, &a, &size, &res, &err);
    rec = mf__oneshot_record(lane, &a, size, started_ms, mf_clock_mono_ms() - t0, rc, &res, &err);
    text = json_dumps(rec, JSON_INDENT(2) | MF_JSON_REAL);
    if (text == NULL)
        abort();
    if (rc == 0 && mf_fs_write_atomic(a.outdir, "meta.json", text, strlen(text), &err) < 0)
        mf_log(MF_LOG_WARN, "msg=%s", mf_log_quote(q, sizeof(q), err.msg));
    printf("%s\n", text);
    fflush(stdout);
    status = rc == 0 ? MF_EXIT_OK : MF_EXIT_FAILED;
    if (lane->shutdown != NULL)
        lane->shutdown();
out:
    free(text);
    json_decref(rec);
    mf_result_close(&res);
    return status;
}
