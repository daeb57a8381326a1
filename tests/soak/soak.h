/*
 * soak.h - what the soak's files share: the lanes' entry points, the
 * conservation counters every lane adds to and soak.c checks, the stop
 * flag, failure reporting from any thread, and the helpers every lane's
 * rounds use. soak.c holds the driver and the checks; soak_<lane>.c holds
 * one lane each (echo, chan, timers, offload, spawn, sync).
 */
#ifndef WT_SOAK_H
#define WT_SOAK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
#include "weft.h"

enum {
    PACE_MS = 10,
    FAIL_PRINTS = 20,
    /* sync (soak_sync.c): the bank, also checked at bank_total_constant */
    ACCOUNTS = 32,
    INITIAL = 1000,
    TELLERS = 8,
    TRANSFERS = 200,
    AUDITS = 4,
};

/* The lanes, in the order they are spawned; each is a fiber body whose
 * argument is its seed, looping over rounds until stopping(). */
enum soak_lane { LANE_ECHO, LANE_CHAN, LANE_TIMERS, LANE_OFFLOAD, LANE_SPAWN, LANE_SYNC, LANES };

void *echo_lane(void *arg);    /* soak_echo.c */
void *chan_lane(void *arg);    /* soak_chan.c */
void *timer_lane(void *arg);   /* soak_timers.c */
void *offload_lane(void *arg); /* soak_offload.c */
void *spawn_lane(void *arg);   /* soak_spawn.c */
void *sync_lane(void *arg);    /* soak_sync.c */

/* The sum of the bank's balances; read after the sync lane was joined. */
long bank_total(void);

/* Conservation counters: each kind is counted where it happens, by the
 * party that does it, and compared at the end (0 lost, 0 duplicated).
 * Relaxed increments: they are read only after every lane was joined, and
 * the join orders them before the reads. */
struct tally {
    /* echo: client-side and server-side views of the same traffic */
    atomic_long conns_opened, conns_accepted, conns_byed, conns_srv_closed, conns_cli_closed;
    atomic_long msgs_sent, msgs_echoed, msgs_checked;
    atomic_long bytes_sent, bytes_echoed, bytes_checked;
    /* chan */
    atomic_long pipelines, items_sent, items_received, items_forwarded, select_timeouts;
    /* timers */
    atomic_long timers_started, timers_fired, timers_cancelled, timers_late_stops;
    atomic_long sleeps, timed_waits;
    /* offload */
    atomic_long offloads, offloads_ran, offloads_timedout, offload_bytes;
    /* spawn */
    atomic_long storm_spawned, storm_joined, groups, groups_cancelled;
    atomic_long members, members_ok, members_cancelled, mapped;
    /* sync */
    atomic_long transfers, lock_timeouts, audits, sem_acquires, wg_rounds;
    /* rounds per lane */
    atomic_long rounds[LANES];
};

/* Defined in soak.c. */
extern struct tally soak_tally;
extern atomic_long soak_failures; /* FAILF calls, anywhere */
extern atomic_bool soak_stop;     /* set by the driver when the time is up */

#define ADD(field, n) atomic_fetch_add_explicit(&soak_tally.field, (n), memory_order_relaxed)
#define GET(field)    atomic_load_explicit(&soak_tally.field, memory_order_relaxed)

/* A failure anywhere (fibers, pool threads): counted, the first few printed
 * with @file's name and @line. */
__attribute__((format(printf, 3, 4))) void soak_failf(const char *file, int line, const char *fmt,
                                                      ...);

#define FAILF(...) soak_failf(__FILE__, __LINE__, __VA_ARGS__)
#define FCHECK(c)                          \
    do {                                   \
        if (!(c))                          \
            FAILF("check failed: %s", #c); \
    } while (0)
#define FCHECK_RC(expr, want)                                                        \
    do {                                                                             \
        long rc_ = (long)(expr);                                                     \
        if (rc_ != (long)(want))                                                     \
            FAILF("%s: got %ld (%s), want %ld", #expr, rc_, weft_strerror((int)rc_), \
                  (long)(want));                                                     \
    } while (0)

/* Whether the driver has told the lanes to finish their round and return. */
static inline bool stopping(void)
{
    return atomic_load_explicit(&soak_stop, memory_order_relaxed);
}

/* A number in [0, @n) from the seeded state @rng. */
static inline uint64_t below(uint64_t *rng, uint64_t n)
{
    return splitmix(rng) % n;
}

/* Between rounds, a pause of 0..PACE_MS (soak.c). */
void pace(uint64_t *rng);

#endif /* WT_SOAK_H */
