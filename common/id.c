/* ULIDs: 48 bits of milliseconds then 80 random bits, in Crockford base32. */
#include "mf/id.h"

#include <string.h>
#include <sys/random.h>

static const char mf__b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void mf_id_new(char id[MF_ID_LEN], int64_t epoch_ms)
{
    unsigned char bits[16];
    uint64_t t = (uint64_t)epoch_ms & 0xffffffffffffULL;

    for (int i = 5; i >= 0; i--) {
        bits[i] = (unsigned char)(t & 0xff);
        t >>= 8;
    }
    /* getrandom on a few bytes never blocks once the pool is initialised */
    if (getrandom(bits + 6, 10, 0) != 10) {
        for (int i = 6; i < 16; i++)
            bits[i] = (unsigned char)(epoch_ms >> (i % 8));
    }
    /* 128 bits -> 26 characters; the first carries the top 3 bits */
    for (int i = 0; i < 26; i++) {
        int bit = i == 0 ? 0 : 3 + (i - 1) * 5; /* offset of this digit in the bitstream */
        int width = i == 0 ? 3 : 5;
        unsigned v = 0;

        for (int b = 0; b < width; b++) {
            int pos = bit + b;
            v = (v << 1) | ((bits[pos / 8] >> (7 - pos % 8)) & 1u);
        }
        id[i] = mf__b32[v];
    }
    id[26] = '\0';
}

int mf_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != 26)
        return 0;
    for (int i = 0; i < 26; i++) {
        if (strchr(mf__b32, s[i]) == NULL || s[i] == '\0')
            return 0;
    }
    return 1;
}
