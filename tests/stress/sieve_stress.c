/*
 * sieve_stress.c - Go's concurrent prime sieve: a generator fiber feeds
 * 2, 3, 4, ... into a chain of filter fibers, one per prime found, each
 * linked to the next by its own channel; the primes that come out of the
 * chain must be exactly those of a sequential sieve of Eratosthenes.
 * Closing propagates down the chain and every channel is freed on the way,
 * so a lost element, a duplicate, a reordering or a lost wake-up shows.
 * WEFT_WORKERS=4 on 2 cores; WEFT_STRESS_SCALE scales the limit.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long failures;

struct gen {
    weft_chan out;
    long limit;
};

static void *generate(void *arg)
{
    struct gen *g = arg;
    for (long i = 2; i <= g->limit; i++)
        if (weft_chan_send(g->out, &i) != 0)
            atomic_fetch_add(&failures, 1);
    if (weft_chan_close(g->out) != 0)
        atomic_fetch_add(&failures, 1);
    return NULL;
}

struct filter {
    weft_chan in, out;
    long prime;
};

/* Pass on what @prime does not divide; when the input closes, close the
 * output and free the (drained, now idle) input. */
static void *filter(void *arg)
{
    struct filter *f = arg;
    long v;
    int r;
    while ((r = weft_chan_recv(f->in, &v)) == 0)
        if (v % f->prime != 0 && weft_chan_send(f->out, &v) != 0)
            atomic_fetch_add(&failures, 1);
    if (r != -EPIPE || weft_chan_close(f->out) != 0 || weft_chan_free(f->in) != 0)
        atomic_fetch_add(&failures, 1);
    return NULL;
}

/* The primes up to @limit, sequentially; returns how many. */
static long eratosthenes(long limit, long *primes)
{
    char *composite = calloc((size_t)limit + 1, 1);
    long n = 0;
    if (!composite)
        return -1;
    for (long i = 2; i <= limit; i++) {
        if (composite[i])
            continue;
        primes[n++] = i;
        for (long j = i * i; j <= limit; j += i)
            composite[j] = 1;
    }
    free(composite);
    return n;
}

/* Run the sieve up to @limit with channels of capacity @cap; the primes
 * go to @out; returns how many, or -1. Runs in a fiber. */
static long sieve(long limit, size_t cap, long *out, long max)
{
    static struct gen g;
    struct filter *fs = calloc((size_t)max, sizeof *fs);
    weft_fiber *ff = calloc((size_t)max, sizeof *ff);
    weft_fiber gf;
    long n = -1;
    if (!fs || !ff)
        goto out;
    g = (struct gen){.limit = limit};
    if (weft_chan_make(&g.out, sizeof(long), cap) || weft_spawn(&gf, generate, &g, NULL))
        goto out;
    weft_chan in = g.out;
    long p;
    for (n = 0; weft_chan_recv(in, &p) == 0; n++) {
        if (n == max) { /* more primes than there are: stop feeding */
            n = -1;
            break;
        }
        out[n] = p;
        fs[n] = (struct filter){.in = in, .prime = p};
        if (weft_chan_make(&fs[n].out, sizeof(long), cap) ||
            weft_spawn(&ff[n], filter, &fs[n], NULL)) {
            n = -1;
            break;
        }
        in = fs[n].out;
    }
    if (n < 0)
        goto out; /* the fibers are leaked on purpose: weft_main reports it */
    if (weft_chan_free(in) != 0 || weft_join(gf, NULL) != 0)
        n = -1;
    for (long i = 0; i < n; i++)
        if (weft_join(ff[i], NULL) != 0)
            n = -1;
out:
    free(fs);
    free(ff);
    return n;
}

struct run {
    long limit;
    size_t cap;
    long got, want, mismatched;
};

static void *sieve_main(void *arg)
{
    struct run *r = arg;
    long *want = calloc((size_t)r->limit, sizeof *want);
    long *got = calloc((size_t)r->limit, sizeof *got);
    if (!want || !got) {
        r->got = -1;
        goto out;
    }
    r->want = eratosthenes(r->limit, want);
    r->got = sieve(r->limit, r->cap, got, r->want + 1);
    for (long i = 0; i < r->want && i < r->got; i++)
        r->mismatched += got[i] != want[i];
out:
    free(want);
    free(got);
    return NULL;
}

static void run_sieve(long limit, size_t cap)
{
    static struct run r;
    r = (struct run){.limit = limit, .cap = cap};
    atomic_store(&failures, 0);
    int64_t t0 = weft_now();
    settle();
    CHECK_OK(weft_main(NULL, sieve_main, &r, NULL));
    printf("# primes up to %ld, capacity %zu: %ld found, %ld expected, %.3f s\n", limit, cap, r.got,
           r.want, (double)(weft_now() - t0) / 1e9);
    EXPECT_EQ(r.got, r.want);
    EXPECT_EQ(r.mismatched, 0);
    EXPECT_EQ(atomic_load(&failures), 0);
}

/* Unbuffered channels: every hop is a rendezvous (a direct hand-off to a
 * parked receiver or from a parked sender). Primes up to 40000 (4203
 * filter fibers). */
TEST(unbuffered_sieve_matches_eratosthenes)
{
    run_sieve(stress_scaled(40000), 0);
}

/* Buffered channels (capacity 16): hops go through the ring, and senders
 * park on full rings. */
TEST(buffered_sieve_matches_eratosthenes)
{
    run_sieve(stress_scaled(40000), 16);
}

TAP_MAIN()
