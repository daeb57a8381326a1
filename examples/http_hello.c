/*
 * http_hello.c - a minimal HTTP/1.1 server that answers "hello" to every
 * request: one fiber per connection, written as blocking code with
 * weft_read and weft_write, parking on the netpoller, never its worker.
 *
 *   examples/http_hello [--listen HOST:PORT] [--workers N]
 *
 * Defaults: 127.0.0.1:8080, one worker per core; port 0 picks a free port,
 * and the "listening on" line says which. It parses just enough HTTP/1.x:
 * the request line and the headers up to the blank line; a body announced
 * by Content-Length is read and dropped (0 is the usual); Transfer-Encoding
 * is refused (501). Connections are kept alive by default in HTTP/1.1 and
 * closed by default in HTTP/1.0; "Connection: close" or "keep-alive"
 * overrides that. Pipelined requests are answered in order. SIGINT or
 * SIGTERM stops it cleanly: a fiber waits for them with weft_signal_wait,
 * closes the listener (the accept loop returns -EBADF) and shuts every
 * connection down (their fibers see end of file and leave); the accept
 * loop then waits for the last of them on a weft_waitgroup, so weft_main
 * returns with no fiber left. All but the request parsing and the reply is
 * in server.h, shared with echo.c. Try it with `curl -v http://127.0.0.1:8080/`.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"

enum {
    REQ_MAX = 8192, /* request line and headers; larger is 431 */
};

static _Atomic long requests; /* requests answered, added as each connection ends */

/* What the server needs to know of one request. */
struct request {
    bool head;          /* HEAD: the same headers, no body */
    bool http10;        /* HTTP/1.0: keep-alive must be said in the response */
    bool keep_alive;    /* after the response */
    long long body_len; /* Content-Length, 0 if absent */
    int status;         /* 0, or the error to answer with (then close) */
    size_t header_len;  /* bytes up to and including the blank line */
    char date[40];      /* "Date: ..." value, the connection's cached copy */
    time_t date_sec;    /* second date[] was formatted for */
};

/* Writes all @len bytes of @buf; 0, or weft's error. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = weft_write(fd, buf, len);
        if (w < 0)
            return (int)w;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* RFC 9110's IMF-fixdate for the current second, refreshed at most once a
 * second per connection (gmtime_r and no locale: strftime's names follow
 * LC_TIME). */
static const char *http_date(struct request *rq)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    if (now != rq->date_sec && gmtime_r(&now, &tm)) {
        snprintf(rq->date, sizeof rq->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        rq->date_sec = now;
    }
    return rq->date;
}

/* Does the comma-separated header value [@v, @end) hold @token? */
static bool has_token(const char *v, const char *end, const char *token)
{
    size_t tlen = strlen(token);
    while (v < end) {
        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        const char *t = v;
        while (v < end && *v != ',' && *v != ' ' && *v != '\t')
            v++;
        if ((size_t)(v - t) == tlen && strncasecmp(t, token, tlen) == 0)
            return true;
    }
    return false;
}

/* Parses the request line and headers in @buf[0, @rq->header_len) into
 * @rq; sets @rq->status to the error to answer with if they are bad. */
static void parse_request(const char *buf, struct request *rq)
{
    const char *end = buf + rq->header_len - 2; /* the blank line's CRLF stays out */
    const char *eol = memchr(buf, '\r', (size_t)(end - buf));
    rq->head = false;
    rq->keep_alive = false;
    rq->body_len = 0;
    rq->status = 0;
    /* METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || sp1 == buf || !sp2 || sp2 == sp1 + 1 || eol - sp2 - 1 != 8 ||
        strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        rq->status = 400;
        return;
    }
    rq->http10 = sp2[8] == '0';
    if (sp2[8] == '1')
        rq->keep_alive = true; /* HTTP/1.1: keep-alive unless told otherwise */
    else if (sp2[8] != '0') {
        rq->status = 505;
        return;
    }
    rq->head = sp1 - buf == 4 && strncmp(buf, "HEAD", 4) == 0;
    for (const char *line = eol + 2; line < end;) {
        eol = memchr(line, '\r', (size_t)(end - line));
        if (!eol || eol[1] != '\n') {
            rq->status = 400;
            return;
        }
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) {
            rq->status = 400;
            return;
        }
        size_t nlen = (size_t)(colon - line);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
            if (has_token(v, eol, "close"))
                rq->keep_alive = false;
            else if (has_token(v, eol, "keep-alive"))
                rq->keep_alive = true;
        } else if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            long long n = 0;
            const char *d = v;
            for (; d < eol && *d >= '0' && *d <= '9' && n < (1LL << 50); d++)
                n = n * 10 + (*d - '0');
            while (d < eol && (*d == ' ' || *d == '\t'))
                d++;
            if (d == v || d != eol || n >= (1LL << 50)) {
                rq->status = 400;
                return;
            }
            rq->body_len = n;
        } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            rq->status = 501; /* chunked bodies: not in a hello server */
            return;
        }
        line = eol + 2;
    }
}

/* Answers @rq (hello, or its error); 0, or weft's error. */
static int respond(int fd, struct request *rq)
{
    char out[256];
    int len;
    if (rq->status) {
        const char *reason = rq->status == 400   ? "Bad Request"
                             : rq->status == 431 ? "Request Header Fields Too Large"
                             : rq->status == 501 ? "Not Implemented"
                                                 : "HTTP Version Not Supported";
        len = snprintf(out, sizeof out,
                       "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n",
                       rq->status, reason, http_date(rq));
    } else {
        len = snprintf(out, sizeof out,
                       "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 5\r\n%s\r\n%s",
                       http_date(rq),
                       !rq->keep_alive ? "Connection: close\r\n"
                       : rq->http10    ? "Connection: keep-alive\r\n"
                                       : "",
                       rq->head ? "" : "hello");
    }
    return write_all(fd, out, (size_t)len);
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    server_conn_begin(fd);
    char buf[REQ_MAX];
    size_t len = 0;                       /* bytes in buf */
    struct request rq = {.date_sec = -1}; /* the date cache lives across requests */
    long answered = 0;
    while (!server_stopping()) {
        /* Read until the blank line that ends the headers. */
        char *blank;
        size_t scanned = 0;
        while (!(blank = memmem(buf + scanned, len - scanned, "\r\n\r\n", 4))) {
            scanned = len > 3 ? len - 3 : 0;
            if (len == sizeof buf) {
                rq.status = 431;
                respond(fd, &rq);
                goto out;
            }
            ssize_t n = weft_read(fd, buf + len, sizeof buf - len);
            if (n <= 0) /* 0: the peer (or the stopper's shutdown) ended it */
                goto out;
            len += (size_t)n;
        }
        rq.header_len = (size_t)(blank - buf) + 4;
        parse_request(buf, &rq);
        /* Drop the body: what is in buf, then the rest from the socket. */
        long long body = rq.status ? 0 : rq.body_len;
        size_t used = rq.header_len;
        size_t here = len - used < (unsigned long long)body ? len - used : (size_t)body;
        used += here;
        body -= (long long)here;
        while (body > 0) {
            char sink[4096];
            ssize_t n =
                weft_read(fd, sink, body < (long long)sizeof sink ? (size_t)body : sizeof sink);
            if (n <= 0)
                goto out;
            body -= n;
        }
        if (respond(fd, &rq) != 0 || rq.status)
            goto out;
        answered++;
        if (!rq.keep_alive)
            goto out;
        /* Keep what follows (a pipelined request) for the next round. */
        memmove(buf, buf + used, len - used);
        len -= used;
    }
out:
    /* Relaxed: the waitgroup's done and wait order it before main's read. */
    atomic_fetch_add_explicit(&requests, answered, memory_order_relaxed);
    server_conn_end(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int rc = server_main(argc, argv, "http_hello", "127.0.0.1:8080", connection);
    if (rc == 0)
        fprintf(stderr, "http_hello: stopped after %ld connections, %ld requests\n", srv.served,
                atomic_load(&requests));
    return rc;
}
