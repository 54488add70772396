/* The ignore rules and profile selection of the user contract. */
#include "mf/pathrule.h"

#include <stdio.h>
#include <string.h>

#include "mf/limits.h"

static int mf__ends_with(const char *s, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);

    return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

static int mf__component_ignored(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.')
        return 1;
    return mf__ends_with(s, len, ".part") || mf__ends_with(s, len, ".tmp") ||
           mf__ends_with(s, len, ".crdownload") || mf__ends_with(s, len, "~");
}

int mf_path_ignored(const char *basename)
{
    return mf__component_ignored(basename, strlen(basename));
}

int mf_path_acceptable(const char *rel)
{
    size_t total = strlen(rel);
    const char *p = rel;

    if (total == 0 || total >= MF_PATH_MAX || rel[0] == '/')
        return 0;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);

        /* "." and ".." start with a dot, so hidden-name rule covers them */
        if (mf__component_ignored(p, len))
            return 0;
        if (slash == NULL)
            return 1;
        p = slash + 1;
    }
}

const char *mf_path_profile(const char *rel, const char *profiles, char *buf, size_t size)
{
    const char *slash = strchr(rel, '/');
    size_t len = slash ? (size_t)(slash - rel) : 0;
    const char *p = profiles ? profiles : "";

    snprintf(buf, size, "default");
    if (slash == NULL || len == 0)
        return buf;
    while (*p != '\0') {
        size_t n;

        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, " ,");
        if (n == len && memcmp(p, rel, len) == 0) {
            snprintf(buf, size, "%.*s", (int)len, rel);
            break;
        }
        p += n;
    }
    return buf;
}
