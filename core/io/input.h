/* input.h -- flow records from a file (plain or gzip, told apart by
 * content, not by name) or standard input: NDJSON, or a JSON array or
 * pretty-printed objects (told apart by the first bytes; each record is
 * then handed over as one line, its own newlines made spaces).  A UTF-8
 * byte order mark is dropped; UTF-16 and UTF-32 are an error that names
 * the encoding.
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
/* 1 when hf_input_lines() may be called from any thread, one call at a
 * time: a regular file (a read never waits, hf_input_on_wait is never
 * called) of one record a line, as the calls so far have found (no line
 * numbers to keep: hf_input_block_lineno is 0). */
int hf_input_lines_anywhere(const hf_input *in);
/* 1-based number of the line last returned (or skipped); for records over
 * several lines, the line where it starts. */
uint64_t hf_input_lineno(const hf_input *in);
/* For the block hf_input_lines() returned last, when its records are not
 * one a line in the input (a JSON array, pretty-printed records): the line
 * where each of its records starts, *lines pointing at them (valid until
 * the next call); 0 when they follow one another (NDJSON). */
size_t hf_input_block_lineno(const hf_input *in, const uint64_t **lines);
const char *hf_input_error(const hf_input *in);
/* fn(ctx) is called before a read that would wait: the input is a pipe, a
 * terminal or a socket with nothing to read right now.  (A regular file
 * never waits.)  For work that must not sit idle while input is slow. */
void hf_input_on_wait(hf_input *in, void (*fn)(void *ctx), void *ctx);
/* 1 when the next line can be had without waiting: a regular file, a
 * line read and not yet returned, or bytes ready on the pipe (the reader
 * of a second input must not sit on it while the first has data). */
int hf_input_ready(hf_input *in);
/* *stop is checked before every read: once it is set, a read fails
 * (HF_INPUT_ERROR, hf_input_error() "interrupted"), so no loop of the
 * reader -- skipping a line without end from /dev/zero, say -- outlives a
 * stop request.  NULL: none. */
void hf_input_on_stop(hf_input *in, const _Atomic int *stop);
/* How far the input is read: *done bytes of the file (gzip: compressed
 * bytes) and *total, its size, 0 when it has none (a pipe, a terminal). */
void hf_input_progress(const hf_input *in, uint64_t *done, uint64_t *total);
void hf_input_close(hf_input *in);

#endif
