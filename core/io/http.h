/* http.h -- a small HTTP client for one output thread, over libcurl: a list
 * of nodes (base URLs) with failover, one reused connection (HTTP/1.1
 * keep-alive), basic auth or an API key, TLS with a CA file, and request
 * bodies optionally gzipped.
 *
 * One hf_http belongs to one thread at a time (libcurl's easy handles are not
 * shared).  A request goes to the current node; the caller decides what an
 * answer means and when to move on (hf_http_failover), since only it knows
 * whether a 401 or an HTML page is the node's fault or the request's. */
#ifndef HF_HTTP_H
#define HF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct hf_http_opts {
    const char *const *urls;  /* base URLs ("http://h:9200", "https://h/prefix"), >= 1 */
    int         nurls;
    const char *user;         /* basic auth, or NULL */
    const char *password;
    const char *api_key;      /* "Authorization: ApiKey <api_key>", or NULL */
    const char *ca_file;      /* PEM bundle of the CAs to trust, or NULL (the system's) */
    int         tls_verify;   /* 0: accept any certificate and name (for tests only) */
    int         gzip;         /* compress request bodies (Content-Encoding: gzip) */
    int64_t     connect_timeout_ms;
    int64_t     timeout_ms;   /* a whole request */
} hf_http_opts;

/* What came back: an HTTP answer (status > 0, body), or no answer (status 0
 * and error says why: curl's own words, with the node). */
typedef struct hf_http_reply {
    long    status;
    hf_buf  body;             /* the answer, NUL-terminated */
    int     transport;        /* no answer: a curl error code (CURLE_*) */
    int     tls;              /* no answer because of TLS (certificate, name, handshake) */
    char    error[512];
    int64_t ms;               /* time from sending to the whole answer */
    size_t  sent;             /* bytes of the body as sent (after gzip) */
} hf_http_reply;

typedef struct hf_http hf_http;

/* A client for the nodes of o (copied).  NULL with a message in err when a
 * URL is not http(s)://... or libcurl cannot be set up. */
hf_http *hf_http_new(const hf_http_opts *o, char *err, size_t errlen);
void hf_http_free(hf_http *h);

/* Send one request to the current node: method "GET", "PUT", "POST" or
 * "HEAD", path from the root ("/_bulk?x=y", joined to the node's base URL),
 * body of len bytes (NULL for none) of content type ctype.  Fills r (its
 * body is reset first).  Returns 0 when an answer came, whatever its status;
 * -1 when none did (r->error). */
int hf_http_request(hf_http *h, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, hf_http_reply *r);

/* Move to the next node (round robin).  Returns the new node's index. */
int hf_http_failover(hf_http *h);
int hf_http_nodes(const hf_http *h);
/* The current node's URL as it may be logged (no user:password@). */
const char *hf_http_node(const hf_http *h);

void hf_http_reply_init(hf_http_reply *r);
void hf_http_reply_release(hf_http_reply *r);

/* The URL without credentials, for logs: "http://user:pw@h:9200/x" gives
 * "http://h:9200/x".  Written into out (n bytes). */
void hf_http_redact(const char *url, char *out, size_t n);

#endif
