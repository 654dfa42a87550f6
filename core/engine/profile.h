/* profile.h -- the hosts of one profile in one worker: per host, a state that
 * lives across windows, how far it has absorbed, and its file on disk.
 *
 * A profile (hf.profile in Lua) is a rule whose state belongs to a host,
 * not to a window: it is fed the host's closed windows of one granularity,
 * in window order, and keeps what it learns.  This module keeps the rows:
 *
 *   row  | hf_profile_host (32 bytes)                      | state (the  |
 *        | addr 16 | v6, live | absorbed_until (ms)          | profile's)  |
 *
 *   table   open addressing on the address's hash -> row number + 1
 *   rows    in chunks of HF_PROFILE_CHUNK, never moved (the Lua side holds
 *           pointers while it absorbs); a forgotten host's row is reused
 *
 * Exactly once.  absorbed_until is the end of the last window the host
 * absorbed; a window that starts before it (a window written again after
 * a restart, at least once) is not absorbed again.  Memory is bounded:
 * max_hosts rows (a new host past it is refused, counted); with a pool
 * (hf_profiles_pool: the worker's), the store's bytes count against
 * memory.max_bytes with the windows', and a new host whose rows or table
 * would pass it is refused (counted apart); hosts not seen for
 * profiles.expire (event time) are forgotten (counted).
 *
 * The file.  hf_profiles_save writes every row to PATH.tmp, fsyncs it and
 * renames it over PATH (then fsyncs the directory): a crash leaves the old
 * file or the new one, never half of one.  Its head says what it holds:
 *
 *   "hfprof1\n" | u32 0x01020304 (byte order) | u32 head bytes | u32 row size
 *   | u32 state size | u32 worker | u32 workers | u64 rows | i64 saved_until
 *   | i64 saved_at | u32 name length | u32 signature length | name | signature
 *   | rows ... | u64 checksum (of everything before)
 *
 * The signature is the state's declaration (schema.signature in Lua): a
 * file of another declaration, or another profile, is never read as if it
 * matched.  hf_profiles_load refuses a file that is foreign, truncated,
 * corrupt (checksum) or of another byte order: it renames it aside
 * (PATH.bad-<unix time>), names both paths in the message, and the
 * profile starts without those hosts.  A worker keeps only the hosts it
 * owns (the pipeline's hash of the address, modulo the workers), so the
 * files of a run with another number of workers are read as well; a host
 * in more than one file is taken from the one that absorbed it furthest.
 *
 * Held aside (profiles.topic: the changelog, README "Several instances").
 * With hf_profiles_keep_aside, rows read from files and messages go to a
 * second store of the same layout, the hosts held but not owned now: a
 * host is taken from it into the live rows when it is first absorbed (its
 * row made), so only the hosts this instance is fed are reported
 * (host_profile records), while those it is not fed cost their row, once.
 * hf_profiles_put_aside moves every live row there (partitions revoked:
 * the hosts may be another's now).  Wherever a host is found twice, the
 * row that absorbed furthest wins.
 *
 * The message.  hf_profiles_encode writes one host as a file of one row
 * (the same head, signature and checksum); hf_profiles_take reads one
 * back, with the checks of hf_profiles_load, so a changelog message is
 * never taken unless it is whole and of this profile's declaration.
 *
 * One store per profile per worker, used by that worker's thread only. */
#ifndef HF_PROFILE_H
#define HF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "prim/state.h"

#define HF_PROFILE_CHUNK 256     /* rows per chunk (about 240 KiB of the shipped profile) */

typedef struct hf_profile_host {
    uint8_t  addr[16];
    uint32_t v6   : 1;
    uint32_t live : 1;            /* 0: a free row */
    uint32_t dirty : 1;           /* changed since it was last published (profiles.topic) */
    uint32_t pad  : 29;
    uint32_t pad2;
    int64_t  absorbed_until;      /* end of the last window absorbed (ms) */
} hf_profile_host;

typedef struct hf_profiles hf_profiles;

typedef struct hf_profile_stats {
    uint64_t hosts;               /* rows in use */
    uint64_t refused;             /* new hosts refused: max_hosts */
    uint64_t refused_memory;      /* new hosts refused: the pool's limit */
    uint64_t expired;             /* hosts forgotten: not seen for expire */
    uint64_t skipped;             /* windows not absorbed again (replay) */
    uint64_t absorbed;            /* host-windows absorbed */
    uint64_t aside;               /* hosts held aside (not owned now; profiles.topic) */
    uint64_t taken_back;          /* hosts taken from aside when first absorbed */
    size_t   bytes;               /* rows and table (and those held aside) */
} hf_profile_stats;

/* A store for the profile called name whose state is laid out by schema
 * (copied) and declared as signature (text), at most max_hosts hosts. */
hf_profiles *hf_profiles_new(const char *name, const char *signature, const hf_schema *schema,
                             uint32_t max_hosts);
void hf_profiles_free(hf_profiles *p);
/* At most max_hosts hosts from now on (those kept stay). */
void hf_profiles_limit(hf_profiles *p, uint32_t max_hosts);
/* Count the store's bytes against pool from now on (its limit refuses new
 * hosts), until it is freed.  A store already counted stays with its pool. */
void hf_profiles_pool(hf_profiles *p, hf_pool *pool);
const char *hf_profiles_name(const hf_profiles *p);
size_t hf_profiles_row_size(const hf_profiles *p);

/* The row of a host, made (its state initialised, absorbed_until 0) when
 * new; NULL when it is new and max_hosts rows are in use (counted). */
uint8_t *hf_profiles_host(hf_profiles *p, const uint8_t addr[16], int v6);
/* The row of a host, or NULL. */
uint8_t *hf_profiles_find(const hf_profiles *p, const uint8_t addr[16]);

/* Whether the host's window [start_ms, end_ms) is to be absorbed: its row
 * (made when new), with absorbed_until moved to end_ms; NULL when the host
 * has absorbed up to start_ms already (a window seen again: counted as
 * skipped) or it is new and refused. */
uint8_t *hf_profiles_absorb(hf_profiles *p, const uint8_t addr[16], int v6, int64_t start_ms,
                            int64_t end_ms);

/* Start fetching what hf_profiles_absorb(addr) will read: stage 0 the
 * table slot where its search starts, stage 1 (that slot in cache by
 * then) the row it holds.  A caller going through many hosts asks a few
 * hosts ahead, so the cache misses overlap. */
void hf_profiles_prefetch(const hf_profiles *p, const uint8_t addr[16], int stage);

/* Rows are numbered 0 .. hf_profiles_nrows() - 1; a free one is NULL. */
uint32_t hf_profiles_nrows(const hf_profiles *p);
uint8_t *hf_profiles_row(const hf_profiles *p, uint32_t i);

/* Forget the hosts whose absorbed_until is before before_ms; how many.
 * gone(ctx, host), when not NULL, is called for each live host forgotten
 * (those held aside are forgotten quietly). */
uint64_t hf_profiles_expire(hf_profiles *p, int64_t before_ms);
uint64_t hf_profiles_expire_each(hf_profiles *p, int64_t before_ms,
                                 void (*gone)(void *ctx, const hf_profile_host *h), void *ctx);
/* Forget the host at addr, if p has it (its live row, not one aside). */
void hf_profiles_drop(hf_profiles *p, const uint8_t addr[16]);

/* Keep the rows read (files, messages) aside from now on (above). */
void hf_profiles_keep_aside(hf_profiles *p);
/* Move every live row aside (nothing without hf_profiles_keep_aside):
 * how many. */
uint64_t hf_profiles_put_aside(hf_profiles *p);
/* The store of the rows held aside, or NULL. */
hf_profiles *hf_profiles_aside(const hf_profiles *p);

void hf_profiles_stats(const hf_profiles *p, hf_profile_stats *st);

/* Write every host to path atomically (above), as worker `worker` of
 * `workers`, complete for windows ending by saved_until.  0, or -1 with a
 * message in err (the old file, if any, is untouched). */
int hf_profiles_save(const hf_profiles *p, const char *path, int worker, int workers,
                     int64_t saved_until, char *err, size_t errlen);

/* Read a file written by hf_profiles_save into p, keeping the hosts that
 * worker `worker` of `workers` owns (all when workers <= 1) where the file
 * has absorbed further than p.  Returns the hosts taken (>= 0); -1 when the
 * file was refused and set aside (err says why and where it went); -2 when
 * it cannot be read at all (err).  *saved_until: the file's. */
long hf_profiles_load(hf_profiles *p, const char *path, int worker, int workers,
                      int64_t *saved_until, char *err, size_t errlen);

/* Append host row (a row of p) to out as one message: a file of one row
 * (above), complete through saved_until; its bytes. */
size_t hf_profiles_encode(const hf_profiles *p, const uint8_t *row, int64_t saved_until, hf_buf *out);

enum {
    HF_PROFILE_TAKEN = 1,         /* the row is p's now (aside, or live) */
    HF_PROFILE_KEPT = 0,          /* whole, but not taken: another worker's host, or not further */
    HF_PROFILE_BAD = -1,          /* malformed or foreign (why says how) */
    HF_PROFILE_OTHER = -2,        /* of another declaration of p's state (why) */
};
/* Read one message of hf_profiles_encode (len bytes, any bytes at all:
 * it is checked whole before anything is taken), the row of the host at
 * addr (its key's; NULL: any), into p, for worker
 * `worker` of `workers` as hf_profiles_load: HF_PROFILE_*. */
int hf_profiles_take(hf_profiles *p, const void *msg, size_t len, const uint8_t addr[16], int worker,
                     int workers, char *why, size_t n);

/* The number at a dotted path ("total.bytes"; "" for the whole value) in
 * the JSON text [text, text + len): a number, or NaN when the path is not
 * there or is not a number. */
double hf_profile_json_number(const char *text, size_t len, const char *path);

#endif
