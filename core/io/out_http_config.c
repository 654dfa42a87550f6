/* out_http_config.c -- the HTTP view's settings: one declaration per key
 * (name, type, default, one line of doc, flag, range), and the reading of
 * them with the listening address, checked before anything starts.
 *
 * The view is off unless an output asks for it (`-o http:ADDR`, `--http
 * ADDR`, or "http:ADDR" in outputs).  It listens on 127.0.0.1 unless told
 * otherwise, and anywhere else only with an access token: whoever reaches
 * the port reads which hosts talk how much. */
#include "io/out_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/luastate.h"

const hf_conf_key hf_out_http_keys[] = {
    {"http.listen", HF_CONF_STRING, "127.0.0.1:8080",
     "address and port of the HTTP view (port 0: any free port, logged)", "--http", 0, 0},
    {"http.token", HF_CONF_STRING, "",
     "access token for the API (Authorization: Bearer TOKEN); needed off loopback", NULL, 0, 0},
    {"http.web", HF_CONF_STRING, "contrib/web",
     "directory of the page's files (relative: from hostflow's home)", NULL, 0, 0},
    {"http.threads", HF_CONF_INT, "2", "threads answering requests", NULL, 1, 64},
    {"http.max_clients", HF_CONF_INT, "1024", "connections at once; more wait", NULL, 1, 65536},
    {"http.history", HF_CONF_INT, "360",
     "windows kept per host and granularity (360: 1 h of 10 s, 30 h of 5 min)", NULL, 2, 100000},
    {"http.max_hosts", HF_CONF_INT, "1000000", "hosts the view holds; more are counted",
     NULL, 1, 1e9},
    {"http.memory", HF_CONF_SIZE, "1GiB",
     "memory for the history; past it rings stop growing (counted)", NULL, 1048576, 1e15},
    {"http.queue", HF_CONF_SIZE, "64MiB",
     "records waiting for the view; past it they skip the view (counted), never wait",
     NULL, 65536, 1e12},
    {"http.max_alerts", HF_CONF_INT, "1000", "alerts the view holds", NULL, 1, 1000000},
    {"http.alert_hold", HF_CONF_DURATION, "10m",
     "an alert is open this long (event time) after its window", NULL, 0, 0},
    {NULL, 0, NULL, NULL, NULL, 0, 0},
};

void hf_http_view_limits(const hf_config *cfg, hf_view_limits *lim)
{
    hf_conf_shim_register(hf_out_http_keys);
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
    hf_conf_shim_register(hf_out_http_keys);
    memset(s, 0, sizeof *s);
    const char *listen = target && *target ? target : hf_conf_str(cfg, "http.listen");
    if (parse_listen(listen, s, err, errlen) < 0) goto fail;
    s->token = hf_strdup(hf_conf_str(cfg, "http.token"));
    if (!s->loopback && !*s->token) {
        snprintf(err, errlen, "http: listening on %s, off loopback, needs an access token: "
                 "set http.token (clients send Authorization: Bearer TOKEN)", s->listen);
        goto fail;
    }
    const char *web = hf_conf_str(cfg, "http.web");
    if (web[0] == '/') {
        s->web_dir = hf_strdup(web);
    } else {
        char *home = hf_home_dir();
        s->web_dir = hf_home_path(home, web);
        hf_free(home);
    }
    s->threads = (int)hf_conf_int(cfg, "http.threads");
    s->max_clients = (int)hf_conf_int(cfg, "http.max_clients");
    s->queue = hf_conf_size(cfg, "http.queue");
    hf_http_view_limits(cfg, &s->lim);
    return 0;
fail:
    hf_http_settings_release(s);
    return -1;
}

void hf_http_settings_release(hf_http_settings *s)
{
    hf_free(s->token);
    hf_free(s->web_dir);
    s->token = s->web_dir = NULL;
}
