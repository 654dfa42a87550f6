/* recscan.h -- one pass over a JSON record, without a tree: every member
 * down to a depth, by its dotted path, for outputs that read records back
 * (the HTTP view and --top: view.c).
 *
 *   {"src_ip":"10.0.0.1","window":{"start_ms":1764165610000,...},"stats":{"total":{"flow":12}}}
 *
 *   fn("src_ip", STRING "10.0.0.1")  fn("window", OBJECT)  fn("window.start_ms", NUMBER 1.76e12)
 *   fn("stats", OBJECT)  fn("stats.total", OBJECT)  fn("stats.total.flow", NUMBER 12)
 *
 * The records come from the engine, so they are well formed; the scanner
 * is still safe on any bytes (it never reads outside [text, text + len),
 * never allocates, and nests at most HF_RECSCAN_MAX_NEST deep) and refuses
 * what is not one JSON object.  It checks the structure and the grammar of
 * numbers, not the contents of strings (UTF-8, control bytes): those are
 * handed over raw, as they stand between the quotes. */
#ifndef HF_RECSCAN_H
#define HF_RECSCAN_H

#include <stddef.h>

#define HF_RECSCAN_MAX_PATH 128    /* a path longer than this is not reported */
#define HF_RECSCAN_MAX_NEST 64     /* deeper nesting: the record is refused */

enum hf_recscan_kind {
    HF_RECSCAN_NUMBER,
    HF_RECSCAN_STRING,
    HF_RECSCAN_TRUE,
    HF_RECSCAN_FALSE,
    HF_RECSCAN_NULL,
    HF_RECSCAN_OBJECT,             /* reported before its members */
    HF_RECSCAN_ARRAY,              /* its items are walked, not reported */
};

typedef struct hf_recscan_item {
    const char *path;              /* "stats.total.flow", keys unescaped, NUL-terminated */
    size_t      pathlen;
    int         depth;             /* 1: a member of the record itself */
    int         kind;              /* enum hf_recscan_kind */
    double      num;               /* NUMBER: its value */
    const char *str;               /* STRING: its raw text between the quotes */
    size_t      len;
    int         nonempty;          /* OBJECT, ARRAY: it has members or items */
} hf_recscan_item;

typedef void (*hf_recscan_fn)(void *ctx, const hf_recscan_item *it);

/* Walk the object at text (white space around it allowed), calling fn for
 * every member down to max_depth (1: the record's own members), in order.
 * Returns 0, or -1 when the text is not one well-formed JSON object (fn may
 * have been called for members before the fault). */
int hf_recscan_walk(const char *text, size_t len, int max_depth, hf_recscan_fn fn, void *ctx);

/* Compare a path with a NUL-terminated name. */
static inline int hf_recscan_is(const hf_recscan_item *it, const char *name, size_t namelen)
{
    return it->pathlen == namelen && __builtin_memcmp(it->path, name, namelen) == 0;
}

#endif
