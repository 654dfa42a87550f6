/* out_http_config.c -- the HTTP view's settings: one declaration per key
 * (name, type, default, one line of doc, flag, range), and the reading of
 * them with the listening address, checked before anything starts.
 *
 * The view is off unless asked for: `--http ADDR` (http.listen), `-o
 * http:ADDR`, or "http:ADDR" in outputs.  It listens on 127.0.0.1 unless told
 * otherwise, and anywhere else only with an access token: whoever reaches
 * the port reads which hosts talk how much. */
#include "io/out_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define MiB (1024.0 * 1024.0)
#define DEFAULT_LISTEN "127.0.0.1:8080"

const hf_conf_key hf_out_http_keys[] = {
    {.name = "#http", .type = HF_CONF_HEADING,
     .doc = "The HTTP view (--http ADDR:PORT or -o http:ADDR:PORT; off unless asked for):"},
    {.name = "http.listen", .type = HF_CONF_STRING, .flag = "--http", .arg = "ADDR:PORT",
     .doc = "serve the view on ADDR:PORT (as -o http:ADDR:PORT does; port 0: any free port, "
            "logged); -o http: alone listens here, else on " DEFAULT_LISTEN},
    {.name = "http.token", .type = HF_CONF_STRING,
     .doc = "access token the API asks for (Authorization: Bearer TOKEN); needed off loopback"},
    {.name = "http.web", .type = HF_CONF_PATH, .deflt = "contrib/web",
     .doc = "directory of the page's files (read at start)"},
    {.name = "http.threads", .type = HF_CONF_INT, .deflt = "2",
     .doc = "threads answering requests", .min = 1, .max = 64},
    {.name = "http.max_clients", .type = HF_CONF_INT, .deflt = "1024",
     .doc = "connections at once; more are refused until one closes", .min = 1, .max = 65536},
    {.name = "http.history", .type = HF_CONF_INT, .deflt = "360",
     .doc = "windows kept per host and granularity (360: 1 h of 10 s, 30 h of 5 min)",
     .min = 2, .max = 100000},
    {.name = "http.max_hosts", .type = HF_CONF_INT, .deflt = "1000000",
     .doc = "hosts the view holds; records of more are counted, not kept", .min = 1, .max = 1e9},
    {.name = "http.memory", .type = HF_CONF_SIZE, .deflt = "1GiB",
     .doc = "memory for the hosts' history; past it rings stop growing (counted)",
     .min = MiB, .max = 1e15},
    {.name = "http.queue", .type = HF_CONF_SIZE, .deflt = "64MiB",
     .doc = "records waiting for the view; past it they skip the view (counted), never wait",
     .min = 65536, .max = 1e12},
    {.name = "http.max_alerts", .type = HF_CONF_INT, .deflt = "1000",
     .doc = "alerts the view holds (the oldest go first)", .min = 1, .max = 1000000},
    {.name = "http.alert_hold", .type = HF_CONF_DURATION, .deflt = "10m",
     .doc = "an alert stays open this long (event time) after its window", .min = 0,
     .max = 86400000.0 * 30},
    {.name = NULL},
};

void hf_http_view_limits(const hf_config *cfg, hf_view_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->history = (int)hf_conf_int(cfg, "http.history");
    lim->max_hosts = (size_t)hf_conf_int(cfg, "http.max_hosts");
    lim->memory = hf_conf_size(cfg, "http.memory");
    lim->max_alerts = (int)hf_conf_int(cfg, "http.max_alerts");
    lim->alert_hold_ms = hf_conf_ms(cfg, "http.alert_hold");
    lim->ngrans = cfg->nwindows < HF_VIEW_MAX_GRANS ? cfg->nwindows : HF_VIEW_MAX_GRANS;
    memcpy(lim->gran_ms, cfg->windows_ms, (size_t)lim->ngrans * sizeof(int64_t));
}

/* "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" into s->addr. */
static int parse_listen(const char *text, hf_http_settings *s, char *err, size_t errlen)
{
    char host[64] = "127.0.0.1";
    const char *port = NULL;
    snprintf(s->listen, sizeof s->listen, "%s", text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host) goto bad;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
    } else if (strchr(text, ':')) {
        const char *colon = strrchr(text, ':');
        if ((size_t)(colon - text) >= sizeof host) goto bad;
        if (colon > text) {
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = '\0';
        }
        port = colon + 1;
    } else {
        port = text;
    }
    size_t np = strlen(port);
    if (np == 0 || np > 5 || strspn(port, "0123456789") != np || atoi(port) > 65535) goto bad;
    memset(&s->addr, 0, sizeof s->addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&s->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&s->addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)atoi(port));
        s->addrlen = sizeof *a4;
        s->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)atoi(port));
        s->addrlen = sizeof *a6;
        s->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "http: bad listening address \"%s\": expected ADDRESS:PORT such as "
             "127.0.0.1:8080 or [::1]:8080", text);
    return -1;
}

int hf_http_settings_get(const hf_config *cfg, const char *target, hf_http_settings *s,
                         char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *listen = target && *target ? target : hf_conf_str(cfg, "http.listen");
    if (!listen) listen = DEFAULT_LISTEN;
    if (parse_listen(listen, s, err, errlen) < 0) goto fail;
    const char *token = hf_conf_str(cfg, "http.token");
    s->token = hf_strdup(token ? token : "");
    if (!s->loopback && !*s->token) {
        snprintf(err, errlen, "http: listening on %s, off loopback, needs an access token: "
                 "set http.token (clients send Authorization: Bearer TOKEN)", s->listen);
        goto fail;
    }
    s->web_dir = hf_strdup(hf_conf_str(cfg, "http.web"));
    s->threads = (int)hf_conf_int(cfg, "http.threads");
    s->max_clients = (int)hf_conf_int(cfg, "http.max_clients");
    s->queue = hf_conf_size(cfg, "http.queue");
    hf_http_view_limits(cfg, &s->lim);
    return 0;
fail:
    hf_http_settings_release(s);
    return -1;
}

int hf_http_wanted(const hf_config *cfg, char *target, size_t n)
{
    const char *listen = hf_conf_str(cfg, "http.listen");
    if (!listen) return 0;
    snprintf(target, n, "%s", listen);
    return 1;
}

void hf_http_settings_release(hf_http_settings *s)
{
    hf_free(s->token);
    hf_free(s->web_dir);
    s->token = s->web_dir = NULL;
}
