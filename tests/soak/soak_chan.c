/*
 * soak_chan.c - the soak's chan lane: pipelines source -> 1..3 stages of
 * 1..4 fibers -> sink over buffered and unbuffered channels (odd stages
 * receive through select with a deadline); the sink sees each numbered
 * item exactly once (bitmap) with the value every stage made of it.
 */
#include "soak.h"

#include <errno.h>
#include <stdlib.h>

enum {
    ITEMS_MAX = 20000,
    STAGES_MAX = 3,
    WIDTH_MAX = 4,
};

struct item {
    uint64_t seq;
    uint64_t val;
};

static uint64_t stage_step(uint64_t v, int k)
{
    return v * 6364136223846793005ull + (uint64_t)(2 * k + 1);
}

struct pipeline {
    weft_chan ch[STAGES_MAX + 1]; /* ch[k] feeds stage k; ch[stages] the sink */
    int stages;
    long n;
    atomic_int left[STAGES_MAX]; /* fibers of stage k still running */
};

struct stage_arg {
    struct pipeline *p;
    int k;
};

static void *pipe_source(void *arg)
{
    struct pipeline *p = arg;
    for (long i = 0; i < p->n; i++) {
        struct item it = {.seq = (uint64_t)i, .val = (uint64_t)i ^ 0x5eedull};
        int rc = weft_chan_send(p->ch[0], &it);
        if (rc != 0) {
            FAILF("source send: %s", weft_strerror(rc));
            break;
        }
        ADD(items_sent, 1);
    }
    FCHECK_RC(weft_chan_close(p->ch[0]), 0);
    return NULL;
}

/* Stage k: receive (odd stages through select with a 20 ms deadline, a
 * timer armed and disarmed per item), transform, forward; the stage's last
 * fiber to see its input closed and drained closes the output. */
static void *pipe_stage(void *arg)
{
    struct stage_arg *sa = arg;
    struct pipeline *p = sa->p;
    int k = sa->k;
    for (;;) {
        struct item it;
        int rc;
        if (k % 2) {
            weft_select_case c = {.ch = p->ch[k], .op = WEFT_SELECT_RECV, .elem = &it};
            rc = weft_select(&c, 1, weft_deadline_after(20 * 1000 * 1000));
            if (rc == -ETIMEDOUT) {
                ADD(select_timeouts, 1);
                continue;
            }
            if (rc == 0)
                rc = c.result;
            else
                FAILF("select: %s", weft_strerror(rc));
        } else {
            rc = weft_chan_recv(p->ch[k], &it);
        }
        if (rc == -EPIPE)
            break;
        if (rc != 0) {
            FAILF("stage %d recv: %s", k, weft_strerror(rc));
            break;
        }
        it.val = stage_step(it.val, k);
        rc = weft_chan_send(p->ch[k + 1], &it);
        if (rc != 0) {
            FAILF("stage %d send: %s", k, weft_strerror(rc));
            break;
        }
        ADD(items_forwarded, 1);
    }
    if (atomic_fetch_sub(&p->left[k], 1) == 1)
        FCHECK_RC(weft_chan_close(p->ch[k + 1]), 0);
    return NULL;
}

static void pipeline_round(uint64_t *rng, bool full)
{
    struct pipeline p = {.stages = 1 + (int)below(rng, STAGES_MAX)};
    long max = stress_scaled(ITEMS_MAX);
    p.n = full ? max : max / 20 + 1 + (long)below(rng, (uint64_t)(max - max / 20));
    if (full)
        p.stages = STAGES_MAX;
    for (int k = 0; k <= p.stages; k++) {
        size_t cap = below(rng, 3) == 0 ? 0 : 1 + below(rng, 64);
        int rc = weft_chan_make(&p.ch[k], sizeof(struct item), cap);
        if (rc != 0) {
            FAILF("chan_make: %s", weft_strerror(rc));
            for (int j = 0; j < k; j++)
                weft_chan_free(p.ch[j]);
            return;
        }
    }
    int width[STAGES_MAX];
    weft_fiber fs[STAGES_MAX * WIDTH_MAX + 1];
    struct stage_arg sa[STAGES_MAX];
    int nf = 0;
    FCHECK_RC(weft_spawn(&fs[nf++], pipe_source, &p, NULL), 0);
    for (int k = 0; k < p.stages; k++) {
        width[k] = full ? WIDTH_MAX : 1 + (int)below(rng, WIDTH_MAX);
        atomic_init(&p.left[k], width[k]);
        sa[k] = (struct stage_arg){.p = &p, .k = k};
        for (int j = 0; j < width[k]; j++)
            FCHECK_RC(weft_spawn(&fs[nf++], pipe_stage, &sa[k], NULL), 0);
    }
    /* The sink: each item once, with the value its stages made of it. */
    unsigned char *seen = calloc((size_t)p.n, 1);
    FCHECK(seen != NULL);
    long got = 0;
    for (;;) {
        struct item it;
        int rc = weft_chan_recv(p.ch[p.stages], &it);
        if (rc == -EPIPE)
            break;
        if (rc != 0) {
            FAILF("sink recv: %s", weft_strerror(rc));
            break;
        }
        uint64_t want = it.seq ^ 0x5eedull;
        for (int k = 0; k < p.stages; k++)
            want = stage_step(want, k);
        if (it.seq >= (uint64_t)p.n || !seen) {
            FAILF("sink: item %llu out of range", (unsigned long long)it.seq);
            continue;
        }
        if (seen[it.seq]++)
            FAILF("sink: item %llu duplicated", (unsigned long long)it.seq);
        if (it.val != want)
            FAILF("sink: item %llu has a wrong value", (unsigned long long)it.seq);
        got++;
        ADD(items_received, 1);
    }
    for (int i = 0; i < nf; i++)
        FCHECK_RC(weft_join(fs[i], NULL), 0);
    if (got != p.n) {
        long missing = 0;
        for (long i = 0; seen && i < p.n; i++)
            missing += !seen[i];
        FAILF("pipeline: %ld of %ld items arrived, %ld missing", got, p.n, missing);
    }
    free(seen);
    for (int k = 0; k <= p.stages; k++)
        FCHECK_RC(weft_chan_free(p.ch[k]), 0);
    ADD(pipelines, 1);
}

void *chan_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (long r = 0; r == 0 || !stopping(); r++) {
        pipeline_round(&rng, r == 0);
        ADD(rounds[LANE_CHAN], 1);
        pace(&rng);
    }
    return NULL;
}
