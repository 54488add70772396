/* logfmt logging to stderr: one line per call,
 *   level=info role=worker-image pid=123 id=01J... msg="thumbnail written"
 * journald (or the terminal) adds the time. The level is checked before the arguments are
 * evaluated, so debug lines cost nothing when disabled. Thread-safe (one write(2) per line). */
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

/* Writes s as a logfmt quoted value ("...", with \" \\ \n and non-printable bytes escaped,
 * truncated to fit) into buf and returns buf. */
const char *mf_log_quote(char *buf, size_t size, const char *s);

#endif
