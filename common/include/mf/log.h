/* logfmt logging to stderr: one line per call,
 *   ts=2026-12-04T13:02:03.456Z level=info role=worker-image pid=123 id=01J... msg="written"
 * ts (RFC 3339, UTC, milliseconds) comes first so logs read outside journald (a file, a
 * container runtime, `mfctl up` in a terminal) can be ordered and merged. The level is
 * checked before the arguments are evaluated, so debug lines cost nothing when disabled.
 * Thread-safe (one write(2) per line). */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stddef.h>

typedef enum mf_log_level {
    MF_LOG_DEBUG = 0,
    MF_LOG_INFO = 1,
    MF_LOG_WARN = 2,
    MF_LOG_ERROR = 3,
} mf_log_level;

extern int mf__log_level;

/* role is copied; level names: debug info warn error. Returns -1 on an unknown name. */
int mf_log_init(const char *role, const char *level_name);
void mf_log_set_level(mf_log_level level);

/* fmt formats the key=value tail of the line, e.g. "id=%s msg=\"%s\"". Quote values that
 * come from users with mf_log_quote(). */
#define mf_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((int)(level) >= mf__log_level)                                                         \
            mf__log_write((level), __VA_ARGS__);                                                   \
    } while (0)

void mf__log_write(mf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one way to log an error text: mf_log(level, fmt, ...) followed by error="..." with the
 * text quoted and escaped by mf_log_quote() (an error names files and folders, which may hold
 * quotes, newlines or any byte). error may be NULL (logged as ""). Do not write error= by
 * hand. */
#define mf_log_error(level, error, ...)                                                            \
    do {                                                                                           \
        if ((int)(level) >= mf__log_level)                                                         \
            mf__log_write_error((level), (error), __VA_ARGS__);                                    \
    } while (0)

void mf__log_write_error(mf_log_level level, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s as a logfmt quoted value ("...", with \" \\ \n and non-printable bytes escaped,
 * truncated to fit) into buf and returns buf. */
const char *mf_log_quote(char *buf, size_t size, const char *s);

#endif
