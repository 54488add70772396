#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mf/err.h"

static void test_names_and_descriptions(void **state)
{
    assert_string_equal(mf_err_name(MF_ECORRUPT), "ECORRUPT");
    assert_string_equal(mf_err_name(MF_EREDIS), "EREDIS");
    assert_string_equal(mf_err_name(-ENOENT), "ENOENT");
    assert_string_equal(mf_strerror(MF_ELIMIT), "input over a configured limit");
    assert_string_equal(mf_strerror(-ENOENT), strerror(ENOENT));
}

static void test_retryable_split(void **state)
{
    /* transient: worth another attempt */
    assert_true(mf_err_retryable(MF_EREDIS));
    assert_true(mf_err_retryable(MF_ETIMEOUT));
    assert_true(mf_err_retryable(MF_ECRASH));
    assert_true(mf_err_retryable(-EIO));
    assert_true(mf_err_retryable(-ENOSPC));
    /* permanent: the same file will fail the same way */
    assert_false(mf_err_retryable(MF_ECORRUPT));
    assert_false(mf_err_retryable(MF_EUNSUPPORTED));
    assert_false(mf_err_retryable(MF_ELIMIT));
    assert_false(mf_err_retryable(-ENOENT));
    assert_false(mf_err_retryable(-EACCES));
}

static void test_set_formats_and_returns_code(void **state)
{
    mf_err err;

    assert_int_equal(mf_err_set(&err, MF_ECORRUPT, "vips_thumbnail() failed: %s", "bad"),
                     MF_ECORRUPT);
    assert_int_equal(err.code, MF_ECORRUPT);
    assert_string_equal(err.msg, "vips_thumbnail() failed: bad");
    mf_err_sys(&err, -ENOENT, "open()");
    assert_string_equal(err.msg, "open() failed: No such file or directory");
    assert_int_equal(mf_err_set(NULL, MF_EINVAL, "x"), MF_EINVAL);
    mf_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_descriptions),
        cmocka_unit_test(test_retryable_split),
        cmocka_unit_test(test_set_formats_and_returns_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
