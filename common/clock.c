#include "mf/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t mf__clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mf_clock_now_ms(void)
{
    return mf__clock_ms(CLOCK_REALTIME);
}

int64_t mf_clock_mono_ms(void)
{
    return mf__clock_ms(CLOCK_MONOTONIC);
}

char *mf_clock_iso(int64_t epoch_ms, char *buf, size_t size)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(epoch_ms % 1000));
    return buf;
}

int64_t mf_backoff_next(int64_t cur, int64_t min, int64_t max)
{
    if (cur <= 0)
        return min;
    return cur > max / 2 ? max : cur * 2;
}
