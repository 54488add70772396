/* text.txt's buffer and the rules it is built by (pdftotext's: a form feed after every page),
 * and the values of a page's form fields for meta.form_fields. The text itself comes from
 * textdump.cpp (see textdump.h). */
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

/* Bytes of the invisible format character at p (bidi marks and embeddings, zero-width
 * spaces, the BOM: pdftotext wraps right-to-left lines in U+202B ... U+202C), else 0. */
static size_t mf__invisible_len(const unsigned char *p)
{
    if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        return 3; /* U+FEFF */
    if (p[0] != 0xe2 || (p[1] != 0x80 && p[1] != 0x81))
        return 0;
    if (p[1] == 0x80 && ((p[2] >= 0x8b && p[2] <= 0x8f) || (p[2] >= 0xaa && p[2] <= 0xae)))
        return 3; /* U+200B..U+200F, U+202A..U+202E */
    if (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
        return 3; /* U+2066..U+2069 */
    return 0;
}

size_t mf_pdftext_visible(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, skip;

    for (; p != NULL && *p != '\0'; p++) {
        if (*p >= 0x80 && *p < 0xc0)
            continue; /* UTF-8 continuation byte: counted with its lead byte */
        skip = mf__invisible_len(p);
        if (skip > 0) {
            p += skip - 1;
            continue;
        }
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
    if (n > 0 && text[n - 1] == '\f')
        return; /* pdftotext's own page, form feed included */
    if (n > 0 && text[n - 1] != '\n')
        mf_textbuf_append(b, "\n", 1);
    mf_textbuf_append(b, "\f", 1);
}

/* A JSON string of s cut to max_chars characters, or null when s is NULL or not UTF-8. */
static json_t *mf__json_str(const char *s, size_t max_chars)
{
    json_t *j = s != NULL ? mf_pdftext_excerpt(s, strlen(s), max_chars) : NULL;

    return j != NULL ? j : json_null();
}

/* The value of a choice field: its text when it is editable and typed into, else the selected
 * items joined by ", ". */
static json_t *mf__choice_value(PopplerFormField *f)
{
    gchar *text = poppler_form_field_choice_get_text(f), *item;
    GString *joined = g_string_new(NULL);
    json_t *v;
    int i, n = poppler_form_field_choice_get_n_items(f);

    for (i = 0; i < n && (text == NULL || text[0] == '\0'); i++) {
        if (!poppler_form_field_choice_is_item_selected(f, i))
            continue;
        item = poppler_form_field_choice_get_item(f, i);
        if (joined->len > 0)
            g_string_append(joined, ", ");
        g_string_append(joined, item != NULL ? item : "");
        g_free(item);
    }
    v = mf__json_str(text != NULL && text[0] != '\0' ? text : joined->str, MF_DOC_FORM_VALUE_CHARS);
    g_string_free(joined, TRUE);
    g_free(text);
    return v;
}

/* {name, type, value, page} of one field's widget. */
static json_t *mf__form_field(PopplerFormField *f, int page_no)
{
    gchar *name = poppler_form_field_get_name(f), *text = NULL;
    const char *type = "unknown";
    json_t *value = NULL, *o;

    switch (poppler_form_field_get_field_type(f)) {
    case POPPLER_FORM_FIELD_TEXT:
        type = "text";
        text = poppler_form_field_text_get_text(f);
        value = mf__json_str(text != NULL ? text : "", MF_DOC_FORM_VALUE_CHARS);
        break;
    case POPPLER_FORM_FIELD_BUTTON:
        switch (poppler_form_field_button_get_button_type(f)) {
        case POPPLER_FORM_BUTTON_CHECK:
            type = "checkbox";
            break;
        case POPPLER_FORM_BUTTON_RADIO:
            type = "radio";
            break;
        default:
            type = "button"; /* a push button has no value */
            break;
        }
        if (strcmp(type, "button") != 0)
            value = json_boolean(poppler_form_field_button_get_state(f));
        break;
    case POPPLER_FORM_FIELD_CHOICE:
        type = "choice";
        value = mf__choice_value(f);
        break;
    case POPPLER_FORM_FIELD_SIGNATURE:
        type = "signature";
        break;
    default:
        break;
    }
    o = json_pack("{s:o,s:s,s:o,s:i}", "name", mf__json_str(name, MF_DOC_FORM_VALUE_CHARS), "type",
                  type, "value", value != NULL ? value : json_null(), "page", page_no);
    g_free(text);
    g_free(name);
    return o;
}

int mf_pdftext_form_fields(PopplerPage *page, int page_no, json_t *fields, size_t max)
{
    GList *map = poppler_page_get_form_field_mapping(page), *l;
    PopplerFormFieldMapping *m;
    int dropped = 0;

    /* poppler-glib prepends as it walks /Annots: reversed, the list is the page's order */
    map = g_list_reverse(map);
    for (l = map; l != NULL; l = l->next) {
        m = l->data;
        if (m->field == NULL)
            continue;
        if (json_array_size(fields) >= max) {
            dropped++;
            continue;
        }
        json_array_append_new(fields, mf__form_field(m->field, page_no));
    }
    poppler_page_free_form_field_mapping(map);
    return dropped;
}
