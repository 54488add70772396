/* libFuzzer harness for the path rules and the MIME lane map: any bytes as a relative path
 * or a MIME type must give an answer without reading or writing out of bounds, and a path
 * that is accepted never escapes (no "..", no leading '/'). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mf/lanemap.h"
#include "mf/pathrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char profile[64];

    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    if (mf_path_acceptable(s)) {
        assert(s[0] != '/');
        assert(strstr(s, "/../") == NULL && strncmp(s, "../", 3) != 0);
        assert(strcmp(s, "..") != 0);
    }
    mf_path_ignored(s);
    mf_path_profile(s, "ocr captions", profile, sizeof(profile));
    assert(strcmp(profile, "default") == 0 || strcmp(profile, "ocr") == 0 ||
           strcmp(profile, "captions") == 0);
    mf_lanemap_lane(s, "image/*", "video/* audio/*", "application/pdf");
    free(s);
    return 0;
}
