/* UTF-8 clean-up, the one rule for text that came as bytes (paths, tags from files): what is
 * well-formed UTF-8 is kept, every other byte becomes U+FFFD (the replacement character, as
 * a JSON decoder or a terminal shows it), so a person sees where something was lost and a
 * strict JSON parser accepts the result. Overlong forms, surrogates and code points above
 * U+10FFFF are not well-formed. Pure; thread-safe. */
#ifndef MF_UTF8_H
#define MF_UTF8_H

#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s (n > 0 bytes available), or 0. A NUL
 * byte is a sequence of length 1. */
size_t mf_utf8_seq(const unsigned char *s, size_t n);

/* 1 when s[0..n) is well-formed UTF-8. */
int mf_utf8_valid(const char *s, size_t n);

/* s[0..n) with every byte that is not part of a well-formed sequence replaced by U+FFFD, as
 * a heap string (at most 3 * n + 1 bytes; free()); *out_len (may be NULL) gets its length.
 * Never NULL (allocation failure aborts). */
char *mf_utf8_clean(const char *s, size_t n, size_t *out_len);

#endif
