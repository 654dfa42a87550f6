/* flow.h -- the decoded IP flow: the one struct every stage of hostflow shares.
 *
 * The decoder fills it from a JSON line, the filter and the windows read it,
 * and batches of it reach the Lua analyses through the LuaJIT FFI.  The same
 * declaration is repeated (guarded) in lua/hostflow/base.lua: change both.
 *
 * Addresses are 16 bytes, IPv4 mapped into IPv6 (::ffff:a.b.c.d), with the
 * family beside them.  Counts and times are doubles so that Lua reads them as
 * plain numbers: every value the decoder accepts is an integer below 2^53, so
 * a double holds it exactly. */
#ifndef HF_FLOW_H
#define HF_FLOW_H

#include <stdint.h>

#define HF_AF_INET  4
#define HF_AF_INET6 6

/* TCP flag bits, as in the TCP header and IPFIX tcpControlBits. */
#define HF_TCP_FIN 0x01
#define HF_TCP_SYN 0x02
#define HF_TCP_RST 0x04
#define HF_TCP_PSH 0x08
#define HF_TCP_ACK 0x10
#define HF_TCP_URG 0x20
#define HF_TCP_ECE 0x40
#define HF_TCP_CWR 0x80

#define HF_MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

/* hf_flow.mark: which hosts' rows a flow is for, in the worker it reaches.
 * 0 (the decoder's, and any flow made by hand): its source's.  The filter
 * and the shards set the rest: the destination is monitored and its row
 * takes the flow (for analyses keyed by the destination, by = "dst"), and
 * the source's row does not (not monitored, or another worker's). */
#define HF_FLOW_DST     0x01
#define HF_FLOW_NO_SRC  0x02
#define HF_FLOW_SRC_OUT 0x04   /* the source is not monitored (from outside: hf.outside) */

typedef struct hf_flow {
    uint8_t  src[16];   /* source address, IPv4 mapped into IPv6 */
    uint8_t  dst[16];   /* destination address, likewise */
    double   start_ms;  /* flow start, ms since the epoch (UTC) */
    double   end_ms;    /* flow end, ms since the epoch (UTC); >= start_ms */
    double   packets;   /* packet count, 0 .. 2^53 */
    double   bytes;     /* octet count, 0 .. 2^53 */
    uint16_t sport;     /* source transport port, 0 when absent */
    uint16_t dport;     /* destination transport port, 0 when absent */
    uint8_t  proto;     /* IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...) */
    uint8_t  tcp_flags; /* HF_TCP_* bits, 0 when absent */
    uint8_t  family;    /* HF_AF_INET or HF_AF_INET6 */
    uint8_t  mark;      /* HF_FLOW_* bits; 0 from the decoder */
} hf_flow;

#endif
