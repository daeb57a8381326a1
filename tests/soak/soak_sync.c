/*
 * soak_sync.c - the soak's sync lane: a bank of accounts under weft_mutex
 * (some locks with deadlines) whose total an auditor checks, a semaphore
 * whose holders never exceed its permits, tellers counted out by a
 * waitgroup. ACCOUNTS, INITIAL, TELLERS, TRANSFERS and AUDITS are in
 * soak.h: soak.c checks the totals against them.
 */
#include "soak.h"

#include <errno.h>

enum {
    PERMITS = 3,
};

static struct account {
    weft_mutex m;
    long balance; /* guarded by m */
} bank[ACCOUNTS];
static weft_sem permits = WEFT_SEM_INIT(PERMITS);
static atomic_int holders;
static weft_waitgroup tellers_wg;

struct teller {
    uint64_t rng;
};

static void *teller_fiber(void *arg)
{
    struct teller *t = arg;
    for (int i = 0; i < TRANSFERS; i++) {
        FCHECK_RC(weft_sem_acquire(&permits), 0);
        ADD(sem_acquires, 1);
        int h = atomic_fetch_add(&holders, 1) + 1;
        if (h > PERMITS)
            FAILF("semaphore: %d holders of %d permits", h, PERMITS);
        int a = (int)below(&t->rng, ACCOUNTS), b = (int)below(&t->rng, ACCOUNTS - 1);
        b += b >= a; /* b != a */
        struct account *lo = &bank[a < b ? a : b], *hi = &bank[a < b ? b : a];
        /* Address order, so tellers and auditors never deadlock; one lock
         * in four has a short deadline and backs off when it passes. */
        bool timed = below(&t->rng, 4) == 0;
        int rc = timed ? weft_mutex_lock_until(&lo->m, weft_deadline_after(10 * 1000))
                       : weft_mutex_lock(&lo->m);
        if (rc == 0) {
            rc = timed ? weft_mutex_lock_until(&hi->m, weft_deadline_after(10 * 1000))
                       : weft_mutex_lock(&hi->m);
            if (rc == 0) {
                long amount = (long)below(&t->rng, (uint64_t)bank[a].balance + 1);
                bank[a].balance -= amount;
                bank[b].balance += amount;
                ADD(transfers, 1);
                FCHECK_RC(weft_mutex_unlock(&hi->m), 0);
            }
            FCHECK_RC(weft_mutex_unlock(&lo->m), 0);
        }
        if (rc == -ETIMEDOUT)
            ADD(lock_timeouts, 1);
        else if (rc != 0)
            FAILF("teller lock: %s", weft_strerror(rc));
        atomic_fetch_sub(&holders, 1);
        FCHECK_RC(weft_sem_release(&permits), 0);
    }
    FCHECK_RC(weft_waitgroup_done(&tellers_wg), 0);
    return NULL;
}

static void *auditor_fiber(void *arg)
{
    (void)arg;
    for (int i = 0; i < AUDITS; i++) {
        long total = 0;
        for (int k = 0; k < ACCOUNTS; k++)
            FCHECK_RC(weft_mutex_lock(&bank[k].m), 0);
        for (int k = 0; k < ACCOUNTS; k++) {
            if (bank[k].balance < 0)
                FAILF("account %d went negative", k);
            total += bank[k].balance;
        }
        for (int k = ACCOUNTS - 1; k >= 0; k--)
            FCHECK_RC(weft_mutex_unlock(&bank[k].m), 0);
        if (total != (long)ACCOUNTS * INITIAL)
            FAILF("audit: the bank holds %ld, want %ld", total, (long)ACCOUNTS * INITIAL);
        ADD(audits, 1);
        weft_yield();
    }
    FCHECK_RC(weft_waitgroup_done(&tellers_wg), 0);
    return NULL;
}

void *sync_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (int k = 0; k < ACCOUNTS; k++) {
        FCHECK_RC(weft_mutex_init(&bank[k].m), 0);
        bank[k].balance = INITIAL;
    }
    FCHECK_RC(weft_waitgroup_init(&tellers_wg), 0);
    weft_fiber_attr det = {.detached = true};
    for (long r = 0; r == 0 || !stopping(); r++) {
        struct teller ts[TELLERS];
        FCHECK_RC(weft_waitgroup_add(&tellers_wg, TELLERS + 1), 0);
        for (int i = 0; i < TELLERS; i++) {
            ts[i].rng = splitmix(&rng);
            FCHECK_RC(weft_spawn(NULL, teller_fiber, &ts[i], &det), 0);
        }
        FCHECK_RC(weft_spawn(NULL, auditor_fiber, NULL, &det), 0);
        FCHECK_RC(weft_waitgroup_wait(&tellers_wg), 0);
        ADD(wg_rounds, 1);
        ADD(rounds[LANE_SYNC], 1);
        pace(&rng);
    }
    FCHECK_RC(weft_waitgroup_destroy(&tellers_wg), 0);
    FCHECK_RC(weft_sem_value(&permits), PERMITS);
    for (int k = 0; k < ACCOUNTS; k++)
        FCHECK_RC(weft_mutex_destroy(&bank[k].m), 0);
    return NULL;
}

long bank_total(void)
{
    long total = 0;
    for (int k = 0; k < ACCOUNTS; k++)
        total += bank[k].balance;
    return total;
}
