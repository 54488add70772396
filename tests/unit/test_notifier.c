/* mf-notifier's pure parts: the Standard Webhooks signature (the specification's published
 * test vector), secrets, endpoint configuration, the retry policy, the address checks and
 * the JSON body. The loop itself is covered by tests/integration/t_notifier_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

/* https://github.com/standard-webhooks/standard-webhooks (the reference libraries' tests) */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_spec_vector(void **state)
{
    unsigned char key[MF_WH_KEY_MAX];
    size_t keylen = 0;
    char sig[MF_WH_SIG_LEN];
    mf_err err;

    assert_int_equal(mf_wh_secret_decode(VEC_SECRET, key, &keylen, &err), 0);
    assert_int_equal(keylen, 24);
    assert_int_equal(mf_wh_sign(key, keylen, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig), 0);
    assert_string_equal(sig, VEC_SIG);
    /* the prefix is optional, as in the reference libraries */
    assert_int_equal(mf_wh_secret_decode(VEC_SECRET + 6, key, &keylen, &err), 0);
    assert_int_equal(mf_wh_sign(key, keylen, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig), 0);
    assert_string_equal(sig, VEC_SIG);
    /* one byte of the body changed: another signature */
    assert_int_equal(mf_wh_sign(key, keylen, VEC_ID, VEC_TS, "{\"test\": 2432232315}", 20, sig), 0);
    assert_string_not_equal(sig, VEC_SIG);
}

static void test_bad_secrets(void **state)
{
    unsigned char key[MF_WH_KEY_MAX];
    size_t keylen = 0;
    mf_err err;

    assert_int_equal(mf_wh_secret_decode("whsec_", key, &keylen, &err), MF_ECONFIG);
    assert_int_equal(mf_wh_secret_decode("whsec_abc", key, &keylen, &err), MF_ECONFIG);
    assert_int_equal(mf_wh_secret_decode("whsec_!!!!", key, &keylen, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "base64"));
}

static void cfg_init(mf_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->webhook_urls = "";
    cfg->webhook_endpoints = "";
    cfg->webhook_secret = VEC_SECRET;
    cfg->webhook_events = "done,failed";
}

static void test_endpoints(void **state)
{
    mf_config cfg;
    mf_wh_endpoint *eps = NULL;
    char header[256];
    mf_err err;
    int n;

    cfg_init(&cfg);
    cfg.webhook_urls = "http://a.example/hook, https://b.example:8443/x";
    cfg.webhook_secret = VEC_SECRET " whsec_c2VjcmV0LXR3bw==";
    cfg.webhook_endpoints = "https://b.example:8443/x|whsec_b3du|* "
                            "http://c.example/|" VEC_SECRET "|duplicate";
    n = mf_wh_endpoints_parse(&cfg, &eps, &err);
    assert_int_equal(n, 3);
    /* items first, then webhook_urls without the one already given */
    assert_string_equal(eps[0].url, "https://b.example:8443/x");
    assert_int_equal(eps[0].nkeys, 1);
    assert_int_equal(eps[0].keylen[0], 3); /* "own" */
    assert_true(mf_wh_endpoint_wants(&eps[0], "processing"));
    assert_string_equal(eps[1].url, "http://c.example/");
    assert_true(mf_wh_endpoint_wants(&eps[1], "duplicate"));
    assert_false(mf_wh_endpoint_wants(&eps[1], "done"));
    assert_string_equal(eps[2].url, "http://a.example/hook");
    assert_int_equal(eps[2].nkeys, 2); /* rotating: both secrets sign */
    assert_true(mf_wh_endpoint_wants(&eps[2], "done"));
    assert_true(mf_wh_endpoint_wants(&eps[2], "failed"));
    assert_false(mf_wh_endpoint_wants(&eps[2], "fail"));
    assert_false(mf_wh_endpoint_wants(&eps[2], "queued"));
    assert_int_equal(strlen(eps[2].id), 16);
    assert_string_not_equal(eps[0].id, eps[2].id);
    mf_wh_signature_header(&eps[2], VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), header,
                           sizeof(header));
    assert_int_equal(strncmp(header, VEC_SIG " v1,", strlen(VEC_SIG) + 4), 0);
    mf_wh_endpoints_free(eps, n);

    cfg_init(&cfg);
    assert_int_equal(mf_wh_endpoints_parse(&cfg, &eps, &err), 0);
    mf_wh_endpoints_free(eps, 0);
    cfg.webhook_urls = "ftp://x.example/";
    assert_int_equal(mf_wh_endpoints_parse(&cfg, &eps, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "only http and https"));
    cfg.webhook_urls = "http://x.example/";
    cfg.webhook_secret = "";
    assert_int_equal(mf_wh_endpoints_parse(&cfg, &eps, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "no secret"));
}

static void test_schedule_and_backoff(void **state)
{
    int64_t s[MF_WH_SCHEDULE_MAX];
    mf_err err;

    assert_int_equal(
        mf_wh_schedule_parse("0,5,300,1800,7200,18000,36000,36000", s, MF_WH_SCHEDULE_MAX, &err),
        8);
    assert_int_equal(s[7], 36000);
    assert_int_equal(mf_wh_schedule_parse("0, 1 ,1", s, MF_WH_SCHEDULE_MAX, &err), 3);
    assert_int_equal(mf_wh_schedule_parse("", s, MF_WH_SCHEDULE_MAX, &err), MF_ECONFIG);
    assert_int_equal(mf_wh_schedule_parse("0,x", s, MF_WH_SCHEDULE_MAX, &err), MF_ECONFIG);
    assert_int_equal(mf_wh_schedule_parse("0,-1", s, MF_WH_SCHEDULE_MAX, &err), MF_ECONFIG);

    mf_wh_schedule_parse("0,5,300", s, MF_WH_SCHEDULE_MAX, &err);
    assert_int_equal(mf_wh_backoff_ms(s, 1, 0, 0.0), 5000);
    assert_int_equal(mf_wh_backoff_ms(s, 1, 0, 0.5), 5500); /* up to 20 % jitter */
    assert_int_equal(mf_wh_backoff_ms(s, 2, 0, 0.0), 300000);
    assert_int_equal(mf_wh_backoff_ms(s, 1, 60, 0.0), 60000); /* Retry-After wins when later */
    assert_int_equal(mf_wh_backoff_ms(s, 2, 60, 0.0), 300000);
    assert_int_equal(mf_wh_backoff_ms(s, 1, 10 * 86400, 0.0), 86400000); /* capped at a day */
}

static void test_classify(void **state)
{
    assert_int_equal(mf_wh_classify(CURLE_OK, 200, 0), MF_WH_OK);
    assert_int_equal(mf_wh_classify(CURLE_OK, 204, 0), MF_WH_OK);
    assert_int_equal(mf_wh_classify(CURLE_WRITE_ERROR, 200, 0), MF_WH_OK); /* body over cap */
    assert_int_equal(mf_wh_classify(CURLE_OK, 500, 0), MF_WH_RETRY);
    assert_int_equal(mf_wh_classify(CURLE_OK, 503, 0), MF_WH_RETRY);
    assert_int_equal(mf_wh_classify(CURLE_OK, 429, 0), MF_WH_RETRY);
    assert_int_equal(mf_wh_classify(CURLE_OPERATION_TIMEDOUT, 0, 0), MF_WH_RETRY);
    assert_int_equal(mf_wh_classify(CURLE_COULDNT_CONNECT, 0, 0), MF_WH_RETRY);
    assert_int_equal(mf_wh_classify(CURLE_OK, 410, 0), MF_WH_DISABLE);
    assert_int_equal(mf_wh_classify(CURLE_OK, 302, 0), MF_WH_FAIL);
    assert_int_equal(mf_wh_classify(CURLE_OK, 301, 0), MF_WH_FAIL);
    assert_int_equal(mf_wh_classify(CURLE_OK, 400, 0), MF_WH_FAIL);
    assert_int_equal(mf_wh_classify(CURLE_COULDNT_CONNECT, 0, 1), MF_WH_FAIL);
}

static int allowed(const char *ip, int allow_private)
{
    struct sockaddr_storage ss;
    const char *why;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    else
        fail_msg("bad test address %s", ip);
    return mf_wh_addr_allowed((struct sockaddr *)&ss, allow_private, &why);
}

static void test_addresses(void **state)
{
    static const char *const refused[] = {"127.0.0.1",
                                          "127.8.9.10",
                                          "10.1.2.3",
                                          "172.16.0.1",
                                          "172.31.255.255",
                                          "192.168.1.1",
                                          "169.254.169.254",
                                          "0.0.0.0",
                                          "100.64.0.1",
                                          "224.0.0.1",
                                          "255.255.255.255",
                                          "::1",
                                          "::",
                                          "fc00::1",
                                          "fd12:3456::1",
                                          "fe80::1",
                                          "ff02::1",
                                          "::ffff:127.0.0.1",
                                          "::ffff:10.0.0.1"};
    static const char *const ok[] = {"93.184.216.34", "8.8.8.8",         "172.32.0.1",
                                     "192.169.0.1",   "2606:4700::1111", "::ffff:8.8.8.8"};

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (allowed(refused[i], 0))
            fail_msg("%s allowed", refused[i]);
        assert_true(allowed(refused[i], 1));
    }
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!allowed(ok[i], 0))
            fail_msg("%s refused", ok[i]);
    }
}

static void test_body(void **state)
{
    const char *rec[] = {"id",
                         "01ABC",
                         "path",
                         "photos/cat.jpg",
                         "type",
                         "image",
                         "profile",
                         "default",
                         "status",
                         "done",
                         "size",
                         "119295",
                         "sha256",
                         "56c0",
                         "process_duration_ms",
                         "252",
                         "outputs",
                         "[\"01ABC/thumb-256.webp\"]",
                         "meta",
                         "{\"width\":640,\"outputs\":[{\"path\":\"01ABC/thumb-256.webp\"}]}",
                         "error",
                         "",
                         "finished_at",
                         "2026-11-22T01:45:53.746Z"};
    const char *ev[] = {"id", "01ABC", "status", "failed", "error", "boom"};
    json_t *j;
    char *text;

    text = mf_wh_body(rec, sizeof(rec) / sizeof(rec[0]), ev, 2, 1795311953746);
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "record.done");
    assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
                        "2026-11-22T01:45:53.746Z");
    {
        json_t *d = json_object_get(j, "data");
        assert_string_equal(json_string_value(json_object_get(d, "lane")), "image");
        assert_string_equal(json_string_value(json_object_get(d, "path")), "photos/cat.jpg");
        assert_int_equal(json_integer_value(json_object_get(d, "process_duration_ms")), 252);
        assert_int_equal(json_integer_value(json_object_get(d, "size")), 119295);
        assert_true(json_is_null(json_object_get(d, "error")));
        assert_string_equal(json_string_value(json_array_get(json_object_get(d, "outputs"), 0)),
                            "01ABC/thumb-256.webp");
        assert_non_null(json_object_get(json_object_get(d, "meta"), "outputs"));
        assert_null(json_object_get(json_object_get(d, "meta"), "width"));
    }
    json_decref(j);
    free(text);
    /* the event's fields win: a failed event says failed and why */
    text = mf_wh_body(rec, sizeof(rec) / sizeof(rec[0]), ev, 6, 0);
    j = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "record.failed");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "error")),
                        "boom");
    json_decref(j);
    free(text);
    /* no record (deleted): the event alone */
    text = mf_wh_body(NULL, 0, ev, 6, 0);
    j = json_loads(text, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "data"), "outputs")), 0);
    json_decref(j);
    free(text);
}

static void test_url_host(void **state)
{
    char host[256];
    long port = 0;

    assert_int_equal(mf_wh_url_host("https://hooks.example.com/x?y=1", host, sizeof(host), &port),
                     0);
    assert_string_equal(host, "hooks.example.com");
    assert_int_equal(port, 443);
    assert_int_equal(mf_wh_url_host("http://127.0.0.1:8080/hook", host, sizeof(host), &port), 1);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(mf_wh_url_host("http://[::1]/hook", host, sizeof(host), &port), 1);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 80);
}

static void test_redis_url(void **state)
{
    mf_wh_redis_url u;
    mf_err err;

    assert_int_equal(mf_wh_redis_url_parse("unix:///tmp/r.sock", &u, &err), 0);
    assert_string_equal(u.sock, "/tmp/r.sock");
    assert_int_equal(u.db, 0);
    assert_int_equal(mf_wh_redis_url_parse("unix:///tmp/r.sock?db=3&password=pw", &u, &err), 0);
    assert_string_equal(u.sock, "/tmp/r.sock");
    assert_int_equal(u.db, 3);
    assert_string_equal(u.password, "pw");
    assert_int_equal(mf_wh_redis_url_parse("redis://:secret@redis.local:6380/2", &u, &err), 0);
    assert_string_equal(u.host, "redis.local");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "secret");
    assert_int_equal(mf_wh_redis_url_parse("redis://[::1]:7000", &u, &err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(mf_wh_redis_url_parse("redis://localhost", &u, &err), 0);
    assert_int_equal(u.port, 6379);
    assert_int_equal(mf_wh_redis_url_parse("http://localhost", &u, &err), MF_ECONFIG);
    assert_int_equal(mf_wh_redis_url_parse("redis://", &u, &err), MF_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector), cmocka_unit_test(test_bad_secrets),
        cmocka_unit_test(test_endpoints),   cmocka_unit_test(test_schedule_and_backoff),
        cmocka_unit_test(test_classify),    cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_body),        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_url_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
