/* changelog.h -- the profiles' changelog as the engine sees it: a table of
 * callbacks that the Kafka side (io/changelog.c) fills, so the engine
 * writes and reads profiles.topic without including any of Kafka.
 *
 * A message is one host of one profile: key "NAME/ADDRESS" (the profile's
 * name, the host as text), value the host's row as hf_profiles_encode
 * makes it (profile.h: a file of one row, with the profile's signature
 * and the host's absorbed_until, its mark), or no value (a tombstone: the
 * host expired).  A compacted topic keeps the last message of each key. */
#ifndef HF_CHANGELOG_H
#define HF_CHANGELOG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"

typedef void (*hf_changelog_fn)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen);

typedef struct hf_changelog {
    void *ctx;
    /* Write one message (val NULL: a tombstone); blocks while the queue is
     * full.  0, or -1 when it can never be written.  Any worker thread. */
    int (*put)(void *ctx, const void *key, size_t klen, const void *val, size_t vlen);
    /* Wait at most timeout_ms until every message written so far is
     * acknowledged: 0; -1 when some are not, or one of those written since
     * this worker's last flush failed. */
    int (*flush)(void *ctx, int worker, int timeout_ms);
    /* Read the topic up to its end as it is now (its high watermarks), in
     * each partition's order, each message to fn.  0, or -1 with a message
     * in err (what was read was handed on). */
    int (*read)(void *ctx, hf_changelog_fn fn, void *fctx, char *err, size_t errlen);
    const char *topic;
} hf_changelog;

/* The host a key "NAME/ADDRESS" names, into addr (16 bytes), parted at
 * its last '/' (an IPv6 address has none): the name's length; -1 when the
 * key is not a name and a '/', -2 when what follows is not an address. */
static inline long hf_changelog_key_host(const char *key, size_t klen, uint8_t addr[16])
{
    const char *slash = klen ? memrchr(key, '/', klen) : NULL;
    uint8_t family;
    if (!slash || slash == key) return -1;
    size_t nlen = (size_t)(slash - key);
    return hf_addr_parse(slash + 1, klen - nlen - 1, addr, &family) < 0 ? -2 : (long)nlen;
}

#endif
