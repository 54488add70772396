/* The text layer: page text as pdftotext lays it out, and the buffer text.txt is built in. */
#include <stdlib.h>
#include <string.h>
#include "doc.h"

void mf_textbuf_init(mf_textbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void mf_textbuf_close(mf_textbuf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void mf_textbuf_append(mf_textbuf *b, const char *s, size_t n)
{
    size_t cap = b->cap != 0 ? b->cap : 4096;
    char *p;

    while (cap - b->len < n + 1)
        cap *= 2;
    if (cap != b->cap) {
        p = realloc(b->data, cap);
        if (p == NULL)
            abort();
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

size_t mf_pdftext_visible(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    for (; p != NULL && *p != '\0'; p++) {
        if (*p >= 0x80 && *p < 0xc0)
            continue; /* UTF-8 continuation byte: counted with its lead byte */
        if (*p > ' ' && *p != 0x7f)
            n++;
    }
    return n;
}

json_t *mf_pdftext_excerpt(const char *text, size_t len, size_t max_chars)
{
    size_t i = 0, chars = 0;

    if (len == 0)
        return json_string("");
    while (i < len && chars < max_chars) {
        i++; /* past the lead byte, then past its continuation bytes */
        while (i < len && ((unsigned char)text[i] & 0xc0) == 0x80)
            i++;
        chars++;
    }
    return json_stringn(text, i); /* validates: NULL for bytes that are not UTF-8 */
}

void mf_pdftext_append_page(mf_textbuf *b, const char *text)
{
    size_t n = text != NULL ? strlen(text) : 0;

    mf_textbuf_append(b, text != NULL ? text : "", n);
    if (n > 0 && text[n - 1] != '\n')
        mf_textbuf_append(b, "\n", 1);
    mf_textbuf_append(b, "\f", 1);
}
