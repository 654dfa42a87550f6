/* jsonsplit.c -- JSON records however they are framed, as one line each
 * (see jsonsplit.h).
 *
 * A small state machine over the bytes, kept between calls:
 *
 *   between records   white space, commas and the outermost array's "[" and
 *                     "]" are dropped; newlines are counted; "{" or a "["
 *                     inside the array begins a value, anything else a run
 *                     of text that is not one
 *   in a value        bytes are copied; strings (with their escapes) are
 *                     followed so that brackets in them do not count; the
 *                     depth of brackets says where the value ends; newlines
 *                     and tabs outside strings become spaces
 *   in other text     copied up to a newline, comma, bracket or brace
 *
 * Two things end a value early, where its JSON cannot go on but a new record
 * plainly begins: a raw newline inside a string, and a "{" or "[" where the
 * enclosing object expects a key (or the array a comma).  The kind of each
 * container (object or array) is kept as one bit per depth, for the first
 * HF_SPLIT_KINDS levels; deeper, values are only counted.  Nothing is
 * checked beyond that: the decoder judges every record.
 *
 * The loop copies plain bytes in runs (string contents, white space and
 * the letters and digits of values) and looks at the others one by one. */
#include "io/jsonsplit.h"

#include <string.h>

enum { OUT_SIDE = 0, IN_VALUE = 1, IN_TEXT = 2 };

/* Bytes copied in runs outside strings: 1 white space (no meaning), 2 part
 * of a scalar value; 0 the ones looked at. */
static unsigned char byte_class[256];

static void classes_init(void)
{
    if (byte_class['a']) return;
    for (int c = 0x20; c < 0x100; c++) byte_class[c] = 2;
    byte_class[' '] = byte_class['\r'] = 1;          /* a tab: made a space, one by one */
    const char *special = "\"{}[]:,\\";
    for (const char *p = special; *p; p++) byte_class[(unsigned char)*p] = 0;
    for (int c = 0; c < 0x20; c++)
        if (c != '\r') byte_class[c] = 0;
}

void hf_split_init(hf_split *s, size_t max)
{
    classes_init();
    memset(s, 0, sizeof *s);
    s->max = max;
    s->line = 1;
}

/* Copy bytes into the record: at most max + 1 of it (a longer one is too
 * long: what follows is counted, not kept). */
static inline size_t put(hf_split *s, char *out, size_t o, const char *p, size_t k)
{
    if (s->rec_len <= s->max) {
        size_t keep = s->max + 1 - s->rec_len;
        if (keep > k) keep = k;
        memcpy(out + o, p, keep);
        o += keep;
    }
    s->rec_len += k;
    return o;
}

/* May a "{" or "[" come here?  In an object only as a value (after ':'),
 * in an array first or after a comma. */
static inline int may_open(const hf_split *s)
{
    if (s->depth <= 0 || s->depth > HF_SPLIT_KINDS) return 1;
    int object = (s->kinds >> (s->depth - 1)) & 1;
    return object ? s->last == ':' : s->last == '[' || s->last == ',';
}

size_t hf_split_feed(hf_split *s, const char *in, size_t n, size_t *used, char *out, size_t room,
                     uint64_t *starts, size_t nstarts_max, size_t *nstarts)
{
    size_t i = 0, o = 0, k = 0;

    /* Every turn writes at most two bytes (a record's newline and the byte
     * that begins the next) and ends at most one record. */
    while (i < n && room - o >= 2 && k < nstarts_max) {
        unsigned char c = (unsigned char)in[i];

        if (s->in_rec == OUT_SIDE) {
            if (c == '\n') { s->line++; i++; continue; }
            if (c == ' ' || c == '\t' || c == '\r' || c == ',') { i++; continue; }
            if (c == '[' && !s->in_array) { s->in_array = 1; s->arrays++; i++; continue; }
            if (c == ']' && s->in_array) { s->in_array = 0; i++; continue; }
            s->rec_line = s->line;
            s->rec_len = 0;
            s->in_str = s->esc = 0;
            s->depth = 0;
            s->last = 0;
            s->in_rec = c == '{' || c == '[' ? IN_VALUE : IN_TEXT;
        }

        /* a run of plain bytes: copied as they are */
        size_t run = room - o - 1, avail = n - i, j = 0;
        if (run > avail) run = avail;
        if (s->in_str && !s->esc) {
            while (j < run && in[i + j] != '"' && in[i + j] != '\\' && in[i + j] != '\n') j++;
        } else if (!s->in_str && s->in_rec == IN_VALUE) {
            unsigned cls, scalar = 0;
            while (j < run && (cls = byte_class[(unsigned char)in[i + j]]) != 0) {
                scalar |= cls;
                j++;
            }
            if (scalar & 2) s->last = 'v';
        } else if (!s->in_str) {
            while (j < run && byte_class[(unsigned char)in[i + j]]) j++;
        }
        if (j > 0) {
            o = put(s, out, o, in + i, j);
            i += j;
            continue;
        }

        int end = 0, cut = 0;
        if (s->in_str) {
            if (c == '\n') cut = 1;                     /* no raw newline in a string */
            else if (s->esc) s->esc = 0;
            else if (c == '\\') s->esc = 1;
            else if (c == '"') { s->in_str = 0; s->last = 'v'; }
        } else if (s->in_rec == IN_TEXT) {
            if (c == '"') s->in_str = 1;
            else if (s->rec_len > 0 && (c == '\n' || c == ',' || c == '[' || c == ']' || c == '{'))
                cut = 1;                                /* (its first byte is its own: a stray "]") */
        } else {
            switch (c) {
            case '"':
                s->in_str = 1;
                break;
            case '{':
            case '[':
                if (!may_open(s)) {                     /* a new record where this one cannot go on */
                    cut = 1;
                    break;
                }
                s->depth++;
                if (s->depth <= HF_SPLIT_KINDS) {
                    uint64_t bit = 1ULL << (s->depth - 1);
                    s->kinds = c == '{' ? s->kinds | bit : s->kinds & ~bit;
                }
                s->last = (char)c;
                break;
            case '}':
            case ']':
                s->last = 'v';
                if (--s->depth <= 0) end = 1;
                break;
            case ':':
            case ',':
                s->last = (char)c;
                break;
            case '\n':
                s->line++;
                c = ' ';
                break;
            case '\t':                                 /* white space in a warning's snippet */
                c = ' ';
                break;
            default:                                    /* control bytes: the decoder refuses them */
                break;
            }
        }
        if (!cut) {
            char b = (char)c;
            o = put(s, out, o, &b, 1);
            i++;
        }
        if (end || cut) {                               /* the record is whole: one line */
            out[o++] = '\n';
            starts[k++] = s->rec_line;
            s->in_rec = OUT_SIDE;
        }
    }
    *used = i;
    *nstarts = k;
    return o;
}

size_t hf_split_end(hf_split *s, char *out, size_t room, uint64_t *start, size_t *nstarts)
{
    *nstarts = 0;
    if (s->in_rec == OUT_SIDE || room < 1) return 0;
    out[0] = '\n';
    *start = s->rec_line;
    *nstarts = 1;
    s->in_rec = OUT_SIDE;
    return 1;
}

int hf_split_detect(const char *p, size_t n, int at_end, size_t max)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    if (i == n) return at_end || n > max ? HF_FRAME_LINES : HF_FRAME_MORE;
    if (p[i] == '[') return HF_FRAME_SPLIT;
    if (p[i] != '{') return HF_FRAME_LINES;
    int64_t depth = 0;
    int str = 0, esc = 0;
    for (size_t j = i; j < n; j++) {
        char c = p[j];
        if (j - i > max) return HF_FRAME_LINES;         /* one long line */
        if (str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') str = 0;
            else if (c == '\n') return HF_FRAME_LINES;  /* a broken line */
            continue;
        }
        switch (c) {
        case '"': str = 1; break;
        case '{': case '[': depth++; break;
        case '}': case ']': if (--depth == 0) return HF_FRAME_LINES; break;
        case '\n': return HF_FRAME_SPLIT;              /* the first record goes on */
        default: break;
        }
    }
    return at_end ? HF_FRAME_LINES : HF_FRAME_MORE;
}
