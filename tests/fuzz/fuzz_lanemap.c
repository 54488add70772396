/* libFuzzer harness for lane routing and classification mapping: MIME type -> lane with the
 * configurable glob lists (mf_lanemap_lane), profile routes (mf_lanemap_route), and the
 * dispatcher's libmagic shortcut (mf_classify_fast), which must agree with libmagic itself
 * whenever it answers.
 *
 * Input: fields separated by '\n': mime, the globs of the registry's first three lanes
 * (image, video, doc), profile, routes; the whole input is also a file head for the
 * classifier. */
#include <magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "mf/dispatch.h"
#include "mf/lanemap.h"
#include "mf/lanes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mf__is_lane(const char *lane)
{
    return mf_lanes_find(lane, strlen(lane)) != NULL;
}

static void mf__check_routing(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const char *f[6] = {"", "", "", "", "", ""};
    const char *lane, *routed, *star[3];
    const char *const none[3] = {"", "", ""};
    size_t n = 0;

    MF_FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *p = text; n < 6;) {
        char *nl = strchr(p, '\n');

        f[n++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    lane = mf_lanemap_lane(f[0], f + 1, 3);
    MF_FUZZ_CHECK(lane == NULL || mf__is_lane(lane));
    /* a lane whose only glob is "*" takes everything (the first lane is asked first) */
    star[0] = "*";
    star[1] = f[2];
    star[2] = f[3];
    MF_FUZZ_CHECK(strcmp(mf_lanemap_lane(f[0], star, 3), mf_lanes[0].name) == 0);
    MF_FUZZ_CHECK(mf_lanemap_lane(f[0], none, 3) == NULL);
    routed = mf_lanemap_route(lane, f[4], f[5]);
    MF_FUZZ_CHECK((lane == NULL) == (routed == NULL));
    MF_FUZZ_CHECK(routed == NULL || mf__is_lane(routed));
    MF_FUZZ_CHECK(mf_lanemap_route(lane, f[4], "") == lane); /* no routes: unchanged */
    MF_FUZZ_CHECK(mf_lanemap_route(lane, NULL, f[5]) == lane);
    if (lane != NULL) {
        /* every lane routed to doc for this profile: the route is doc, whatever it was */
        char routes[96];

        if (f[4][0] != '\0' && strcspn(f[4], " ,:=") == strlen(f[4]) && strlen(f[4]) < 40) {
            snprintf(routes, sizeof(routes), "%s:%s=doc", f[4], lane);
            MF_FUZZ_CHECK(strcmp(mf_lanemap_route(lane, f[4], routes), "doc") == 0);
        }
    }
    free(text);
}

/* mf_classify_fast() answers only where libmagic would say the same. */
static void mf__check_fast(const uint8_t *data, size_t size)
{
    static magic_t m;
    static size_t enc_max = 16 * 1024; /* as dispatcher/classify.c */
    const char *fast = mf_classify_fast(data, size);
    const char *slow;

    if (fast == NULL)
        return;
    if (m == NULL) {
        m = magic_open(MAGIC_MIME_TYPE);
        MF_FUZZ_CHECK(m != NULL && magic_load(m, NULL) == 0);
        (void)magic_setparam(m, MAGIC_PARAM_ENCODING_MAX, &enc_max);
    }
    slow = magic_buffer(m, data, size);
    MF_FUZZ_CHECK(slow != NULL);
    if (strcmp(fast, slow) != 0)
        fprintf(stderr, "mf_classify_fast says %s, libmagic %s\n", fast, slow);
    MF_FUZZ_CHECK(strcmp(fast, slow) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    mf__check_routing(data, size);
    mf__check_fast(data, size);
    return 0;
}
