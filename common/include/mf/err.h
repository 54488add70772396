/* Error codes and the caller-supplied error buffer.
 *
 * Every failure in mediafleet is an int: 0 is success, a negative value is an error.
 * System failures are -errno; our own codes come from MF_ERR_MAP below and live below
 * MF__ERR_BASE so they never collide with errno values. Each code is either transient
 * (retry later: Redis down, timeout, a crashed child) or permanent (fail the file now).
 * The worker loop asks mf_err_retryable() and never guesses.
 *
 * Thread safety: all functions are reentrant; an mf_err belongs to its caller. */
#ifndef MF_ERR_H
#define MF_ERR_H

#include <stdarg.h>

#define MF__ERR_BASE (-10000)

/* X(name, retryable, description) */
#define MF_ERR_MAP(X)                                                                              \
    X(REDIS, 1, "redis unavailable")                                                               \
    X(TIMEOUT, 1, "timed out")                                                                     \
    X(CRASH, 1, "processing crashed")                                                              \
    X(BUSY, 1, "resource busy")                                                                    \
    X(PROTO, 1, "unexpected reply")                                                                \
    X(CORRUPT, 0, "corrupt or truncated input")                                                    \
    X(UNSUPPORTED, 0, "unsupported input")                                                         \
    X(LIMIT, 0, "input over a configured limit")                                                   \
    X(MEMLIMIT, 0, "memory limit exceeded")                                                        \
    X(INVAL, 0, "invalid argument")                                                                \
    X(CONFIG, 0, "invalid configuration")                                                          \
    X(SYMLINK, 0, "path leaves the inbox or is a symlink")                                         \
    X(ATTEMPTS, 0, "attempts exhausted")

typedef enum mf_errno {
    MF__ERR_FIRST = MF__ERR_BASE,
#define MF__ERR_ENUM(name, retry, desc) MF_E##name,
    MF_ERR_MAP(MF__ERR_ENUM)
#undef MF__ERR_ENUM
        MF__ERR_LAST
} mf_errno;

#define MF_ERR_MSG_MAX 512

/* Details of the last failure, filled by the callee. msg is a complete sentence fragment for a
 * person: it names the failing call first, lower case, no full stop. */
typedef struct mf_err {
    int code;
    char msg[MF_ERR_MSG_MAX];
} mf_err;

/* "EREDIS", "ENOENT", ... Never NULL. */
const char *mf_err_name(int code);
/* Human description of the code ("redis unavailable", strerror for -errno). Never NULL. */
const char *mf_strerror(int code);
/* 1 if a later attempt may succeed, 0 if failing now is right. */
int mf_err_retryable(int code);

/* Sets err->code and formats err->msg (may be NULL); returns code so callers can
 * `return mf_err_set(err, MF_ECORRUPT, "vips_thumbnail() failed: %s", why);` */
int mf_err_set(mf_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int mf_err_vset(mf_err *err, int code, const char *fmt, va_list ap);
/* Sets code and "<what> failed: <strerror(-code)>" for a -errno code. */
int mf_err_sys(mf_err *err, int code, const char *what);
void mf_err_clear(mf_err *err);

#endif
