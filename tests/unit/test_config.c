#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/config.h"
#include "mf/limits.h"

static char ini_path[256];

static int write_ini(const char *text)
{
    FILE *f;

    snprintf(ini_path, sizeof(ini_path), "/tmp/mf-test-config-%ld.ini", (long)getpid());
    f = fopen(ini_path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    unlink(ini_path);
    unsetenv("MF_INBOX");
    unsetenv("MF_MAX_ATTEMPTS");
    unsetenv("MF_CONFIG");
    return 0;
}

static void test_defaults(void **state)
{
    mf_config cfg;
    mf_err err;

    assert_int_equal(mf_config_load(&cfg, NULL, NULL, NULL, &err), 0);
    assert_string_equal(cfg.inbox, "./inbox");
    assert_string_equal(cfg.outbox, "./outbox");
    assert_string_equal(cfg.prefix, "mf:");
    assert_int_equal(cfg.max_input_bytes, MF_DEFAULT_MAX_INPUT_BYTES);
    assert_int_equal(cfg.image_max_megapixels, 100);
    /* every lane of the registry has its timeout_<lane> and mime_<lane>, with the defaults
     * of its registry line; an unknown lane is an error, not "no limit" */
    for (size_t i = 0; i < mf_lanes_n; i++) {
        assert_true(mf_lanes[i].timeout_s > 0);
        assert_int_equal(mf_config_lane_timeout(&cfg, mf_lanes[i].name), mf_lanes[i].timeout_s);
        assert_string_equal(cfg.lane_mime[i], mf_lanes[i].mime_globs);
    }
    assert_int_equal(mf_config_lane_timeout(&cfg, "image"), 120);
    assert_int_equal(mf_config_lane_timeout(&cfg, "nope"), -1);
    assert_int_equal(mf_config_lane_timeout(&cfg, ""), -1);
    mf_config_close(&cfg);
}

static void test_precedence_ini_env_flags(void **state)
{
    mf_config cfg;
    mf_err err;
    char *argv[] = {"prog", "--max-attempts=7", "--outbox", "/o", "--unknown", "keep", NULL};
    int argc = 6;

    assert_int_equal(write_ini("[mediafleet]\ninbox = /from-ini\nmax_attempts = 4\n"
                               "outbox = /ini-out\nvisibility_timeout = 9\n"),
                     0);
    setenv("MF_INBOX", "/from-env", 1);
    setenv("MF_MAX_ATTEMPTS", "5", 1);
    assert_int_equal(mf_config_load(&cfg, ini_path, &argc, argv, &err), 0);
    assert_string_equal(cfg.inbox, "/from-env"); /* env beats ini */
    assert_int_equal(cfg.max_attempts, 7);       /* flag beats env */
    assert_string_equal(cfg.outbox, "/o");       /* flag with separate value */
    assert_int_equal(cfg.visibility_timeout, 9); /* ini beats default */
    /* unrecognised arguments are left for the caller, in order */
    assert_int_equal(argc, 3);
    assert_string_equal(argv[1], "--unknown");
    assert_string_equal(argv[2], "keep");
    mf_config_close(&cfg);
}

static void test_config_flag_selects_the_ini_file(void **state)
{
    mf_config cfg;
    mf_err err;
    char flag[300];
    char *argv[] = {"prog", "--config", ini_path, "run", NULL};
    char *argv2[] = {"prog", flag, NULL};
    char *argv3[] = {"prog", "--config", NULL};
    int argc = 4, argc2 = 2, argc3 = 2;

    assert_int_equal(write_ini("inbox = /flagged\n"), 0);
    setenv("MF_CONFIG", "/nonexistent/ignored.ini", 1);
    assert_int_equal(mf_config_load(&cfg, NULL, &argc, argv, &err), 0);
    assert_string_equal(cfg.inbox, "/flagged");
    assert_string_equal(cfg.config_file, ini_path);
    assert_int_equal(argc, 2); /* --config FILE consumed, "run" left */
    assert_string_equal(argv[1], "run");
    mf_config_close(&cfg);

    snprintf(flag, sizeof(flag), "--config=%s", ini_path);
    assert_int_equal(mf_config_load(&cfg, NULL, &argc2, argv2, &err), 0);
    assert_string_equal(cfg.inbox, "/flagged");
    mf_config_close(&cfg);

    assert_int_equal(mf_config_load(&cfg, NULL, &argc3, argv3, &err), MF_ECONFIG);
    assert_string_equal(err.msg, "flag --config needs a value");
    mf_config_close(&cfg);
}

static void test_errors_name_the_entry(void **state)
{
    mf_config cfg;
    mf_err err;
    char *argv[] = {"prog", "--max-attempts=0", NULL};
    int argc = 2;

    assert_int_equal(write_ini("inbox = /x\nbogus = 1\n"), 0);
    assert_int_equal(mf_config_load(&cfg, ini_path, NULL, NULL, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "unknown setting 'bogus'"));
    mf_config_close(&cfg);

    assert_int_equal(write_ini("visibility_timeout = soon\n"), 0);
    assert_int_equal(mf_config_load(&cfg, ini_path, NULL, NULL, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "visibility_timeout = 'soon' is not a whole number"));
    mf_config_close(&cfg);

    assert_int_equal(mf_config_load(&cfg, NULL, &argc, argv, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "max_attempts = 0 is out of range"));
    mf_config_close(&cfg);

    assert_int_equal(mf_config_load(&cfg, "/nonexistent/mf.ini", NULL, NULL, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "cannot open config file /nonexistent/mf.ini"));
    mf_config_close(&cfg);
}

static void test_dump_reloads_to_same_config(void **state)
{
    mf_config a, b;
    mf_err err;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_int_equal(mf_config_load(&a, NULL, NULL, NULL, &err), 0);
    assert_int_equal(mf_config_set(&a, "inbox", "/dumped", &err), 0);
    mf_config_dump(&a, f, 1);
    fclose(f);
    assert_int_equal(write_ini(text), 0);
    assert_int_equal(mf_config_load(&b, ini_path, NULL, NULL, &err), 0);
    assert_string_equal(b.inbox, "/dumped");
    assert_string_equal(b.lane_mime[MF_LANE_image], a.lane_mime[MF_LANE_image]);
    assert_int_equal(b.max_input_bytes, a.max_input_bytes);
    free(text);
    mf_config_close(&a);
    mf_config_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_precedence_ini_env_flags, teardown),
        cmocka_unit_test_teardown(test_config_flag_selects_the_ini_file, teardown),
        cmocka_unit_test_teardown(test_errors_name_the_entry, teardown),
        cmocka_unit_test_teardown(test_dump_reloads_to_same_config, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
