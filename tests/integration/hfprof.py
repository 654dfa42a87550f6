#!/usr/bin/env python3
"""hfprof.py -- read hostflow's profile files (core/engine/profile.h) for tests.

  hfprof.py dump FILE...     one line per host, sorted: address, absorbed_until,
                             and the sha256 of its state (the bytes after its head)
  hfprof.py head FILE        the head's fields as JSON
  hfprof.py changelog FILE   the same lines as dump, from a profiles.topic read by
                             kcat -f '%K %S %k%s' (each value is a file of one row;
                             per key the last message, a tombstone forgets it;
                             per host the row that absorbed furthest; values
                             that are not a row are skipped, counted on stderr)

The format: "hfprof1\\n", u32 0x01020304, u32 head bytes, u32 row size, u32 state
size, u32 worker, u32 workers, u64 rows, i64 saved_until, i64 saved_at, u32 name
length, u32 signature length, name, signature, rows (a 32-byte head: address 16,
flags 4, pad 4, absorbed_until 8; then the state), u64 checksum."""
import hashlib
import ipaddress
import json
import struct
import sys

FIXED = 8 + 4 * 6 + 8 * 3 + 4 * 2


def read(path, data=None):
    if data is None:
        data = open(path, "rb").read()
    if data[:8] != b"hfprof1\n":
        raise SystemExit(f"{path}: not a profile file")
    (endian, hlen, row_size, state_size, worker, workers, rows, saved_until, saved_at,
     nlen, slen) = struct.unpack_from("<IIIIIIQqqII", data, 8)
    name = data[FIXED:FIXED + nlen].decode()
    sig = data[FIXED + nlen:FIXED + nlen + slen].decode()
    head = dict(row_size=row_size, state_size=state_size, worker=worker, workers=workers,
                rows=rows, saved_until=saved_until, saved_at=saved_at, name=name, signature=sig)
    hosts = {}
    for i in range(rows):
        r = data[hlen + i * row_size:hlen + (i + 1) * row_size]
        a = ipaddress.IPv6Address(r[:16])
        addr = str(a.ipv4_mapped) if a.ipv4_mapped else str(a)
        absorbed = struct.unpack_from("<q", r, 24)[0]
        hosts[addr] = (absorbed, hashlib.sha256(r[32:]).hexdigest())
    return head, hosts


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    if sys.argv[1] == "head":
        print(json.dumps(read(sys.argv[2])[0], sort_keys=True))
    elif sys.argv[1] == "dump":
        hosts = {}
        for p in sys.argv[2:]:
            for addr, v in read(p)[1].items():
                if addr not in hosts or v[0] > hosts[addr][0]:
                    hosts[addr] = v
        for addr in sorted(hosts):
            print(addr, hosts[addr][0], hosts[addr][1])
    elif sys.argv[1] == "changelog":
        data, pos, last = open(sys.argv[2], "rb").read(), 0, {}
        while pos < len(data):
            sp1 = data.index(b" ", pos)
            sp2 = data.index(b" ", sp1 + 1)
            klen, vlen = int(data[pos:sp1]), int(data[sp1 + 1:sp2])
            pos = sp2 + 1
            key = data[pos:pos + max(klen, 0)]
            pos += max(klen, 0)
            last[key] = data[pos:pos + vlen] if vlen >= 0 else None
            pos += max(vlen, 0)
        hosts, bad = {}, 0
        for key, value in last.items():
            if value is None:
                continue
            try:
                rows = read(key.decode(errors="replace"), value)[1]
            except (SystemExit, struct.error, ValueError):
                bad += 1
                continue
            for addr, v in rows.items():
                if addr not in hosts or v[0] > hosts[addr][0]:
                    hosts[addr] = v
        for addr in sorted(hosts):
            print(addr, hosts[addr][0], hosts[addr][1])
        if bad:
            print("%d messages that are not a profile's row" % bad, file=sys.stderr)
    else:
        raise SystemExit(__doc__)


main()
