/* The workers plan of `mfctl up`: how many worker processes each lane gets. Any lane name is
 * accepted so a new lane needs no change here; a lane whose binary is missing is skipped by
 * up.c, not refused here, so one config serves machines with and without it. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mfctl.h"

static int mf__plan_lane_ok(const char *s, size_t len)
{
    if (len == 0 || len >= MF_CTL_LANE_NAME_MAX || !islower((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!islower(c) && !isdigit(c) && c != '_')
            return 0;
    }
    return 1;
}

/* Trims spaces around [*s, *s + *len). */
static void mf__plan_trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* One "lane=count" item of length len. */
static int mf__plan_item(const char *item, size_t len, mf_ctl_plan *plan, mf_err *err)
{
    const char *eq = memchr(item, '=', len);
    const char *name = item;
    const char *num;
    size_t nlen, numlen;
    char digits[8];
    char *end = NULL;
    long count;

    if (eq == NULL)
        return mf_err_set(err, MF_ECONFIG, "workers: '%.*s' is not lane=count", (int)len, item);
    nlen = (size_t)(eq - item);
    num = eq + 1;
    numlen = len - nlen - 1;
    mf__plan_trim(&name, &nlen);
    mf__plan_trim(&num, &numlen);
    if (!mf__plan_lane_ok(name, nlen))
        return mf_err_set(err, MF_ECONFIG, "workers: bad lane name '%.*s' (want [a-z][a-z0-9_]*)",
                          (int)nlen, name);
    if (numlen == 0 || numlen >= sizeof(digits) || !isdigit((unsigned char)num[0]))
        return mf_err_set(err, MF_ECONFIG, "workers: bad count '%.*s' for lane %.*s", (int)numlen,
                          num, (int)nlen, name);
    memcpy(digits, num, numlen);
    digits[numlen] = '\0';
    errno = 0;
    count = strtol(digits, &end, 10);
    if (errno != 0 || *end != '\0' || count > MF_CTL_PLAN_MAX_WORKERS)
        return mf_err_set(err, MF_ECONFIG, "workers: count '%s' for lane %.*s is not 0..%d", digits,
                          (int)nlen, name, MF_CTL_PLAN_MAX_WORKERS);
    for (size_t i = 0; i < plan->n; i++) {
        if (strlen(plan->lanes[i].lane) != nlen || memcmp(plan->lanes[i].lane, name, nlen) != 0)
            continue;
        if (!plan->lanes[i].from_auto)
            return mf_err_set(err, MF_ECONFIG, "workers: lane %.*s is named twice", (int)nlen,
                              name);
        plan->lanes[i].count = (int)count;
        plan->lanes[i].from_auto = 0;
        return 0;
    }
    if (plan->n == MF_CTL_PLAN_MAX_LANES)
        return mf_err_set(err, MF_ECONFIG, "workers: more than %d lanes", MF_CTL_PLAN_MAX_LANES);
    memcpy(plan->lanes[plan->n].lane, name, nlen);
    plan->lanes[plan->n].lane[nlen] = '\0';
    plan->lanes[plan->n].count = (int)count;
    plan->n++;
    return 0;
}

void mf_ctl_plan_auto(int cpus, mf_ctl_plan *plan)
{
    /* Image jobs are short and come in bursts: one worker per core keeps every core busy on
     * a folder of photos. Document (OCR) and video jobs are long: fewer workers keep them
     * moving without taking every core from the image lane when all three are busy. */
    static const struct {
        const char *lane;
        int per; /* one worker per `per` CPUs */
    } shares[] = {{"image", 1}, {"video", 4}, {"doc", 2}};
    size_t i;

    if (cpus < 1)
        cpus = 1;
    for (i = 0; i < sizeof(shares) / sizeof(shares[0]) && plan->n < MF_CTL_PLAN_MAX_LANES; i++) {
        snprintf(plan->lanes[plan->n].lane, sizeof(plan->lanes[plan->n].lane), "%s",
                 shares[i].lane);
        plan->lanes[plan->n].count = cpus / shares[i].per > 0 ? cpus / shares[i].per : 1;
        if (plan->lanes[plan->n].count > MF_CTL_PLAN_MAX_WORKERS)
            plan->lanes[plan->n].count = MF_CTL_PLAN_MAX_WORKERS;
        plan->lanes[plan->n].from_auto = 1;
        plan->n++;
    }
}

int mf_ctl_cpus(void)
{
    cpu_set_t set;
    long long quota = 0, period = 0;
    int n = 0;
    FILE *f;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* "max 100000" when unlimited, "150000 100000" for a limit of 1.5 CPUs */
    f = fopen("/sys/fs/cgroup/cpu.max", "re");
    if (f != NULL) {
        if (fscanf(f, "%lld %lld", &quota, &period) == 2 && quota > 0 && period > 0 &&
            (quota + period - 1) / period < n)
            n = (int)((quota + period - 1) / period);
        fclose(f);
    }
    return n > 0 ? n : 1;
}

int mf_ctl_plan_parse(const char *spec, mf_ctl_plan *plan, mf_err *err)
{
    const char *p = spec;
    int rc = 0;

    memset(plan, 0, sizeof(*plan));
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *item = p;
        size_t ilen = len;

        mf__plan_trim(&item, &ilen);
        /* an empty spec or a trailing comma ends the list; an empty item elsewhere is an error */
        if (ilen == 4 && memcmp(item, "auto", 4) == 0 && plan->n == 0) {
            mf_ctl_plan_auto(mf_ctl_cpus(), plan);
        } else if (ilen > 0 || comma != NULL) {
            rc = mf__plan_item(item, ilen, plan, err);
            if (rc < 0)
                goto out;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
out:
    return rc;
}
