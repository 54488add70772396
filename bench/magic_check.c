/* mf-bench-magic: checks the dispatcher's classification fast path (mf_classify_fast) against
 * libmagic itself, opened exactly as the dispatcher opens it (MAGIC_MIME_TYPE, encoding pass
 * capped at 16 KiB), on the files named on stdin (one path a line).
 *
 * For every file it compares the head the dispatcher reads (the first MF_MAGIC_HEAD_BYTES)
 * and truncations of it (every length up to 600 bytes, then 1, 4 and 16 KiB): wherever the
 * fast path answers, libmagic must give the same answer. Prints the counts; exit 1 on any
 * difference (each one printed). */
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf/dispatch.h"
#include "mf/limits.h"

typedef struct mf__check {
    magic_t m;
    long heads, fast, diff;
} mf__check;

static void mf__check_head(mf__check *c, const char *path, const unsigned char *b, size_t len)
{
    const char *fast = mf_classify_fast(b, len);
    const char *lib;

    c->heads++;
    if (fast == NULL)
        return;
    c->fast++;
    lib = magic_buffer(c->m, len > 0 ? (const void *)b : "", len);
    if (lib == NULL || strcmp(lib, fast) != 0) {
        c->diff++;
        printf("DIFF %s len=%zu fast=%s libmagic=%s\n", path, len, fast, lib ? lib : "(error)");
    }
}

static void mf__check_file(mf__check *c, const char *path, unsigned char *buf)
{
    static const size_t extra[] = {1024, 4096, 16384};
    FILE *f = fopen(path, "rb");
    size_t len;

    if (f == NULL)
        return;
    len = fread(buf, 1, MF_MAGIC_HEAD_BYTES, f);
    fclose(f);
    mf__check_head(c, path, buf, len);
    for (size_t l = 0; l <= 600 && l < len; l++)
        mf__check_head(c, path, buf, l);
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i] < len)
            mf__check_head(c, path, buf, extra[i]);
}

int main(void)
{
    size_t enc_max = 16 * 1024;
    unsigned char *buf = malloc(MF_MAGIC_HEAD_BYTES);
    char line[4096];
    mf__check c = {0};
    long files = 0;

    c.m = magic_open(MAGIC_MIME_TYPE);
    if (buf == NULL || c.m == NULL || magic_load(c.m, NULL) != 0) {
        fprintf(stderr, "mf-bench-magic: magic_load() failed\n");
        return 2;
    }
    (void)magic_setparam(c.m, MAGIC_PARAM_ENCODING_MAX, &enc_max);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        files++;
        mf__check_file(&c, line, buf);
    }
    printf("files=%ld heads=%ld fast_path_answers=%ld differences=%ld\n", files, c.heads, c.fast,
           c.diff);
    magic_close(c.m);
    free(buf);
    return c.diff == 0 ? 0 : 1;
}
