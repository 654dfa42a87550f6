/* out_http.h -- the HTTP view as an output (out_http.c) and its settings
 * (out_http_config.c, the http.* keys). */
#ifndef HF_OUT_HTTP_H
#define HF_OUT_HTTP_H

#include <sys/socket.h>

#include "conf/config.h"
#include "io/io.h"
#include "io/view.h"

extern const hf_output_ops hf_out_http;
extern const hf_conf_key hf_out_http_keys[];

typedef struct hf_http_settings {
    struct sockaddr_storage addr;  /* where to listen */
    socklen_t addrlen;
    char      listen[80];          /* as given, for messages */
    int       loopback;            /* 127.0.0.0/8 or ::1 */
    char     *token;               /* "" when none */
    char     *web_dir;             /* the page's files */
    int       threads;
    int       max_clients;
    size_t    queue;               /* bytes of records waiting for the view */
    hf_view_limits lim;
} hf_http_settings;

/* The settings for `-o http:TARGET` (TARGET "ADDR:PORT", "[V6]:PORT",
 * ":PORT" or "" for http.listen).  0, or -1 with a message naming the key
 * or the target and what was expected. */
int hf_http_settings_get(const hf_config *cfg, const char *target, hf_http_settings *s,
                         char *err, size_t errlen);
void hf_http_settings_release(hf_http_settings *s);
/* The output's wanted op (io.h): when http.listen is set (--http ADDR). */
int hf_http_wanted(const hf_config *cfg, char *target, size_t n);
/* The view's limits from the http.* keys (shared with --top). */
void hf_http_view_limits(const hf_config *cfg, hf_view_limits *lim);

#endif
