/* tz.c -- IANA time zones from TZif files (RFC 8536), for local times
 * without an offset.
 *
 * A TZif file lists the instants at which a zone's offset changes and, in
 * its footer, a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") for every
 * instant after the last one listed.  hf_tz_load() reads the 64-bit (v2+)
 * part of the file and expands the footer rule year by year up to
 * TZ_RULE_LAST_YEAR, so that one table answers every question:
 *
 *     at[0] < at[1] < ... < at[n-1]      instants (ms, UTC) of the changes
 *     off[i]                             offset in force from at[i] on
 *     off_before                         offset before at[0]
 *
 * hf_tz_offset() is a binary search in it.  Going from a local wall-clock
 * time L back to an instant needs the offset o with L - o having offset o:
 * at most one change lies within a day of L, so the offsets 30 hours before
 * and after L are the only candidates; both fit when the clocks were set
 * back (the earlier instant is taken), neither when they were set forward
 * (the offset before the change is taken).
 *
 * Zones with leap seconds ("right/...") are refused: flow times are POSIX
 * times.  Only the file is read; neither TZ nor the C library's tzset() is
 * touched, and a loaded zone is read-only, safe on every thread. */
#include "base/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timefmt.h"

#define TZ_MAX_FILE        (1 << 20)   /* a TZif file is a few KiB */
#define TZ_RULE_LAST_YEAR  2200        /* the footer rule is expanded this far */
#define MS_PER_S           1000LL
#define MS_PER_DAY         86400000LL
#define HOURS_30_MS        (30 * 3600 * 1000LL)

struct hf_tz {
    char    *name;
    int64_t  off_before;
    int64_t *at;
    int64_t *off;
    size_t   n, cap;
};

/* ------------------------------------------------------------------------
 * The table
 * --------------------------------------------------------------------- */

/* Append a change at instant t to offset o (ignored unless after the last). */
static void push(hf_tz *tz, int64_t t, int64_t o)
{
    if (tz->n > 0 && t <= tz->at[tz->n - 1]) return;
    if (tz->n == tz->cap) {
        tz->cap = tz->cap ? tz->cap * 2 : 256;
        tz->at = hf_realloc(tz->at, tz->cap * sizeof *tz->at);
        tz->off = hf_realloc(tz->off, tz->cap * sizeof *tz->off);
    }
    tz->at[tz->n] = t;
    tz->off[tz->n] = o;
    tz->n++;
}

int64_t hf_tz_offset(const hf_tz *tz, int64_t t)
{
    if (!tz) return 0;
    if (tz->n == 0 || t < tz->at[0]) return tz->off_before;
    size_t lo = 0, hi = tz->n;              /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t) lo = mid;
        else hi = mid;
    }
    return tz->off[lo];
}

int64_t hf_tz_to_utc(const hf_tz *tz, int64_t local)
{
    if (!tz) return local;
    int64_t oa = hf_tz_offset(tz, local - HOURS_30_MS);
    int64_t ob = hf_tz_offset(tz, local + HOURS_30_MS);
    int64_t ta = local - oa, tb = local - ob;
    int a = hf_tz_offset(tz, ta) == oa, b = hf_tz_offset(tz, tb) == ob;
    if (a && b) return ta < tb ? ta : tb;   /* set back: the first */
    if (b) return tb;
    return ta;                              /* fits, or set forward: the offset before */
}

int hf_time_parse_iso_tz(const char *s, size_t len, const hf_tz *tz, int64_t *ms)
{
    int zoned;
    int64_t t;
    if (hf_time_parse_iso_wall(s, len, &t, &zoned) != 0) return -1;
    if (!zoned && tz) t = hf_tz_to_utc(tz, t);
    if (t < 0 || t > 253402300799999LL) return -1;   /* 1970 .. 9999-12-31T23:59:59.999Z */
    *ms = t;
    return 0;
}

const char *hf_tz_name(const hf_tz *tz)
{
    return tz ? tz->name : "UTC";
}

void hf_tz_free(hf_tz *tz)
{
    if (!tz) return;
    hf_free(tz->name);
    hf_free(tz->at);
    hf_free(tz->off);
    hf_free(tz);
}

/* ------------------------------------------------------------------------
 * The footer: a POSIX TZ rule
 * --------------------------------------------------------------------- */

/* When in a year a rule switches: Jn, n or Mm.w.d, and the local time. */
typedef struct tz_when {
    char    kind;            /* 'J', 'D' (n) or 'M' */
    int     n, m, w, d;
    int64_t time_ms;         /* local time of day, may be negative or > 24 h */
} tz_when;

typedef struct tz_rule {
    int64_t std, dst;        /* offsets, ms, local minus UTC */
    int     has_dst;
    tz_when start, end;
} tz_rule;

/* A number of at most max digits at *p; -1 when none. */
static long digits(const char **p, int max)
{
    long v = 0;
    int k = 0;
    while (k < max && **p >= '0' && **p <= '9') v = v * 10 + (*(*p)++ - '0'), k++;
    return k ? v : -1;
}

/* [+-]hh[:mm[:ss]] in ms (hours up to 167); 0 or -1. */
static int parse_hms(const char **p, int64_t *ms)
{
    int neg = 0;
    if (**p == '+' || **p == '-') neg = *(*p)++ == '-';
    long h = digits(p, 3), m = 0, s = 0;
    if (h < 0 || h > 167) return -1;
    if (**p == ':') {
        (*p)++;
        if ((m = digits(p, 2)) < 0 || m > 59) return -1;
        if (**p == ':') {
            (*p)++;
            if ((s = digits(p, 2)) < 0 || s > 59) return -1;
        }
    }
    *ms = ((int64_t)h * 3600 + m * 60 + s) * MS_PER_S * (neg ? -1 : 1);
    return 0;
}

/* A zone abbreviation: 3+ letters, or <...> with letters, digits, + and -. */
static int parse_abbr(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        while (*++s && *s != '>')
            if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= '0' && *s <= '9') || *s == '+' || *s == '-')) return -1;
        if (*s != '>' || s - *p < 4) return -1;
        *p = s + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) s++;
    if (s - *p < 3) return -1;
    *p = s;
    return 0;
}

static int parse_when(const char **p, tz_when *w)
{
    memset(w, 0, sizeof *w);
    if (**p == 'M') {
        (*p)++;
        w->kind = 'M';
        if ((w->m = (int)digits(p, 2)) < 1 || w->m > 12 || *(*p)++ != '.') return -1;
        if ((w->w = (int)digits(p, 1)) < 1 || w->w > 5 || *(*p)++ != '.') return -1;
        if ((w->d = (int)digits(p, 1)) < 0 || w->d > 6) return -1;
    } else if (**p == 'J') {
        (*p)++;
        w->kind = 'J';
        if ((w->n = (int)digits(p, 3)) < 1 || w->n > 365) return -1;
    } else {
        w->kind = 'D';
        if ((w->n = (int)digits(p, 3)) < 0 || w->n > 365) return -1;
    }
    w->time_ms = 2 * 3600 * MS_PER_S;
    if (**p == '/') {
        (*p)++;
        if (parse_hms(p, &w->time_ms) < 0) return -1;
    }
    return 0;
}

/* "std offset [dst [offset] [,start[/time],end[/time]]]"; 0 or -1. */
static int parse_rule(const char *s, tz_rule *r)
{
    int64_t o;
    memset(r, 0, sizeof *r);
    if (parse_abbr(&s) < 0 || parse_hms(&s, &o) < 0) return -1;
    r->std = -o;                               /* POSIX counts west as positive */
    if (*s == '\0') return 0;
    if (parse_abbr(&s) < 0) return -1;
    r->has_dst = 1;
    r->dst = r->std + 3600 * MS_PER_S;
    if (*s && *s != ',') {
        if (parse_hms(&s, &o) < 0) return -1;
        r->dst = -o;
    }
    if (*s != ',') return -1;                  /* no rule: not in any current file */
    s++;
    if (parse_when(&s, &r->start) < 0 || *s++ != ',' || parse_when(&s, &r->end) < 0) return -1;
    return *s == '\0' ? 0 : -1;
}

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The instant (UTC) a rule switches in year y, its time read at offset o. */
static int64_t when_utc(const tz_when *w, int y, int64_t o)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;
    if (w->kind == 'M') {
        int64_t first = hf_time_days_from_civil((unsigned)y, (unsigned)w->m, 1);
        int dow = (int)(((first + 4) % 7 + 7) % 7);            /* 1970-01-01: Thursday */
        int mday = 1 + (w->d - dow + 7) % 7 + 7 * (w->w - 1);
        int len = mdays[w->m - 1] + (w->m == 2 && leap(y));
        while (mday > len) mday -= 7;
        day = first + mday - 1;
    } else {
        int n = w->kind == 'J' ? w->n - 1 + (leap(y) && w->n >= 60) : w->n;
        day = hf_time_days_from_civil((unsigned)y, 1, 1) + n;
    }
    return day * MS_PER_DAY + w->time_ms - o;
}

/* Append the rule's changes from year 'from' through TZ_RULE_LAST_YEAR. */
static void expand_rule(hf_tz *tz, const tz_rule *r, int from)
{
    if (!r->has_dst) {
        push(tz, tz->n ? tz->at[tz->n - 1] + 1 : INT64_MIN / 2, r->std);
        return;
    }
    for (int y = from; y <= TZ_RULE_LAST_YEAR; y++) {
        int64_t on = when_utc(&r->start, y, r->std), off = when_utc(&r->end, y, r->dst);
        if (on < off) {
            push(tz, on, r->dst);
            push(tz, off, r->std);
        } else {                                  /* southern hemisphere */
            push(tz, off, r->std);
            push(tz, on, r->dst);
        }
    }
}

/* ------------------------------------------------------------------------
 * The file
 * --------------------------------------------------------------------- */

static int64_t be32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)(uint32_t)be32(p) << 32 | (uint32_t)be32(p + 4));
}

/* Parse a TZif file of n bytes into tz; NULL, or what is wrong with it. */
static const char *parse_tzif(hf_tz *tz, const unsigned char *b, size_t n)
{
    if (n < 44 || memcmp(b, "TZif", 4) != 0) return "not a TZif file";
    int v2 = b[4] >= '2';
    size_t cnt[6];
    const unsigned char *h = b;
    size_t tsize = 4;
    for (int pass = 0; pass < 1 + v2; pass++) {
        if ((size_t)(h - b) + 44 > n || memcmp(h, "TZif", 4) != 0) return "truncated";
        for (int i = 0; i < 6; i++) cnt[i] = (size_t)(uint32_t)be32(h + 20 + 4 * i);
        size_t isut = cnt[0], isstd = cnt[1], leapc = cnt[2], timec = cnt[3], typec = cnt[4],
               charc = cnt[5];
        size_t body = timec * tsize + timec + typec * 6 + charc + leapc * (tsize + 4) + isstd + isut;
        if (timec > 100000 || typec > 256 || charc > 65536 || leapc > 10000 || isut > 256 ||
            isstd > 256 || body > n - (size_t)(h - b) - 44) return "truncated";
        if (pass == 0 && v2) {                 /* skip the 32-bit part */
            h += 44 + body;
            tsize = 8;
            continue;
        }
        if (leapc) return "a zone with leap seconds (flow times are POSIX times)";
        if (typec == 0) return "no local time types";
        const unsigned char *times = h + 44, *idx = times + timec * tsize, *types = idx + timec;
        for (size_t i = 0; i < typec; i++) {
            int64_t o = be32(types + 6 * i);
            if (o < -25 * 3600 || o > 26 * 3600) return "an offset beyond 26 hours";
        }
        tz->off_before = be32(types) * MS_PER_S;
        for (size_t i = 0; i < timec; i++) {
            if (idx[i] >= typec) return "a transition to a type that does not exist";
            int64_t t = tsize == 8 ? be64(times + 8 * i) : be32(times + 4 * i);
            if (t < -(1LL << 40) || t > (1LL << 40)) continue;   /* far outside any flow */
            push(tz, t * MS_PER_S, be32(types + 6 * idx[i]) * MS_PER_S);
        }
        h += 44 + body;
    }
    if (v2) {                                  /* footer: "\n<rule>\n" */
        size_t at = (size_t)(h - b);
        if (at >= n || b[at] != '\n') return "no footer after the 64-bit data";
        const unsigned char *nl = memchr(b + at + 1, '\n', n - at - 1);
        if (!nl) return "unterminated footer";
        size_t len = (size_t)(nl - (b + at + 1));
        if (len > 0) {
            char rule_text[128];
            tz_rule r;
            if (len >= sizeof rule_text) return "footer too long";
            memcpy(rule_text, b + at + 1, len);
            rule_text[len] = '\0';
            if (parse_rule(rule_text, &r) < 0) return "a footer rule it cannot read";
            int64_t last = tz->n ? tz->at[tz->n - 1] : 0;
            int64_t y;
            unsigned m, d;
            hf_time_civil_from_days(last / MS_PER_DAY - (last < 0), &y, &m, &d);
            if (tz->n == 0) tz->off_before = r.std;
            expand_rule(tz, &r, y < 1970 ? 1970 : (int)y);
        }
    }
    return NULL;
}

/* Is name a zone name we may turn into a path (no "..", no leading '/')? */
static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '/' || name[0] == '.') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+' || c == '.')) return 0;
        if (c == '.' && i + 1 < n && name[i + 1] == '.') return 0;
        if (c == '/' && i + 1 < n && name[i + 1] == '.') return 0;
    }
    return 1;
}

hf_tz *hf_tz_load(const char *name, char *err, size_t errlen)
{
    unsigned char *b = NULL;
    hf_tz *tz = NULL;
    FILE *f = NULL;
    const char *why;
    char path[512];

    err[0] = '\0';
    if (!strcmp(name, "") || !strcmp(name, "UTC") || !strcmp(name, "Z") || !strcmp(name, "Etc/UTC"))
        return NULL;
    if (!valid_name(name)) {
        snprintf(err, errlen, "\"%s\" is not a time zone name such as \"Europe/Prague\" or \"UTC\"", name);
        return NULL;
    }
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (!(f = fopen(path, "rb"))) {
        snprintf(err, errlen, "time zone \"%s\": cannot open %s: %s%s", name, path, strerror(errno),
                 errno == ENOENT ? " (is the zone name right, and tzdata installed?)" : "");
        return NULL;
    }
    b = hf_malloc(TZ_MAX_FILE);
    size_t n = fread(b, 1, TZ_MAX_FILE, f);
    tz = hf_calloc(1, sizeof *tz);
    tz->name = hf_strdup(name);
    if ((why = parse_tzif(tz, b, n)) != NULL) goto fail;
    fclose(f);
    hf_free(b);
    return tz;
fail:
    snprintf(err, errlen, "time zone \"%s\": %s: %s", name, path, why);
    if (f) fclose(f);
    hf_free(b);
    hf_tz_free(tz);
    return NULL;
}
