/* input.h -- newline-delimited records from a file (plain or gzip, told
 * apart by content, not by name) or standard input.
 *
 * Lines are returned in place, in a buffer that holds at least two of the
 * longest accepted lines; a line longer than the limit is skipped up to its
 * newline and reported as HF_INPUT_TOO_LONG, so one hostile line costs no
 * more memory than a normal one. */
#ifndef HF_INPUT_H
#define HF_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct hf_input hf_input;

enum {
    HF_INPUT_LINE = 1,       /* *line, *len: one line, without its newline */
    HF_INPUT_EOF = 0,
    HF_INPUT_ERROR = -1,     /* read error; hf_input_error() says which */
    HF_INPUT_TOO_LONG = -2,  /* a line over the limit was skipped */
};

/* Open path ("-" is standard input).  Returns NULL with a message in err. */
hf_input *hf_input_open(const char *path, size_t max_line, char *err, size_t errlen);
/* The next line.  The pointer stays valid until the next call. */
int hf_input_next(hf_input *in, const char **line, size_t *len);
/* Whole lines in bulk, for a reader that hands them to other threads:
 * fills dst (cap bytes, more than max_line) with one or more complete
 * lines, each with its newline (the input's last line may lack one), read
 * straight into dst when no line is pending.  Returns the bytes, 0 at the
 * end, HF_INPUT_ERROR, or HF_INPUT_TOO_LONG when the next line does not fit
 * in cap (it is skipped to its newline).  Lines within dst longer than
 * max_line are the caller's to refuse.  Line numbers are not kept: the
 * caller counts newlines.  Use this or hf_input_next() on an input, not
 * both. */
long hf_input_lines(hf_input *in, char *dst, size_t cap);
/* 1-based number of the line last returned (or skipped). */
uint64_t hf_input_lineno(const hf_input *in);
const char *hf_input_error(const hf_input *in);
/* fn(ctx) is called before a read that would wait: the input is a pipe, a
 * terminal or a socket with nothing to read right now.  (A regular file
 * never waits.)  For work that must not sit idle while input is slow. */
void hf_input_on_wait(hf_input *in, void (*fn)(void *ctx), void *ctx);
/* *stop is checked before every read: once it is set, a read fails
 * (HF_INPUT_ERROR, hf_input_error() "interrupted"), so no loop of the
 * reader -- skipping a line without end from /dev/zero, say -- outlives a
 * stop request.  NULL: none. */
void hf_input_on_stop(hf_input *in, const _Atomic int *stop);
void hf_input_close(hf_input *in);

#endif
