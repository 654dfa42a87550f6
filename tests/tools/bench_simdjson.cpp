/* bench_simdjson.cpp -- the yardstick beside hostflow's decoder: simdjson
 * (Debian's libsimdjson-dev) used plainly, over the same lines.
 *
 *   build/tools/bench_simdjson [-r RUNS] [-n LINES] FILE
 *
 * The first LINES lines (default 500000) of FILE, less those that are not
 * JSON objects of at most 64 KiB (the input's malformed lines, 0.1 %:
 * iterate_many stops at the first), joined by newlines into one padded buffer, are parsed by the On-Demand API's iterate_many, one
 * document a line; each object's members are walked and those hostflow
 * decodes (the three key families of DESIGN.md, matched by their name) are
 * read: numbers as integers, addresses and ISO times as text parsed by the
 * core's own hf_addr_parse and hf_time_parse_iso, the rest skipped.  No
 * flow is checked or filled in: this is what a general parser costs for
 * the same walk, and is faster than a full decoder would be.  Timed like
 * bench_stages: this thread's CPU time, RUNS rounds (default 5), one JSON
 * line with lines per second per round.  Built only where simdjson is
 * installed (the Makefile's bench_simdjson rule); tests/bench/run.sh adds
 * its row when it is there. */
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

extern "C" {
#include "base/addr.h"
#include "base/timefmt.h"
}

#define SIMDJSON_TEXT_(x) #x
#define SIMDJSON_TEXT(x)  SIMDJSON_TEXT_(x)

static double cpu_s()
{
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What a key is: 0 skipped, 1 a number, 2 an address, 3 a time (number or text). */
static int kind_of(std::string_view k)
{
    size_t dot = k.find_first_of(".:");
    std::string_view n = dot == std::string_view::npos ? k : k.substr(dot + 1);
    if (n == "sourceIPv4Address" || n == "sourceIPv6Address" || n == "destinationIPv4Address" ||
        n == "destinationIPv6Address" || k == "src4_addr" || k == "src6_addr" || k == "dst4_addr" ||
        k == "dst6_addr")
        return 2;
    if (n == "flowStartMilliseconds" || n == "flowEndMilliseconds" || k == "first" || k == "last")
        return 3;
    if (n == "sourceTransportPort" || n == "destinationTransportPort" || n == "protocolIdentifier" ||
        n == "tcpControlBits" || n == "packetDeltaCount" || n == "octetDeltaCount" ||
        k == "src_port" || k == "dst_port" || k == "proto" || k == "tcp_flags" || k == "in_packets" ||
        k == "in_bytes")
        return 1;
    return 0;
}

/* One pass: every document's members; returns the documents read whole. */
static size_t pass(simdjson::ondemand::parser &parser, const simdjson::padded_string &text, uint64_t *sum)
{
    size_t docs = 0;
    simdjson::ondemand::document_stream stream;
    auto err = parser.iterate_many(text, 1 << 20).get(stream);
    if (err) { fprintf(stderr, "bench_simdjson: %s\n", simdjson::error_message(err)); return 0; }
    for (auto doc : stream) {
        simdjson::ondemand::object obj;
        auto e = doc.get_object().get(obj);
        if (e) {
            fprintf(stderr, "bench_simdjson: line %zu: %s\n", docs + 1, simdjson::error_message(e));
            break;
        }
        bool ok = true;
        for (auto field : obj) {
            std::string_view key;
            if (field.unescaped_key().get(key)) { ok = false; break; }
            int kind = kind_of(key);
            auto value = field.value();
            if (kind == 1 || kind == 3) {
                uint64_t v;
                if (!value.get_uint64().get(v)) { *sum += v; continue; }
                if (kind == 1) continue;
            }
            if (kind == 2 || kind == 3) {
                std::string_view s;
                if (value.get_string().get(s)) continue;
                if (kind == 2) {
                    uint8_t a[16], fam;
                    if (hf_addr_parse(s.data(), s.size(), a, &fam) == 0) *sum += a[15];
                } else {
                    int64_t ms;
                    if (hf_time_parse_iso(s.data(), s.size(), &ms) == 0) *sum += (uint64_t)ms;
                }
            }
        }
        if (ok) docs++;
    }
    return docs;
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t max = 500000;
    const char *path = nullptr;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) max = (size_t)atol(argv[++i]);
        else if (argv[i][0] != '-') path = argv[i];
        else { path = nullptr; break; }
    }
    if (!path || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_simdjson [-r RUNS] [-n LINES] FILE\n");
        return 2;
    }
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return 1; }
    std::string all;
    char *line = nullptr;
    size_t cap = 0, lines = 0;
    ssize_t n;
    size_t skipped = 0;
    simdjson::dom::parser checker;
    while (lines + skipped < max && (n = getline(&line, &cap, f)) > 0) {
        /* iterate_many stops at a line that is not a JSON object (the
         * bench input's malformed lines), and refuses a whole batch for one
         * of bad UTF-8: those are left out, checked by the DOM parser */
        simdjson::dom::element e;
        if (n > 65536 || !simdjson::validate_utf8(line, (size_t)n) ||
            checker.parse(line, (size_t)n).get(e) || !e.is_object()) {
            skipped++;
            continue;
        }
        all.append(line, (size_t)n);
        if (line[n - 1] != '\n') all.push_back('\n');
        lines++;
    }
    free(line);
    fclose(f);
    simdjson::padded_string text(all);
    simdjson::ondemand::parser parser;
    uint64_t sum = 0;
    size_t docs = pass(parser, text, &sum);             /* warm-up, and the count */
    double rate[100];
    for (int r = 0; r < runs; r++) {
        double t0 = cpu_s();
        pass(parser, text, &sum);
        rate[r] = (double)lines / (cpu_s() - t0);
    }
    printf("{\"bench\":\"simdjson\",\"version\":\"%s\",\"implementation\":\"%s\",\"lines\":%zu,\"skipped\":%zu,"
           "\"objects\":%zu,\"decode_simdjson\":[",
           SIMDJSON_TEXT(SIMDJSON_VERSION), simdjson::get_active_implementation()->name().c_str(), lines, skipped, docs);
    for (int r = 0; r < runs; r++) printf("%s%.6g", r ? "," : "", rate[r]);
    printf("],\"sum\":%llu}\n", (unsigned long long)(sum & 1));
    return 0;
}
