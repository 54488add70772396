/* The workers plan of `mfctl up`: how many worker processes each lane gets. Lanes come from
 * the registry (mf/lanes.h): an unknown lane is an error, never a silent lane without
 * workers. A lane whose binary is missing is skipped by up.c, not refused here, so one
 * config serves machines with and without it. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/lanes.h"
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
    if (mf_lanes_find(name, nlen) == NULL)
        return mf_err_set(err, MF_ECONFIG, "workers: unknown lane '%.*s' (lanes: %s)", (int)nlen,
                          name, mf_lanes_list());
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
     * moving without taking every core from the image lane when all three are busy. The
     * shares are the registry's auto_per_cpus. */
    size_t i;

    if (cpus < 1)
        cpus = 1;
    for (i = 0; i < mf_lanes_n && plan->n < MF_CTL_PLAN_MAX_LANES; i++) {
        int per = mf_lanes[i].auto_per_cpus;

        snprintf(plan->lanes[plan->n].lane, sizeof(plan->lanes[plan->n].lane), "%s",
                 mf_lanes[i].name);
        plan->lanes[plan->n].count = cpus / per > 0 ? cpus / per : 1;
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

/* The auto lane with the most work per worker that can take one more (fewer workers than
 * jobs and than wmax), or -1. */
static int mf__plan_pick(const mf_ctl_balance_in *in, const double *work, const int *alloc,
                         int wmax)
{
    double most = 0;
    int pick = -1;

    for (size_t i = 0; i < in->n; i++) {
        double per;

        if (work[i] <= 0 || alloc[i] >= wmax || alloc[i] >= in->backlog[i])
            continue;
        per = work[i] / (alloc[i] + 1);
        if (per > most) {
            most = per;
            pick = (int)i;
        }
    }
    return pick;
}

int mf_ctl_plan_balance(const mf_ctl_balance_in *in, int *out)
{
    int alloc[MF_CTL_PLAN_MAX_LANES] = {0};
    double work[MF_CTL_PLAN_MAX_LANES] = {0}, total = 0;
    int cpus = in->cpus > 0 ? in->cpus : 1, budget = cpus, cores, busy = 0;
    int wmax = in->workers_max > 0 ? in->workers_max : cpus;
    int best = -1;
    size_t i;

    /* fixed lanes (a count given by hand) use a core per worker that has a job */
    for (i = 0; i < in->n; i++) {
        if (!in->is_auto[i])
            budget -= (int)(in->backlog[i] < in->fixed[i] ? in->backlog[i] : in->fixed[i]);
    }
    if (budget < 1)
        budget = 1;
    for (i = 0; i < in->n; i++) {
        if (in->is_auto[i] && in->backlog[i] > 0) {
            work[i] = (double)in->backlog[i] * (in->job_ms[i] > 0 ? in->job_ms[i] : 1.0);
            total += work[i];
            if (best < 0 || work[i] > work[best])
                best = (int)i;
        }
    }
    /* every lane with work gets its share of the budget, rounded up: one job per lane moving
     * beats a lane that waits for another to drain, and a lane of long jobs gets enough
     * workers to finish with the others (2 clips beside 12 photos and 13 PDFs: 2 workers) */
    for (i = 0, cores = budget; total > 0 && i < in->n; i++) {
        double share = cores * work[i] / total;
        long long want = (long long)share;

        if (work[i] <= 0)
            continue;
        if (want < share - 1e-9)
            want++;
        if (want < 1)
            want = 1;
        if (want > in->backlog[i])
            want = in->backlog[i];
        alloc[i] = (int)(want < wmax ? want : wmax);
        budget -= alloc[i];
    }
    /* cores still left (lanes capped by their jobs): one at a time to the lane with the most
     * work per worker, never more workers than jobs, nor than workers_max */
    for (; budget > 0; budget--) {
        int pick = mf__plan_pick(in, work, alloc, wmax);

        if (pick < 0)
            break;
        alloc[pick]++;
    }
    /* The kernel shares a core evenly between the tasks on it, not the machine between all
     * tasks: 3 busy workers on 2 cores run as 1 + 2, and the one sharing a core gets half
     * the CPU of the one alone (a clip beside a PDF worker ends a second after its twin,
     * which then runs alone at the end). One worker short of a multiple of the cores, that
     * worker is added where it has a job. */
    for (i = 0; i < in->n; i++)
        busy += !in->is_auto[i]
                    ? (int)(in->backlog[i] < in->fixed[i] ? in->backlog[i] : in->fixed[i])
                    : alloc[i];
    if (cpus > 1 && busy > cpus && busy % cpus == cpus - 1) {
        int pick = mf__plan_pick(in, work, alloc, wmax);

        if (pick >= 0)
            alloc[pick]++;
    }
    for (i = 0; i < in->n; i++) {
        out[i] = in->is_auto[i] ? alloc[i] : in->fixed[i];
        if (in->is_auto[i] && out[i] < in->workers_min)
            out[i] = in->workers_min < wmax ? in->workers_min : wmax;
    }
    return best;
}
