/* addr.h -- IP addresses as 16 bytes (IPv4 mapped into IPv6) plus a family:
 * parsing and formatting without the C library's locale and NUL demands. */
#ifndef HF_ADDR_H
#define HF_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define HF_ADDR_STRLEN 46

/* Parse IPv4 dotted quad or IPv6 text (s need not be NUL-terminated, len
 * bytes) into 16 bytes, setting *family to 4 or 6.  An IPv4-mapped IPv6 text
 * ("::ffff:1.2.3.4") is family 6.  Returns 0, or -1 on anything else.
 * IPv4 lands as ::ffff:a.b.c.d (10 zero bytes, ff ff, the four bytes).
 * Strict: IPv4 parts 0..255 without leading zeros ("01" is refused); IPv6 as
 * RFC 4291 2.2 ("::", a dotted-quad tail); no zone, brackets, prefix length
 * or whitespace; at most 45 bytes.  Reads no byte past s[len - 1]. */
int hf_addr_parse(const char *s, size_t len, uint8_t out[16], uint8_t *family);
/* hf_addr_parse for a text that must be IPv4: 0 and the mapped address in
 * out when s[0..len) is a dotted quad (what hf_addr_parse takes with family
 * 4), else -1.  readable (>= len) says how many bytes from s may be read:
 * with 16, a way without a branch per digit, which reads them all. */
int hf_addr_parse_v4(const char *s, size_t len, size_t readable, uint8_t out[16]);

/* Format as text (dotted quad of bytes 12..15 for family 4, RFC 5952 for 6,
 * with ::ffff:0:0/96 written "::ffff:a.b.c.d") into out, which holds at least
 * HF_ADDR_STRLEN bytes; NUL-terminated.  Returns the length. */
size_t hf_addr_format(const uint8_t addr[16], uint8_t family, char *out);

/* Parse a network prefix "ADDR[/LEN]", or "!ADDR[/LEN]" (an exclusion: sets
 * *exclude).  The text is the prefix alone: no whitespace, LEN in decimal
 * without leading zeros, at most 32 for IPv4 and 128 for IPv6; no "/LEN" is
 * a single host.  *len is the length on the 128-bit mapped key (an IPv4
 * prefix's length plus 96).  Returns 0, or -1 with a message in err
 * (errlen bytes, may be 0) naming the fault ("bad address '10.0.0.300'",
 * "prefix length 33 out of range for IPv4", "empty prefix", ...). */
int hf_cidr_parse(const char *cidr, uint8_t addr[16], unsigned *len, int *exclude,
                  char *err, size_t errlen);

#endif
