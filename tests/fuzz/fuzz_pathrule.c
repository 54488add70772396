/* libFuzzer harness for the path rules: any bytes as a relative path must give an answer
 * without reading or writing out of bounds, and a path that is accepted never escapes (no
 * "..", no leading '/'). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "mf/lanemap.h"
#include "mf/pathrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const globs[] = {"image/*", "video/* audio/*", "application/pdf"};
    char *s = malloc(size + 1);
    char profile[64];

    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    if (mf_path_acceptable(s)) {
        MF_FUZZ_CHECK(s[0] != '/');
        MF_FUZZ_CHECK(strstr(s, "/../") == NULL && strncmp(s, "../", 3) != 0);
        MF_FUZZ_CHECK(strcmp(s, "..") != 0);
        MF_FUZZ_CHECK(size < 3 || strcmp(s + size - 3, "/..") != 0);
        MF_FUZZ_CHECK(strlen(s) == size); /* no NUL inside an accepted path */
    }
    mf_path_ignored(s);
    mf_path_profile(s, "ocr captions", profile, sizeof(profile));
    MF_FUZZ_CHECK(strcmp(profile, "default") == 0 || strcmp(profile, "ocr") == 0 ||
                  strcmp(profile, "captions") == 0);
    mf_lanemap_lane(s, globs, sizeof(globs) / sizeof(globs[0]));
    free(s);
    return 0;
}
