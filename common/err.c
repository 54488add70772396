/* Error names, descriptions and retryability, all generated from MF_ERR_MAP so the three
 * can never disagree. */
#include "mf/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct mf__err_info {
    const char *name;
    const char *desc;
    int retryable;
} mf__err_info;

static const mf__err_info mf__errs[] = {
#define MF__ERR_INFO(name, retry, desc) {"E" #name, desc, retry},
    MF_ERR_MAP(MF__ERR_INFO)
#undef MF__ERR_INFO
};

static const mf__err_info *mf__err_lookup(int code)
{
    if (code > MF__ERR_FIRST && code < MF__ERR_LAST)
        return &mf__errs[code - MF__ERR_FIRST - 1];
    return NULL;
}

const char *mf_err_name(int code)
{
    const mf__err_info *info = mf__err_lookup(code);

    if (info != NULL)
        return info->name;
    if (code == 0)
        return "OK";
    if (code < 0) {
        const char *name = strerrorname_np(-code);
        if (name != NULL)
            return name;
    }
    return "EUNKNOWN";
}

const char *mf_strerror(int code)
{
    const mf__err_info *info = mf__err_lookup(code);

    if (info != NULL)
        return info->desc;
    if (code == 0)
        return "success";
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

/* errno values that describe the moment rather than the file: a later attempt may pass. */
static int mf__errno_retryable(int e)
{
    switch (e) {
    case EAGAIN:
    case EINTR:
    case EIO:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EDQUOT:
    case ESTALE:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTUNREACH:
        return 1;
    default:
        return 0;
    }
}

int mf_err_retryable(int code)
{
    const mf__err_info *info = mf__err_lookup(code);

    if (info != NULL)
        return info->retryable;
    if (code < 0 && code > -4096)
        return mf__errno_retryable(-code);
    return 0;
}

int mf_err_vset(mf_err *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    if (fmt == NULL)
        snprintf(err->msg, sizeof(err->msg), "%s", mf_strerror(code));
    else
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int mf_err_set(mf_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mf_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int mf_err_sys(mf_err *err, int code, const char *what)
{
    return mf_err_set(err, code, "%s failed: %s", what, mf_strerror(code));
}

void mf_err_clear(mf_err *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}
