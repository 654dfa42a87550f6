/* jsonsplit.h -- JSON records however they are framed, as one line each.
 *
 * Collectors write flow records as NDJSON (one object a line), as
 * pretty-printed objects (one key a line), or as one JSON array of them
 * (Debian 12's nfdump 1.7.1 `-o json`: "[", "{", one key a line, "},").
 * The splitter turns a stream of such bytes, fed in pieces of any size,
 * into one record a line, as the rest of hostflow reads them: each record's
 * own newlines become spaces, the array's brackets and commas go, and the
 * line where each record starts is kept for warnings.  It never holds more
 * than the record being written; a record longer than max is cut to max + 1
 * bytes (so the reader refuses it as too long) and the rest skipped.
 *
 * What is not a record is still handed on, to be refused by the decoder
 * with its line number: text between elements ("garbage, {...}") up to the
 * next newline, comma, bracket or brace; a record cut short where a new one
 * must begin (a "{" where an object expects a key, as when a "}" is
 * missing); a string broken by a raw newline (which JSON does not allow). */
#ifndef HF_JSONSPLIT_H
#define HF_JSONSPLIT_H

#include <stddef.h>
#include <stdint.h>

#define HF_SPLIT_KINDS 64    /* nesting depth whose container kinds are followed */

typedef struct hf_split {
    size_t   max;            /* longest record kept whole */
    uint64_t line;           /* the input line being read, from 1 */
    uint64_t rec_line;       /* where the record being written started */
    size_t   rec_len;        /* its bytes so far (past max + 1: skipped) */
    int      in_rec;         /* 0 between records, 1 in a value, 2 in text that is not one */
    int      in_array;       /* inside the outermost array */
    int      arrays;         /* outermost arrays opened */
    int64_t  depth;          /* of the record's brackets */
    int      in_str, esc;
    char     last;           /* the last structural byte at this depth: { [ : , or v (a value) */
    uint64_t kinds;          /* bit d-1: the container at depth d is an object */
    int      pending_nl;     /* a record ended with no room left for its newline */
} hf_split;

/* Start splitting records of at most max bytes. */
void hf_split_init(hf_split *s, size_t max);

/* Split in[0..n) into out (room bytes): records, each ending in '\n'.
 * *used: bytes of in taken (all unless out filled up); returns the bytes
 * written.  starts[] (room for nstarts_max) gets the line where each record
 * completed in this call starts, *nstarts how many; the call stops early
 * rather than overflow it. */
size_t hf_split_feed(hf_split *s, const char *in, size_t n, size_t *used, char *out, size_t room,
                     uint64_t *starts, size_t nstarts_max, size_t *nstarts);

/* The end of the input: the record begun, if any, ended (it will not
 * decode).  Returns the bytes written to out (room at least 2), and sets
 * *start and returns it in *nstarts (0 or 1). */
size_t hf_split_end(hf_split *s, char *out, size_t room, uint64_t *start, size_t *nstarts);

/* Did the input end inside an array (a file cut short)? */
static inline int hf_split_open_array(const hf_split *s)
{
    return s->in_array;
}

/* What the first bytes of an input say of its framing: one record a line
 * (HF_FRAME_LINES: NDJSON, or anything that is not JSON), records over
 * several lines or in an array (HF_FRAME_SPLIT), or not known yet (more
 * bytes needed, HF_FRAME_MORE).  p[0..n) starts after any byte order mark;
 * at_end: nothing more will come; max: decide by then. */
enum { HF_FRAME_MORE = 0, HF_FRAME_LINES = 1, HF_FRAME_SPLIT = 2 };
int hf_split_detect(const char *p, size_t n, int at_end, size_t max);

#endif
