/*
 * soak_spawn.c - the soak's spawn lane: storms of short fibers joined with
 * their results checked, one burst parked on an event until all are
 * spawned (alive at once), one running straight through; groups waited
 * for, cancelled (members spawned after the cancel too) and reaped one by
 * one with wait_any; weft_map.
 */
#include "soak.h"

#include <errno.h>
#include <stdlib.h>

enum {
    STORM = 2000,      /* fibers per burst */
    STORM_LIVE = 1000, /* of which alive at once in the parked burst */
    STORM_STACK = 6144,
    GROUPS = 4,
    MEMBERS = 48,
    MAP_ELEMS = 1000,
};

static weft_event storm_go;

/* Fiber i of a storm, arg = i << 1 | park. It writes STORM_STACK bytes of
 * its stack: the deepest any other fiber of the soak goes (measured with
 * /proc/PID/pagemap: two pages of the pooled stacks, a handful three), so
 * that every stack in the pool is as resident after the first round as it
 * will ever be. Lighter storm fibers left most pooled stacks at one page,
 * and the other fibers, passing through the pool, touched a second page of
 * one after another: RSS crept up ~6 MiB over minutes, bounded but
 * indistinguishable from a slow leak. */
static void *storm_fiber(void *arg)
{
    volatile unsigned char pad[STORM_STACK];
    uintptr_t i = (uintptr_t)arg >> 1;
    for (size_t b = 0; b < sizeof pad; b += 512)
        pad[b] = (unsigned char)i;
    if ((uintptr_t)arg & 1)
        FCHECK_RC(weft_event_wait(&storm_go), 0);
    return (void *)(2 * i + 1 + pad[0] - (unsigned char)i);
}

/* Spawn @n fibers and join them, checking each one's result. With @park
 * they all wait until the last is spawned, so that all @n are alive, each
 * on a stack of its own, at once: the run's high-water mark of stacks and
 * fiber structs, the same in every round (without it the peak would depend
 * on the schedule, and RSS would step up whenever a round set a record). */
static void storm_round(long n, bool park)
{
    weft_fiber *fs = malloc((size_t)n * sizeof *fs);
    FCHECK(fs != NULL);
    if (!fs)
        return;
    FCHECK_RC(weft_event_init(&storm_go), 0);
    long spawned = 0;
    for (; spawned < n; spawned++) {
        if (spawned % 256 == 255)
            weft_yield(); /* let the storm start running meanwhile */
        void *arg = (void *)((uintptr_t)spawned << 1 | park);
        int rc = weft_spawn(&fs[spawned], storm_fiber, arg, NULL);
        if (rc != 0) {
            FAILF("storm spawn: %s", weft_strerror(rc));
            break;
        }
    }
    ADD(storm_spawned, spawned);
    FCHECK_RC(weft_event_set(&storm_go), 0);
    for (long i = 0; i < spawned; i++) {
        void *res = NULL;
        FCHECK_RC(weft_join(fs[i], &res), 0);
        if (res != (void *)(2 * (uintptr_t)i + 1))
            FAILF("storm fiber %ld returned %p", i, res);
        ADD(storm_joined, 1);
    }
    FCHECK_RC(weft_event_destroy(&storm_go), 0);
    free(fs);
}

/* A member sleeps its arg in ns: 0 when it slept, -ECANCELED if its group
 * was cancelled first. */
static int member(void *arg)
{
    int rc = weft_sleep((int64_t)(intptr_t)arg);
    if (rc == 0)
        ADD(members_ok, 1);
    else if (rc == -ECANCELED)
        ADD(members_cancelled, 1);
    else
        FAILF("member sleep: %s", weft_strerror(rc));
    return rc;
}

#define LONG_SLEEP_NS ((int64_t)10 * 1000 * 1000 * 1000)

static void group_round(uint64_t *rng, int mode)
{
    weft_group g = WEFT_GROUP_INIT;
    FCHECK_RC(weft_group_init(&g, 0), 0);
    ADD(groups, 1);
    int spawned = 0;
    for (int i = 0; i < MEMBERS; i++) {
        /* Cancelled groups: half the members would sleep 10 s. */
        int64_t ns = mode == 1 && i % 2 ? LONG_SLEEP_NS : (int64_t)below(rng, 1000 * 1000);
        int rc = weft_group_go(&g, member, (void *)(intptr_t)ns, NULL);
        if (rc != i)
            FAILF("group_go: got %d, want index %d", rc, i);
        spawned += rc >= 0;
    }
    if (mode == 1) {
        FCHECK_RC(weft_sleep((int64_t)below(rng, 300 * 1000)), 0);
        FCHECK_RC(weft_group_cancel(&g), 0);
        ADD(groups_cancelled, 1);
        /* Members spawned into a cancelled group start cancelled. */
        for (int i = 0; i < 4; i++)
            spawned += weft_group_go(&g, member, (void *)(intptr_t)LONG_SLEEP_NS, NULL) >= 0;
        FCHECK_RC(weft_group_wait(&g), -ECANCELED);
    } else if (mode == 2) {
        unsigned char seen[MEMBERS] = {0};
        int idx, err, rc, reported = 0;
        while ((rc = weft_group_wait_any(&g, &idx, &err, WEFT_FOREVER)) == 0) {
            reported++;
            if (idx < 0 || idx >= MEMBERS || seen[idx]++ || err != 0)
                FAILF("wait_any: index %d err %d", idx, err);
        }
        FCHECK_RC(rc, -ECHILD);
        FCHECK(reported == spawned);
    } else {
        FCHECK_RC(weft_group_wait(&g), 0);
    }
    FCHECK_RC(weft_group_running(&g), 0);
    FCHECK_RC(weft_group_destroy(&g), 0);
    ADD(members, spawned);
}

static int double_it(void *elem, void *arg)
{
    (void)arg;
    *(long *)elem *= 2;
    return 0;
}

void *spawn_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    long storm = stress_scaled(STORM), storm_live = stress_scaled(STORM_LIVE);
    long *v = malloc(MAP_ELEMS * sizeof *v);
    FCHECK(v != NULL);
    for (long r = 0; r == 0 || !stopping(); r++) {
        storm_round(storm_live, true);
        storm_round(storm, false);
        for (int g = 0; g < GROUPS; g++)
            group_round(&rng, r == 0 ? g % 3 : (int)below(&rng, 3));
        if (v) {
            for (long i = 0; i < MAP_ELEMS; i++)
                v[i] = i;
            FCHECK_RC(weft_map(v, MAP_ELEMS, sizeof *v, double_it, NULL), 0);
            for (long i = 0; i < MAP_ELEMS; i++)
                if (v[i] != 2 * i) {
                    FAILF("weft_map: element %ld is %ld", i, v[i]);
                    break;
                }
            ADD(mapped, MAP_ELEMS);
        }
        ADD(rounds[LANE_SPAWN], 1);
        pace(&rng);
    }
    free(v);
    return NULL;
}
