/* prefix.h -- monitored networks: a longest-prefix-match trie over IPv4 and
 * IPv6 prefixes, each one included or excluded.
 *
 * A host is monitored when the longest prefix that contains its address is an
 * included one.  "10.0.0.0/8" and "!10.1.0.0/16" monitor 10/8 but not 10.1/16;
 * a more specific included prefix inside an exclusion monitors again.  IPv4
 * prefixes live in the trie as their IPv4-mapped IPv6 form (::ffff:0:0/96 +
 * the IPv4 bits), so one trie serves both families; "::ffff:10.0.0.0/104" is
 * the same prefix as "10.0.0.0/8".  An address no prefix covers is not
 * monitored, so a set of exclusions alone monitors nothing.
 *
 * Adds must be done before lookups start; hf_prefixes_match only reads, so
 * any number of threads may then share one set. */
#ifndef HF_PREFIX_H
#define HF_PREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"

typedef struct hf_prefixes hf_prefixes;

hf_prefixes *hf_prefixes_new(void);
void hf_prefixes_free(hf_prefixes *p);

/* Add "ADDR/LEN" (IPv4 or IPv6; no "/LEN" means a single host), or, with a
 * leading '!', an exclusion.  Host bits below the length are ignored; adding
 * a prefix already held replaces its verdict (the last add wins).  The text
 * is the prefix alone: no whitespace, LEN in decimal without leading zeros.
 * Returns 0, or -1 with a message in err (errlen bytes, may be 0) naming what
 * was wrong ("bad address '10.0.0.300'", "prefix length 33 out of range for
 * IPv4", "empty prefix", ...), leaving the set unchanged. */
int hf_prefixes_add(hf_prefixes *p, const char *cidr, char *err, size_t errlen);

/* Number of distinct prefixes held (included and excluded). */
size_t hf_prefixes_count(const hf_prefixes *p);

/* 1 when addr (16 bytes, IPv4 mapped) is monitored, else 0.  With no prefix
 * added at all, every address is monitored. */
int hf_prefixes_match(const hf_prefixes *p, const uint8_t addr[16]);


#endif
