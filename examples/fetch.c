/*
 * fetch.c - a concurrent fetcher, the "crawler" of every concurrency
 * tutorial: GETs each URL given, at most K at a time, one fiber per URL,
 * and prints each URL's status, size and time, then the total time.
 *
 *   examples/fetch [--fibers K] [--workers N] [--timeout MS] [--quiet] URL... | -
 *
 * URLs are http://HOST[:PORT][/PATH] (plain HTTP only; "-" reads them from
 * standard input, one a line); HOST is a name, an IPv4 literal or a
 * bracketed IPv6 literal. Each fetcher resolves its host with getaddrinfo()
 * through weft_offload(): getaddrinfo blocks its thread (files, DNS), so it
 * runs on a helper thread of weft's pool while the fiber parks, and the
 * workers go on fetching. The bound is a
 * weft_sem with K units (default 16): the main fiber takes a unit before it
 * spawns each fetcher, and the fetcher gives it back as it ends, so at most
 * K fetchers live at once (Go's `sem <- token; go fetch(); <-sem`). Each
 * fetch opens a connection, sends "GET PATH HTTP/1.1" with
 * "Connection: close", and reads the response: the status line, the
 * headers, and the body by Content-Length, by chunks, or to end of file;
 * --timeout bounds each fetch (default 10000 ms) through the _until forms.
 * Lines print in the order the URLs were given. The exit status is 0 if
 * every fetch got a 2xx status, 1 if any did not, 2 for bad arguments.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#define MS ((int64_t)1000000)

struct url {
    char *text;       /* as given */
    char host[256];   /* for the Host header, port included if given */
    char name[256];   /* for getaddrinfo: host without port or brackets */
    char port[8];     /* decimal */
    const char *path; /* into text, or "/" */
};

struct result {
    int status;     /* HTTP status, 0 if the fetch failed */
    int err;        /* a negative errno code; -EPROTO: a bad response */
    int gai;        /* getaddrinfo's error, if that is what failed (err = -EHOSTUNREACH) */
    long long size; /* body bytes */
    int64_t ns;     /* lookup to last byte */
};

static struct url *urls;
static struct result *results;
static long nurls;
static int nfibers = 16;
static int64_t timeout_ns = 10000 * MS;
static weft_sem slots;      /* K units: a fetcher holds one while it lives */
static weft_waitgroup done; /* fetchers not yet ended */

/* A buffered reader over a socket, bounded by one deadline. */
struct reader {
    int fd;
    int64_t deadline;
    size_t off, len; /* unread bytes are buf[off, len) */
    char buf[8192];
};

/* Reads more into r->buf, moving what is unread to the front first: the
 * count read (0 at end of file) or weft's error. */
static ssize_t rd_more(struct reader *r)
{
    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    if (r->len == sizeof r->buf)
        return -EPROTO; /* a line longer than the buffer */
    ssize_t n = weft_read_until(r->fd, r->buf + r->len, sizeof r->buf - r->len, r->deadline);
    if (n > 0)
        r->len += (size_t)n;
    return n;
}

/* The next line, without its CRLF, NUL-terminated in place: 0, -EPROTO if
 * the connection ended first or the line is too long, or weft's error. */
static int rd_line(struct reader *r, char **line)
{
    for (;;) {
        char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);
        if (nl) {
            *line = r->buf + r->off;
            r->off = (size_t)(nl - r->buf) + 1;
            if (nl > *line && nl[-1] == '\r')
                nl--;
            *nl = '\0';
            return 0;
        }
        ssize_t n = rd_more(r);
        if (n <= 0)
            return n == 0 ? -EPROTO : (int)n;
    }
}

/* Skips @n bytes: 0, -EPROTO if the connection ends first, or weft's error. */
static int rd_skip(struct reader *r, long long n)
{
    while (n > 0) {
        if (r->off == r->len) {
            r->off = r->len = 0;
            ssize_t got = rd_more(r);
            if (got <= 0)
                return got == 0 ? -EPROTO : (int)got;
        }
        size_t take = r->len - r->off < (unsigned long long)n ? r->len - r->off : (size_t)n;
        r->off += take;
        n -= (long long)take;
    }
    return 0;
}

/* Skips to end of file, adding what it skipped to *@size. */
static int rd_skip_all(struct reader *r, long long *size)
{
    for (;;) {
        *size += (long long)(r->len - r->off);
        r->off = r->len = 0;
        ssize_t got = rd_more(r);
        if (got <= 0)
            return (int)got;
    }
}

/* Parses a decimal (@base 10) or hex (16) count, then blanks; a chunk size
 * (hex) may carry extensions after ';', which are ignored. No strtoll: its
 * errno, read in a fiber after a switch, could be another thread's. */
static bool parse_count(const char *s, int base, long long *out)
{
    long long v = 0;
    const char *d = s;
    for (;; d++) {
        int digit = *d >= '0' && *d <= '9'                 ? *d - '0'
                    : base == 16 && *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
                    : base == 16 && *d >= 'A' && *d <= 'F' ? *d - 'A' + 10
                                                           : -1;
        if (digit < 0)
            break;
        if (v >= (1LL << 50))
            return false; /* more than a fetch will ever read */
        v = v * base + digit;
    }
    if (d == s)
        return false;
    while (*d == ' ' || *d == '\t')
        d++;
    if (*d && !(base == 16 && *d == ';'))
        return false;
    *out = v;
    return true;
}

/* A chunked body (RFC 9112 7.1): its size in *@size. */
static int read_chunked(struct reader *r, long long *size)
{
    char *line;
    int err;
    for (;;) {
        long long n;
        if ((err = rd_line(r, &line)) != 0)
            return err;
        if (!parse_count(line, 16, &n))
            return -EPROTO;
        if (n == 0)
            break;
        if ((err = rd_skip(r, n)) != 0 || (err = rd_line(r, &line)) != 0)
            return err;
        if (*line)
            return -EPROTO; /* the CRLF after the data */
        *size += n;
    }
    do { /* trailer fields, up to the blank line */
        if ((err = rd_line(r, &line)) != 0)
            return err;
    } while (*line);
    return 0;
}

/* The response to one GET on @r: status, headers, body. */
static int read_response(struct reader *r, struct result *res)
{
    char *line;
    int err = rd_line(r, &line);
    if (err)
        return err;
    /* HTTP/1.x SSS reason */
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[9] < '1' || line[9] > '5' ||
        line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line[12] != ' ' && line[12] != '\0'))
        return -EPROTO;
    int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    long long length = -1;
    bool chunked = false;
    for (;;) {
        if ((err = rd_line(r, &line)) != 0)
            return err;
        if (!*line)
            break;
        char *colon = strchr(line, ':');
        if (!colon)
            return -EPROTO;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Length") == 0 && !parse_count(v, 10, &length))
            return -EPROTO;
        if (strcasecmp(line, "Transfer-Encoding") == 0)
            chunked = strcasestr(v, "chunked") != NULL;
    }
    res->status = status;
    if (status / 100 == 1 || status == 204 || status == 304)
        return status / 100 == 1 ? -EPROTO : 0; /* no body; 1xx: not asked for */
    if (chunked)
        return read_chunked(r, &res->size);
    if (length >= 0) {
        res->size = length;
        return rd_skip(r, length);
    }
    return rd_skip_all(r, &res->size); /* the body ends with the connection */
}

/* A getaddrinfo() call, run by weft_offload() on a pool thread. */
struct lookup {
    const struct url *u;
    struct addrinfo *res;
    int gai;
};

static void *lookup(void *arg)
{
    struct lookup *l = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    l->gai = getaddrinfo(l->u->name, l->u->port, &hints, &l->res);
    return NULL;
}

/* Resolves @u's host and connects to the first address that answers: the
 * socket, or a negative errno code (-EHOSTUNREACH with res->gai set if the
 * name did not resolve). */
static int dial(const struct url *u, struct result *res, int64_t deadline)
{
    struct lookup l = {.u = u};
    int err = weft_offload_until(lookup, &l, NULL, deadline);
    if (err)
        return err;
    if (l.gai) {
        res->gai = l.gai;
        return -EHOSTUNREACH;
    }
    int fd = -ENOENT;
    for (struct addrinfo *ai = l.res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            fd = -errno; /* read at once, with no switch since socket() */
            continue;
        }
        err = weft_connect_until(fd, ai->ai_addr, ai->ai_addrlen, deadline);
        if (err == 0)
            break;
        weft_close(fd);
        fd = err;
        if (err == -ETIMEDOUT || err == -ECANCELED)
            break;
    }
    freeaddrinfo(l.res);
    return fd;
}

static int fetch_one(const struct url *u, struct result *res)
{
    struct reader r = {.deadline = weft_deadline_after(timeout_ns)};
    r.fd = dial(u, res, r.deadline);
    if (r.fd < 0)
        return r.fd;
    int one = 1, err = 0;
    setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[1024];
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: weft-fetch\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n",
                       u->path, u->host);
    if (len < 0 || (size_t)len >= sizeof req)
        err = -E2BIG;
    for (int off = 0; err == 0 && off < len;) {
        ssize_t w = weft_write_until(r.fd, req + off, (size_t)(len - off), r.deadline);
        if (w < 0)
            err = (int)w;
        else
            off += (int)w;
    }
    if (err == 0)
        err = read_response(&r, res);
    weft_close(r.fd);
    return err;
}

static void *fetcher(void *arg)
{
    long i = (long)(intptr_t)arg;
    struct result *res = &results[i];
    int64_t t0 = weft_now();
    res->err = fetch_one(&urls[i], res);
    if (res->err)
        res->status = 0;
    res->ns = weft_now() - t0;
    weft_sem_release(&slots);
    weft_waitgroup_done(&done);
    return NULL;
}

static void *crawl(void *arg)
{
    int64_t *elapsed = arg;
    int64_t t0 = weft_now();
    for (long i = 0; i < nurls; i++) {
        int err = weft_sem_acquire(&slots); /* a free slot: fewer than K running */
        if (err == 0) {
            err = weft_waitgroup_add(&done, 1);
            if (err == 0) {
                weft_fiber_attr attr = {.detached = true, .name = "fetcher"};
                err = weft_spawn(NULL, fetcher, (void *)(intptr_t)i, &attr);
                if (err)
                    weft_waitgroup_done(&done);
            }
            if (err)
                weft_sem_release(&slots); /* the fetcher that would have */
        }
        if (err)
            results[i].err = err;
    }
    weft_waitgroup_wait(&done);
    *elapsed = weft_now() - t0;
    return NULL;
}

/* Parses http://HOST[:PORT][/PATH] into @u; NULL, or why not. The host
 * is resolved later, by each fetch. */
static const char *parse_url(char *text, struct url *u)
{
    u->text = text;
    if (strncasecmp(text, "http://", 7) != 0)
        return "not an http:// URL (plain HTTP only)";
    char *host = text + 7;
    char *path = strchr(host, '/');
    size_t hlen = path ? (size_t)(path - host) : strlen(host);
    if (hlen == 0 || hlen >= sizeof u->host)
        return "no host, or a host too long";
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->path = path ? path : "/";
    strcpy(u->name, u->host);
    strcpy(u->port, "80");
    char *colon = strrchr(u->name, ':');
    char *bracket = strchr(u->name, ']');
    if (colon && (u->name[0] != '[' || (bracket && colon > bracket))) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || end == colon + 1 || port < 1 || port > 65535)
            return "bad port";
        snprintf(u->port, sizeof u->port, "%ld", port);
        *colon = '\0';
    }
    size_t nlen = strlen(u->name);
    if (u->name[0] == '[') {
        if (nlen < 3 || u->name[nlen - 1] != ']')
            return "bad [IPv6] literal";
        memmove(u->name, u->name + 1, nlen - 2);
        u->name[nlen - 2] = '\0';
    }
    return u->name[0] ? NULL : "no host";
}

/* Adds @text (kept) to the URL list; false, having said why, if it is bad. */
static bool add_url(char *text)
{
    static long cap;
    if (nurls == cap) {
        cap = cap ? 2 * cap : 64;
        struct url *grown = realloc(urls, (size_t)cap * sizeof *urls);
        if (!grown) {
            perror("fetch");
            exit(1);
        }
        urls = grown;
    }
    const char *why = parse_url(text, &urls[nurls]);
    if (why) {
        fprintf(stderr, "fetch: %s: %s\n", text, why);
        return false;
    }
    nurls++;
    return true;
}

/* Reads URLs from standard input, one a line; blank lines are skipped. */
static bool read_urls(FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = true;
    while ((n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n > 0) {
            char *copy = strdup(line);
            if (!copy) {
                perror("fetch");
                exit(1);
            }
            ok &= add_url(copy);
        }
    }
    free(line);
    return ok;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: fetch [--fibers K] [--workers N] [--timeout MS] [--quiet] URL... | -\n");
    return 2;
}

int main(int argc, char **argv)
{
    weft_config cfg = {0};
    bool quiet = false, ok = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;
        if ((!strcmp(a, "--fibers") || !strcmp(a, "--workers") || !strcmp(a, "--timeout")) &&
            i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1)
                return usage();
            if (!strcmp(a, "--fibers") && v <= 100000)
                nfibers = (int)v;
            else if (!strcmp(a, "--workers") && v <= WEFT_WORKERS_MAX)
                cfg.workers = (int)v;
            else if (!strcmp(a, "--timeout") && v <= 86400000)
                timeout_ns = v * MS;
            else
                return usage();
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
        } else if (!strcmp(a, "-")) {
            ok &= read_urls(stdin);
        } else if (a[0] != '-') {
            ok &= add_url(argv[i]);
        } else {
            return usage();
        }
    }
    if (!ok)
        return 2;
    if (nurls == 0)
        return usage();
    results = calloc((size_t)nurls, sizeof *results);
    if (!results || weft_sem_init(&slots, nfibers) != 0) {
        perror("fetch");
        return 1;
    }
    int64_t elapsed = 0;
    int err = weft_main(&cfg, crawl, &elapsed, NULL);
    if (err) {
        fprintf(stderr, "fetch: %s\n", weft_strerror(err));
        return 1;
    }
    long good = 0, other = 0, failed = 0;
    for (long i = 0; i < nurls; i++) {
        const struct result *res = &results[i];
        if (res->err) {
            failed++;
            if (!quiet)
                printf("ERR %-28s %8.2f ms  %s\n",
                       res->gai              ? gai_strerror(res->gai)
                       : res->err == -EPROTO ? "bad response"
                                             : strerror(-res->err),
                       (double)res->ns / 1e6, urls[i].text);
            continue;
        }
        if (res->status / 100 == 2)
            good++;
        else
            other++;
        if (!quiet)
            printf("%d %10lld bytes %8.2f ms  %s\n", res->status, res->size, (double)res->ns / 1e6,
                   urls[i].text);
    }
    printf("fetched %ld URLs with at most %d fibers in %.1f ms (%.0f/s): %ld 2xx, %ld other "
           "status, %ld failed\n",
           nurls, nfibers, (double)elapsed / 1e6,
           (double)nurls * 1e9 / (double)(elapsed ? elapsed : 1), good, other, failed);
    return good == nurls ? 0 : 1;
}
