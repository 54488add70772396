/* mf_dispatch_run(): sets up the loop (inotify poll, scan idle, flush check, Redis retry
 * timer, signals, stats), runs it, and drains on SIGTERM/SIGINT: stop watching and
 * scanning, let the pool finish what it hashes, record the last batch, close the loop. */
#include "disp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/log.h"

#define MF__LAT_BUCKETS (sizeof(((mf__disp *)0)->lat_hist) / sizeof(uint64_t))

void mf__disp_record_latency(mf__disp *d, uint64_t seen_ns)
{
    uint64_t tenths = (uv_hrtime() - seen_ns) / 100000; /* 0.1 ms */

    d->lat_hist[tenths < MF__LAT_BUCKETS - 1 ? tenths : MF__LAT_BUCKETS - 1]++;
    d->lat_n++;
}

/* Latency percentile q (0..1) in ms from the histogram; 100 means "100 ms or more". */
static double mf__lat_percentile(const mf__disp *d, double q)
{
    uint64_t want = (uint64_t)(q * (double)d->lat_n);
    uint64_t seen = 0;

    for (size_t i = 0; i < MF__LAT_BUCKETS; i++) {
        seen += d->lat_hist[i];
        if (seen > want)
            return (double)(i + 1) / 10.0;
    }
    return (double)MF__LAT_BUCKETS / 10.0;
}

static void mf__stats_log(mf__disp *d)
{
    mf_log(MF_LOG_INFO,
           "msg=stats queued=%llu duplicate=%llu unsupported=%llu known=%llu failed=%llu "
           "skipped=%llu "
           "events_timed=%llu latency_p50_ms=%.1f latency_p99_ms=%.1f magic_handles=%zu "
           "throttled=%llu",
           (unsigned long long)d->n_recorded[MF_ENQ_QUEUED],
           (unsigned long long)d->n_recorded[MF_ENQ_DUPLICATE],
           (unsigned long long)d->n_recorded[MF_ENQ_UNSUPPORTED],
           (unsigned long long)d->n_recorded[MF_ENQ_KNOWN],
           (unsigned long long)d->n_recorded[MF_ENQ_FAILED], (unsigned long long)d->n_skipped,
           (unsigned long long)d->lat_n, mf__lat_percentile(d, 0.5), mf__lat_percentile(d, 0.99),
           mf_classify_handles(d->magic), (unsigned long long)d->n_throttled);
}

static void mf__on_stats(uv_timer_t *handle)
{
    mf__disp *d = handle->data;

    if (d->lat_n == 0)
        return;
    mf__stats_log(d);
    memset(d->lat_hist, 0, sizeof(d->lat_hist));
    d->lat_n = 0;
}

static void mf__disp_stop(mf__disp *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    mf__watch_stop(d);
    mf__scan_stop(d);
    mf__poll_stop(d);
    mf__pipeline_drop_busy(d);
    uv_timer_stop(&d->retry_timer);
    uv_timer_stop(&d->stats_timer);
    uv_signal_stop(&d->sig_term);
    uv_signal_stop(&d->sig_int);
    /* with nothing in flight, finish now (nothing else would wake the loop); otherwise the
     * check handle flushes what the pool hands back and finishes after the last item */
    mf__disp_maybe_finish(d);
}

void mf__disp_fatal(mf__disp *d, int code, const char *msg)
{
    mf_log_error(MF_LOG_ERROR, msg, "msg=\"stopping\"");
    if (d->exit_code == 0) {
        d->exit_code = code;
        mf_err_set(&d->fatal, code, "%s", msg);
    }
    if (!d->stopping)
        mf__disp_stop(d);
}

static void mf__on_signal(uv_signal_t *handle, int signum)
{
    mf__disp *d = handle->data;

    mf_log(MF_LOG_INFO, "msg=\"draining\" signal=%s in_flight=%zu pending=%zu",
           signum == SIGTERM ? "TERM" : "INT", d->n_inflight, d->n_pending);
    mf__disp_stop(d);
}

static void mf__close_walk(uv_handle_t *handle, void *arg)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

void mf__disp_maybe_finish(mf__disp *d)
{
    if (!d->stopping || d->n_inflight > 0 || d->finished)
        return;
    d->finished = 1;
    mf__pipeline_final_flush(d);
    mf__stats_log(d);
    uv_walk(d->loop, mf__close_walk, NULL);
}

/* SIGIO: a read lease (inspect.c) held while a writer opens the file makes the kernel send
 * it, and its default action would kill us. */
static void mf__ignore_sigio(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGIO, &sa, NULL);
}

static int mf__disp_open(mf__disp *d, const mf_config *cfg, mf_err *err)
{
    int rc = 0;

    d->cfg = cfg;
    d->ino_fd = -1;
    d->inbox_fd = open(cfg->inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->inbox_fd < 0) {
        rc = mf_err_set(err, -errno, "open() of the inbox %s failed: %s", cfg->inbox,
                        strerror(errno));
        goto out;
    }
    rc = mf_classify_new(&d->magic, err);
    if (rc < 0)
        goto out;
    rc = uv_loop_init(d->loop);
    if (rc < 0) {
        rc = mf_err_set(err, rc, "uv_loop_init() failed: %s", uv_strerror(rc));
        goto out;
    }
    d->loop_inited = 1;
    rc = mf__watch_start(d, err);
    if (rc < 0)
        goto out;
    mf__scan_init(d);
    mf__poll_start(d);
    rc = mf__pipeline_start(d, err);
out:
    return rc;
}

static void mf__disp_start_misc(mf__disp *d)
{
    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    d->sig_term.data = d->sig_int.data = d;
    uv_signal_start(&d->sig_term, mf__on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, mf__on_signal, SIGINT);
    uv_timer_init(d->loop, &d->stats_timer);
    d->stats_timer.data = d;
    uv_timer_start(&d->stats_timer, mf__on_stats, MF__STATS_MS, MF__STATS_MS);
}

int mf_dispatch_run(const mf_config *cfg, mf_err *err)
{
    mf__disp *d = mf_xcalloc(1, sizeof(*d));
    char q[512];
    uv_loop_t loop;
    int rc;

    d->loop = &loop;
    d->inbox_fd = -1;
    d->ino_fd = -1;
    mf__ignore_sigio();
    rc = mf__disp_open(d, cfg, err);
    if (rc < 0)
        goto out;
    mf__disp_start_misc(d);
    mf_log(MF_LOG_INFO, "msg=started inbox=%s", mf_log_quote(q, sizeof(q), cfg->inbox));
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = d->exit_code;
    if (rc < 0)
        mf_err_set(err, rc, "%s", d->fatal.msg);
    else
        mf_log(MF_LOG_INFO, "msg=stopped");
out:
    if (d->loop_inited) {
        /* after a failed start, handles opened so far still need closing */
        mf__watch_stop(d);
        uv_walk(&loop, mf__close_walk, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    mf__scan_stop(d);
    mf__watch_close(d);
    mf__poll_close(d);
    mf__pipeline_close(d);
    mf_classify_free(d->magic);
    if (d->inbox_fd >= 0)
        close(d->inbox_fd);
    free(d);
    return rc;
}
