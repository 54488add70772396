/* mfctl's pure parts: the workers plan, the restart back-off, finding binaries and the Redis
 * URL of the embedded store (linked from the mf_ctl library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/lanes.h"
#include "mfctl.h"

static void expect_lane(const mf_ctl_plan *plan, size_t i, const char *lane, int count)
{
    assert_true(i < plan->n);
    assert_string_equal(plan->lanes[i].lane, lane);
    assert_int_equal(plan->lanes[i].count, count);
}

static void test_plan_default(void **state)
{
    mf_ctl_plan plan;
    mf_err err;

    assert_int_equal(mf_ctl_plan_parse("image=2,video=1,doc=1", &plan, &err), 0);
    assert_int_equal(plan.n, 3);
    expect_lane(&plan, 0, "image", 2);
    expect_lane(&plan, 1, "video", 1);
    expect_lane(&plan, 2, "doc", 1);
}

/* The default plan follows the CPUs: 2 -> image=2,video=1,doc=1; 8 -> image=8,video=2,doc=4;
 * later items override it, but a lane named twice by hand is still an error. */
static void test_plan_auto(void **state)
{
    mf_ctl_plan plan;
    mf_err err;

    (void)state;
    memset(&plan, 0, sizeof(plan));
    mf_ctl_plan_auto(2, &plan);
    /* every lane of the registry, in its order, one worker per auto_per_cpus CPUs (at least
     * one) */
    assert_int_equal(plan.n, mf_lanes_n);
    for (size_t i = 0; i < mf_lanes_n; i++) {
        int per = mf_lanes[i].auto_per_cpus;

        expect_lane(&plan, i, mf_lanes[i].name, 2 / per > 0 ? 2 / per : 1);
    }
    expect_lane(&plan, 0, "image", 2);
    expect_lane(&plan, 1, "video", 1);
    expect_lane(&plan, 2, "doc", 1);
    memset(&plan, 0, sizeof(plan));
    mf_ctl_plan_auto(8, &plan);
    assert_int_equal(plan.lanes[0].count, 8);
    assert_int_equal(plan.lanes[1].count, 2);
    assert_int_equal(plan.lanes[2].count, 4);
    memset(&plan, 0, sizeof(plan));
    mf_ctl_plan_auto(0, &plan);
    assert_int_equal(plan.lanes[1].count, 1);

    assert_true(mf_ctl_cpus() >= 1);
    assert_int_equal(mf_ctl_plan_parse("auto, video=0, doc=3", &plan, &err), 0);
    assert_int_equal(plan.n, mf_lanes_n);
    assert_int_equal(plan.lanes[0].count, mf_ctl_cpus());
    assert_int_equal(plan.lanes[1].count, 0);
    assert_int_equal(plan.lanes[2].count, 3);
    assert_int_equal(mf_ctl_plan_parse("auto,video=0,video=1", &plan, &err), MF_ECONFIG);
    assert_int_equal(mf_ctl_plan_parse("image=1,auto", &plan, &err), MF_ECONFIG);
}

static void test_plan_spaces_zero_and_empty(void **state)
{
    mf_ctl_plan plan;
    mf_err err;

    assert_int_equal(mf_ctl_plan_parse(" image = 4 , doc=0 ,", &plan, &err), 0);
    assert_int_equal(plan.n, 2);
    assert_string_equal(plan.lanes[0].lane, "image");
    assert_int_equal(plan.lanes[0].count, 4);
    assert_string_equal(plan.lanes[1].lane, "doc");
    assert_int_equal(plan.lanes[1].count, 0);
    assert_int_equal(mf_ctl_plan_parse("", &plan, &err), 0);
    assert_int_equal(plan.n, 0);
    assert_int_equal(mf_ctl_plan_parse("  ", &plan, &err), 0);
    assert_int_equal(plan.n, 0);
}

static void test_plan_errors(void **state)
{
    static const char *const bad[] = {
        "image",     "image=",
        "image=x",   "image=-1",
        "Image=1",   "image=1,image=2",
        "image=257", "=1",
        ",image=1",  "image=1,,doc=1",
        "im age=1",  "lane_name_is_long=1",
        "image=1x",  "image=99999999999",
    };
    mf_ctl_plan plan;
    mf_err err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        if (mf_ctl_plan_parse(bad[i], &plan, &err) != MF_ECONFIG)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err.msg, "workers:"));
    }
    assert_int_equal(mf_ctl_plan_parse("image=256", &plan, &err), 0);
}

/* Lanes come from the registry: a lane that does not exist is an error with the list. */
static void test_plan_unknown_lane(void **state)
{
    mf_ctl_plan plan;
    mf_err err;

    (void)state;
    assert_int_equal(mf_ctl_plan_parse("image=1,foo=1", &plan, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown lane 'foo'"));
    assert_non_null(strstr(err.msg, "image, video, doc"));
}

/* The backlog planner on 2 CPUs: a doc backlog alone takes both cores; every auto lane keeps
 * workers_min; lanes share the cores by their work (jobs x what a job costs), rounded up, and
 * busy workers one short of a multiple of the cores get one more; fixed lanes keep their count
 * and use a core per busy worker; no lane gets more workers than jobs. */
static void test_plan_balance(void **state)
{
    mf_ctl_balance_in in = {.n = 3, .cpus = 2, .workers_min = 1, .is_auto = {1, 1, 1}};
    int out[MF_CTL_PLAN_MAX_LANES];

    (void)state;
    /* image video doc */
    in.backlog[2] = 38;
    assert_int_equal(mf_ctl_plan_balance(&in, out), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 2);
    /* nothing waits: the minimum everywhere */
    in.backlog[2] = 0;
    assert_int_equal(mf_ctl_plan_balance(&in, out), -1);
    assert_int_equal(out[0] + out[1] + out[2], 3);
    /* one job: one worker is enough */
    in.backlog[2] = 1;
    in.workers_min = 0;
    mf_ctl_plan_balance(&in, out);
    assert_int_equal(out[2], 1);
    assert_int_equal(out[0], 0);
    /* photos and pages of the same cost: 100 to 40 is 1.4 cores to 0.6, rounded up: 3 busy
     * workers on 2 cores, one short of even shares: a fourth where there are jobs */
    in.backlog[0] = 100;
    in.backlog[2] = 40;
    mf_ctl_plan_balance(&in, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 2);
    /* on 4 cores, when a page costs five photos, the pages get more of them */
    in.cpus = 4;
    in.job_ms[0] = 200;
    in.job_ms[2] = 1000;
    assert_int_equal(mf_ctl_plan_balance(&in, out), 2);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 3);
    in.cpus = 2;
    /* the mixed backlog: 2 clips of 3.5 s beside 12 photos and 13 PDFs get a worker each, so
     * neither clip runs alone at the end; three lanes busy on two cores: none is starved */
    in.backlog[0] = 12;
    in.backlog[1] = 2;
    in.backlog[2] = 13;
    in.job_ms[1] = 3500;
    in.job_ms[2] = 250;
    assert_int_equal(mf_ctl_plan_balance(&in, out), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 1);
    /* the photos done: 2 clips and 1 PDF worker would run as 1 + 2 on two cores; a second PDF
     * worker makes it 2 + 2, and both clips get the same share */
    in.backlog[0] = 0;
    in.backlog[2] = 8;
    in.job_ms[2] = 450;
    mf_ctl_plan_balance(&in, out);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 2);
    memset(in.job_ms, 0, sizeof(in.job_ms));
    in.backlog[0] = 100;
    in.backlog[1] = 0;
    in.backlog[2] = 40;
    /* image fixed at 2 with work: one core left for the auto lanes, and one more worker to
     * make 4 busy on 2 cores */
    in.is_auto[0] = 0;
    in.fixed[0] = 2;
    in.workers_min = 1;
    mf_ctl_plan_balance(&in, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 2);
    /* workers_max caps an auto lane */
    in.is_auto[0] = 1;
    in.backlog[0] = 0;
    in.cpus = 8;
    in.workers_max = 3;
    mf_ctl_plan_balance(&in, out);
    assert_int_equal(out[2], 3);
}

static void test_backoff(void **state)
{
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    int64_t b = 0;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(mf_ctl_backoff(&b, 10), want[i]);
    /* a child that ran a minute before dying starts over */
    assert_int_equal(mf_ctl_backoff(&b, MF_CTL_BACKOFF_RESET_MS), 1000);
    assert_int_equal(mf_ctl_backoff(&b, MF_CTL_BACKOFF_RESET_MS - 1), 2000);
}

static void test_find_exe(void **state)
{
    char buf[PATH_MAX];

    assert_int_equal(mf_ctl_find_exe("sh", buf, sizeof(buf)), 0);
    assert_int_equal(access(buf, X_OK), 0);
    assert_int_equal(mf_ctl_find_exe("mf-no-such-binary-here", buf, sizeof(buf)), -ENOENT);
}

static void test_redis_url(void **state)
{
    mf_config cfg;
    char url[PATH_MAX + 16];
    char cwd[PATH_MAX];
    char want[PATH_MAX + 64];
    char longdir[200];
    mf_err err;

    assert_int_equal(mf_config_load(&cfg, NULL, NULL, NULL, &err), 0);
    assert_int_equal(mf_config_set(&cfg, "redis_url", "", &err), 0);
    assert_int_equal(mf_config_set(&cfg, "state_dir", "./no-such-state-dir", &err), 0);
    assert_int_equal(mf_ctl_redis_url(&cfg, url, sizeof(url), &err), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "unix://%s/no-such-state-dir/redis.sock", cwd);
    assert_string_equal(url, want);

    memset(longdir, 'd', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    assert_int_equal(mf_config_set(&cfg, "state_dir", longdir, &err), 0);
    assert_int_equal(mf_ctl_redis_url(&cfg, url, sizeof(url), &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "unix socket"));

    assert_int_equal(mf_config_set(&cfg, "redis_url", "redis://db.example:6380/2", &err), 0);
    assert_int_equal(mf_ctl_redis_url(&cfg, url, sizeof(url), &err), 0);
    assert_string_equal(url, "redis://db.example:6380/2");
    mf_config_close(&cfg);
}

static void test_print_safe(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    mf_ctl_print_safe(out, "a\x1b[2Jb\nc\x7f", 0);
    mf_ctl_print_safe(out, "|d\ne", 1);
    fclose(out);
    assert_string_equal(text, "a\\x1b[2Jb\\x0ac\\x7f|d\ne");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_default),
        cmocka_unit_test(test_plan_auto),
        cmocka_unit_test(test_plan_spaces_zero_and_empty),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_plan_unknown_lane),
        cmocka_unit_test(test_plan_balance),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_find_exe),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_print_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
