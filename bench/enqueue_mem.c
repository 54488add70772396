/* mf-bench-enqueue: drives the dispatcher's real enqueue path (mf_queue_enqueue, the
 * enqueue.lua script, pipelined in batches) at scale against a Redis given by URL, so
 * bench/memory.sh can measure what one queued file costs in Redis memory.
 *
 * Usage: mf-bench-enqueue URL N [BATCH [FIRST]]   (BATCH default 1000, FIRST 0)
 * Uploads are numbered FIRST..FIRST+N-1; a number gives the same path and content every run.
 * Each upload is distinct (its own path and SHA-256), an image, so it gets a record, a job on
 * mf:q:image, a mf:paths field, a mf:sha: key and an event. Prints "enqueued=N seconds=S". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mf/clock.h"
#include "mf/limits.h"
#include "mf/queue.h"

#define MF_BENCH_BATCH_MAX 10000

typedef struct mf__bench_item {
    char path[64];
    char sha[65];
} mf__bench_item;

/* A SHA-256-looking hex string unique to i (a 64-bit mix, repeated). */
static void mf__bench_sha(uint64_t i, char out[65])
{
    uint64_t x = i * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;

    for (int k = 0; k < 4; k++) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 27;
        snprintf(out + 16 * k, 17, "%016" PRIx64, x ^ i);
    }
}

static int mf__bench_batch(mf_redis *r, int64_t first, size_t n, mf__bench_item *items,
                           mf_upload *ups, mf_enq_result *res, mf_err *err)
{
    int64_t now = mf_clock_now_ms();

    for (size_t k = 0; k < n; k++) {
        int64_t i = first + (int64_t)k;
        int len = snprintf(items[k].path, sizeof(items[k].path),
                           "photos/%03" PRId64 "/IMG_%08" PRId64 ".jpg", i / 1000 % 1000, i);

        mf__bench_sha((uint64_t)i, items[k].sha);
        ups[k] = (mf_upload){.path = items[k].path,
                             .path_len = (size_t)len,
                             .size = 2000000 + i % 1000000,
                             .mtime_ms = now - 1000,
                             .mime = "image/jpeg",
                             .lane = "image",
                             .sha256 = items[k].sha,
                             .profile = "default",
                             .received_ms = now};
    }
    return mf_queue_enqueue(r, "mf:", MF_DEFAULT_EVENTS_MAXLEN, ups, n, res, err);
}

int main(int argc, char **argv)
{
    static mf__bench_item items[MF_BENCH_BATCH_MAX];
    static mf_upload ups[MF_BENCH_BATCH_MAX];
    static mf_enq_result res[MF_BENCH_BATCH_MAX];
    mf_redis *r = NULL;
    mf_err err = {0};
    long long n, batch = 1000, first = 0;
    int64_t t0, done = 0;
    int rc = 1;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: mf-bench-enqueue URL N [BATCH [FIRST]]\n");
        return 2;
    }
    n = strtoll(argv[2], NULL, 10);
    if (argc >= 4)
        batch = strtoll(argv[3], NULL, 10);
    if (argc == 5)
        first = strtoll(argv[4], NULL, 10);
    if (n <= 0 || batch <= 0 || batch > MF_BENCH_BATCH_MAX || first < 0) {
        fprintf(stderr, "mf-bench-enqueue: N > 0 and 0 < BATCH <= %d\n", MF_BENCH_BATCH_MAX);
        return 2;
    }
    if (mf_redis_new(&r, argv[1], &err) < 0 || mf_queue_prepare(r, "mf:", "image", &err) < 0)
        goto out;
    t0 = mf_clock_mono_ms();
    while (done < n) {
        size_t k = (size_t)(n - done < batch ? n - done : batch);

        if (mf__bench_batch(r, first + done, k, items, ups, res, &err) < 0)
            goto out;
        for (size_t j = 0; j < k; j++) {
            if (res[j].status != MF_ENQ_QUEUED) {
                fprintf(stderr, "mf-bench-enqueue: upload %lld not queued (status %d)\n",
                        first + (long long)done + (long long)j, (int)res[j].status);
                goto out;
            }
        }
        done += (int64_t)k;
    }
    printf("enqueued=%" PRId64 " seconds=%.2f\n", done, (mf_clock_mono_ms() - t0) / 1000.0);
    rc = 0;
out:
    if (rc != 0 && err.msg[0] != '\0')
        fprintf(stderr, "mf-bench-enqueue: %s\n", err.msg);
    mf_redis_free(r);
    return rc;
}
