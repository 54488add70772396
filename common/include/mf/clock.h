/* Time helpers. All thread-safe. */
#ifndef MF_CLOCK_H
#define MF_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define MF_ISO_TIME_LEN 25 /* "2026-11-22T01:02:03.456Z" + NUL */

/* Wall clock, milliseconds since the epoch. */
int64_t mf_clock_now_ms(void);
/* Monotonic clock, milliseconds; for durations and timeouts only. */
int64_t mf_clock_mono_ms(void);
/* Formats epoch milliseconds as ISO-8601 UTC with milliseconds into buf (>= MF_ISO_TIME_LEN). */
char *mf_clock_iso(int64_t epoch_ms, char *buf, size_t size);

/* The next delay of an exponential back-off: min when cur <= 0, else cur doubled, at most
 * max. The limits are in mf/limits.h (MF_REDIS_RETRY_*, MF_RESTART_BACKOFF_*). */
int64_t mf_backoff_next(int64_t cur, int64_t min, int64_t max);

#endif
