/*
 * spawn_tree_stress.c - seeded random trees of spawns run across all
 * workers (WEFT_WORKERS=4 on 2 cores, so fibers migrate and get stolen),
 * with random yields and sleeps: conservation of work. Every node runs
 * exactly once, every joined result arrives intact, every detached subtree
 * finishes, and the sums add up. WEFT_STRESS_SCALE (default 1) scales the
 * node counts; WEFT_TEST_SEED replays a seed.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One node of a tree; children are contiguous, after their parent. */
struct node {
    uint32_t first_child, nchildren;
    bool detached;     /* its parent detaches it instead of joining it */
    uint64_t value;    /* what it adds to its result */
    uint64_t expected; /* value + results of its joined children */
    uint64_t rng;      /* seeds its random choices */
};

struct forest {
    struct node *nodes;
    uint32_t n, cap;
    atomic_int *ran;          /* per node: how many times it ran */
    atomic_long wrong;        /* child results that did not add up */
    atomic_long failed_calls; /* spawn/join/sleep that returned an error */
    atomic_long detached_done;
    long ndetached;
};

static struct forest fo;

struct shape {
    const char *name;
    uint32_t min_fan, max_fan, max_depth;
};

static const struct shape shapes[] = {
    {"wide", 8, 64, 2},    {"bushy", 0, 6, 8},    {"deep", 1, 2, 60},
    {"chain", 1, 1, 1500}, {"sparse", 0, 3, 400},
};

/* Builds one tree of at most @budget nodes breadth first into fo; returns
 * its root's index. */
static uint32_t build_tree(const struct shape *sh, uint32_t budget, uint64_t *x)
{
    uint32_t root = fo.n, end = fo.n + budget;
    uint32_t level_start = root, level_end = root + 1, depth = 0;
    fo.nodes[fo.n++] = (struct node){.value = splitmix(x), .rng = splitmix(x)};
    while (level_start < level_end && depth < sh->max_depth) {
        for (uint32_t p = level_start; p < level_end; p++) {
            uint32_t k = sh->min_fan + (uint32_t)(splitmix(x) % (sh->max_fan - sh->min_fan + 1));
            if (k > end - fo.n)
                k = end - fo.n;
            fo.nodes[p].first_child = fo.n;
            fo.nodes[p].nchildren = k;
            for (uint32_t c = 0; c < k; c++) {
                uint64_t r = splitmix(x);
                fo.nodes[fo.n++] = (struct node){
                    .value = r, .rng = splitmix(x), .detached = (r >> 60) == 0, /* 1 in 16 */
                };
                fo.ndetached += (r >> 60) == 0;
            }
        }
        level_start = level_end;
        level_end = fo.n;
        depth++;
    }
    for (uint32_t i = fo.n; i-- > root;) {
        struct node *nd = &fo.nodes[i];
        nd->expected = nd->value;
        for (uint32_t c = nd->first_child; c < nd->first_child + nd->nchildren; c++)
            if (!fo.nodes[c].detached)
                nd->expected += fo.nodes[c].expected;
    }
    return root;
}

static void jitter(uint64_t *x)
{
    uint64_t r = splitmix(x);
    if (r % 4 == 0)
        weft_yield();
    if (r % 16 == 1 && weft_sleep(0) != 0)
        atomic_fetch_add(&fo.failed_calls, 1);
    if (r % 512 == 2 && weft_sleep((int64_t)(r >> 40) % 20000) != 0)
        atomic_fetch_add(&fo.failed_calls, 1);
}

static void *run_node(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    const struct node *nd = &fo.nodes[id];
    uint64_t x = nd->rng;
    atomic_fetch_add(&fo.ran[id], 1);
    jitter(&x);

    weft_fiber kids[64];
    uint32_t order[64], nkids = 0;
    uint64_t sum = nd->value;
    for (uint32_t c = nd->first_child; c < nd->first_child + nd->nchildren; c++) {
        const struct node *ch = &fo.nodes[c];
        weft_fiber_attr attr = {.detached = ch->detached};
        if (splitmix(&x) % 8 == 0)
            attr.stack_size = 32 * 1024;
        if (ch->detached) {
            if (weft_spawn(NULL, run_node, (void *)(uintptr_t)c, &attr) != 0)
                atomic_fetch_add(&fo.failed_calls, 1);
        } else if (nkids == 64) {
            /* wider than the batch: run it to completion now */
            weft_fiber f;
            void *r = NULL;
            if (weft_spawn(&f, run_node, (void *)(uintptr_t)c, &attr) != 0 || weft_join(f, &r) != 0)
                atomic_fetch_add(&fo.failed_calls, 1);
            if ((uint64_t)(uintptr_t)r != ch->expected)
                atomic_fetch_add(&fo.wrong, 1);
            sum += (uint64_t)(uintptr_t)r;
        } else {
            if (weft_spawn(&kids[nkids], run_node, (void *)(uintptr_t)c, &attr) != 0) {
                atomic_fetch_add(&fo.failed_calls, 1);
                continue;
            }
            order[nkids] = c;
            nkids++;
        }
        jitter(&x);
    }
    /* Join in a random order: shuffle the batch. */
    for (uint32_t i = nkids; i > 1; i--) {
        uint32_t j = (uint32_t)(splitmix(&x) % i);
        weft_fiber tf = kids[i - 1];
        uint32_t to = order[i - 1];
        kids[i - 1] = kids[j], order[i - 1] = order[j];
        kids[j] = tf, order[j] = to;
    }
    for (uint32_t i = 0; i < nkids; i++) {
        void *r = NULL;
        if (weft_join(kids[i], &r) != 0)
            atomic_fetch_add(&fo.failed_calls, 1);
        if ((uint64_t)(uintptr_t)r != fo.nodes[order[i]].expected)
            atomic_fetch_add(&fo.wrong, 1);
        sum += (uint64_t)(uintptr_t)r;
        jitter(&x);
    }
    if (sum != nd->expected)
        atomic_fetch_add(&fo.wrong, 1);
    if (nd->detached)
        atomic_fetch_add(&fo.detached_done, 1);
    return (void *)(uintptr_t)sum;
}

static void forest_reset(uint32_t cap)
{
    free(fo.nodes);
    free(fo.ran);
    memset(&fo, 0, sizeof fo);
    fo.cap = cap;
    fo.nodes = calloc(cap, sizeof *fo.nodes);
    fo.ran = calloc(cap, sizeof *fo.ran);
}

enum { TREES_PER_ROUND = 3 };

/* Random trees of every shape, three at a time, all conserve work: each
 * node runs once, joined results add up to the expected subtree sums, and
 * each detached subtree finishes. */
TEST(random_spawn_trees_conserve_work)
{
    uint64_t x = tap_seed();
    double scale = stress_scale();
    uint32_t budget = (uint32_t)(12000 * scale) + 10;
    int rounds = scale < 1 ? 12 : (int)(40 * scale);
    CHECK_OK(weft_init(NULL));
    printf("# %d workers, %d rounds of %d trees of up to %u nodes\n", weft_workers(), rounds,
           TREES_PER_ROUND, budget);
    long total_nodes = 0;
    for (int round = 0; round < rounds; round++) {
        forest_reset(budget * TREES_PER_ROUND);
        CHECK(fo.nodes && fo.ran);
        uint32_t roots[TREES_PER_ROUND];
        const struct shape *sh[TREES_PER_ROUND];
        for (int t = 0; t < TREES_PER_ROUND; t++) {
            sh[t] = &shapes[splitmix(&x) % (sizeof shapes / sizeof shapes[0])];
            roots[t] = build_tree(sh[t], budget, &x);
        }
        weft_fiber f[TREES_PER_ROUND];
        for (int t = 0; t < TREES_PER_ROUND; t++)
            CHECK_OK(weft_spawn(&f[t], run_node, (void *)(uintptr_t)roots[t], NULL));
        for (int t = 0; t < TREES_PER_ROUND; t++) {
            void *r = NULL;
            CHECK_OK(weft_join(f[t], &r));
            EXPECT_EQ((uint64_t)(uintptr_t)r, fo.nodes[roots[t]].expected);
        }
        while (atomic_load(&fo.detached_done) < fo.ndetached)
            weft_yield();
        int not_once = 0;
        for (uint32_t i = 0; i < fo.n; i++)
            not_once += atomic_load(&fo.ran[i]) != 1;
        if (not_once || atomic_load(&fo.wrong) || atomic_load(&fo.failed_calls))
            printf("# round %d (%s, %s, %s; %u nodes): %d not run once, %ld wrong sums, "
                   "%ld failed calls\n",
                   round, sh[0]->name, sh[1]->name, sh[2]->name, fo.n, not_once,
                   atomic_load(&fo.wrong), atomic_load(&fo.failed_calls));
        EXPECT_EQ(not_once, 0);
        EXPECT_EQ(atomic_load(&fo.wrong), 0);
        EXPECT_EQ(atomic_load(&fo.failed_calls), 0);
        EXPECT_EQ(atomic_load(&fo.detached_done), fo.ndetached);
        total_nodes += fo.n;
    }
    printf("# %ld nodes in all\n", total_nodes);
    forest_reset(0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
