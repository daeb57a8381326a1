/*
 * bank_stress.c - the bank-transfer stress of issue #4: N accounts, each
 * under its own weft_mutex; tellers (fibers on 4 workers and plain
 * threads) move random amounts between random accounts, taking the locks
 * in address order (so no deadlock), some with deadlines and trylock that
 * back off; auditors lock every account, in the same order, and check the
 * total. The total never changes, no balance goes negative, and every
 * lock, timeout and back-off leaves the mutexes clean. Seeded
 * (WEFT_TEST_SEED), bounded, scaled by WEFT_STRESS_SCALE.
 */
#include "weft.h"

#include "tap.h"
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

enum {
    ACCOUNTS = 64,
    INITIAL = 1000,
    FIBER_TELLERS = 16,
    THREAD_TELLERS = 2,
    TELLERS = FIBER_TELLERS + THREAD_TELLERS,
    AUDITORS = 2,
};

struct account {
    weft_mutex m;
    long balance; /* guarded by m */
};

static struct account accounts[ACCOUNTS]; /* array order is address order */
static atomic_long transfers, backoffs, audits, bad_audits, errors;
static atomic_int tellers_left;

struct teller {
    uint64_t seed;
    long ops;
    bool fiber;
};

static void pause_briefly(bool fiber)
{
    if (fiber)
        weft_yield();
    else
        sched_yield();
}

/* Lock @a then @b (a < b): plainly, with a deadline, or by trylock. On
 * failure nothing stays locked and it returns false. */
static bool lock_pair(struct account *a, struct account *b, uint64_t r)
{
    int rc;
    switch (r % 4) {
    case 0: /* both with short deadlines */
        rc = weft_mutex_lock_until(&a->m, weft_deadline_after((int64_t)(r >> 8) % 100000));
        if (rc == -ETIMEDOUT)
            return false;
        if (rc)
            break;
        rc = weft_mutex_lock_until(&b->m, weft_deadline_after((int64_t)(r >> 24) % 100000));
        if (rc == 0)
            return true;
        weft_mutex_unlock(&a->m);
        if (rc == -ETIMEDOUT)
            return false;
        break;
    case 1: /* the second by trylock */
        if ((rc = weft_mutex_lock(&a->m)) != 0)
            break;
        if ((rc = weft_mutex_trylock(&b->m)) == 0)
            return true;
        weft_mutex_unlock(&a->m);
        if (rc == -EAGAIN)
            return false;
        break;
    default:
        if ((rc = weft_mutex_lock(&a->m)) != 0)
            break;
        if ((rc = weft_mutex_lock(&b->m)) == 0)
            return true;
        weft_mutex_unlock(&a->m);
        break;
    }
    atomic_fetch_add(&errors, 1);
    return false;
}

static void *teller(void *arg)
{
    struct teller *t = arg;
    uint64_t x = t->seed;
    for (long i = 0; i < t->ops; i++) {
        uint64_t r = splitmix(&x);
        int from = (int)(r % ACCOUNTS), to = (int)((r >> 8) % (ACCOUNTS - 1));
        if (to >= from)
            to++;
        struct account *lo = &accounts[from < to ? from : to];
        struct account *hi = &accounts[from < to ? to : from];
        if (!lock_pair(lo, hi, splitmix(&x))) {
            atomic_fetch_add(&backoffs, 1);
            pause_briefly(t->fiber);
            continue;
        }
        long amount = (long)((r >> 16) % (uint64_t)(accounts[from].balance + 1));
        accounts[from].balance -= amount;
        if (t->fiber && (r >> 40) % 16 == 0)
            weft_yield(); /* hold both across a switch */
        accounts[to].balance += amount;
        if (weft_mutex_unlock(&hi->m) != 0 || weft_mutex_unlock(&lo->m) != 0)
            atomic_fetch_add(&errors, 1);
        atomic_fetch_add(&transfers, 1);
    }
    atomic_fetch_sub(&tellers_left, 1);
    return NULL;
}

/* Lock every account in address order, check the total and that no
 * balance is negative, unlock in reverse. Until the tellers are done. */
static void *auditor(void *arg)
{
    bool fiber = arg != NULL;
    while (atomic_load(&tellers_left) > 0) {
        long total = 0, negative = 0;
        for (int i = 0; i < ACCOUNTS; i++)
            if (weft_mutex_lock(&accounts[i].m) != 0)
                atomic_fetch_add(&errors, 1);
        for (int i = 0; i < ACCOUNTS; i++) {
            total += accounts[i].balance;
            negative += accounts[i].balance < 0;
        }
        for (int i = ACCOUNTS; i-- > 0;)
            if (weft_mutex_unlock(&accounts[i].m) != 0)
                atomic_fetch_add(&errors, 1);
        if (total != (long)ACCOUNTS * INITIAL || negative)
            atomic_fetch_add(&bad_audits, 1);
        atomic_fetch_add(&audits, 1);
        pause_briefly(fiber);
    }
    return NULL;
}

TEST(bank_total_never_changes)
{
    static struct teller t[TELLERS];
    uint64_t x = tap_seed();
    long per = stress_scaled(1000000) / TELLERS + 1;
    for (int i = 0; i < ACCOUNTS; i++)
        accounts[i] = (struct account){.m = WEFT_MUTEX_INIT, .balance = INITIAL};
    atomic_store(&tellers_left, TELLERS);
    CHECK_OK(weft_init(NULL));
    printf("# %d workers, %d tellers x %ld transfers, %d accounts\n", weft_workers(), TELLERS, per,
           ACCOUNTS);
    weft_fiber tf[FIBER_TELLERS], af;
    pthread_t tt[THREAD_TELLERS], at;
    for (int i = 0; i < TELLERS; i++)
        t[i] = (struct teller){.seed = splitmix(&x), .ops = per, .fiber = i < FIBER_TELLERS};
    CHECK_OK(weft_spawn(&af, auditor, (void *)1, NULL));
    CHECK_OK(pthread_create(&at, NULL, auditor, NULL));
    for (int i = 0; i < FIBER_TELLERS; i++)
        CHECK_OK(weft_spawn(&tf[i], teller, &t[i], NULL));
    for (int i = 0; i < THREAD_TELLERS; i++)
        CHECK_OK(pthread_create(&tt[i], NULL, teller, &t[FIBER_TELLERS + i]));
    for (int i = 0; i < FIBER_TELLERS; i++)
        CHECK_OK(weft_join(tf[i], NULL));
    for (int i = 0; i < THREAD_TELLERS; i++)
        CHECK_OK(pthread_join(tt[i], NULL));
    CHECK_OK(weft_join(af, NULL));
    CHECK_OK(pthread_join(at, NULL));
    long total = 0, negative = 0, busy = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        total += accounts[i].balance;
        negative += accounts[i].balance < 0;
        busy += weft_mutex_destroy(&accounts[i].m) != 0;
    }
    printf("# %ld transfers, %ld back-offs, %ld audits\n", atomic_load(&transfers),
           atomic_load(&backoffs), atomic_load(&audits));
    EXPECT_EQ(total, (long)ACCOUNTS * INITIAL);
    EXPECT_EQ(negative, 0);
    EXPECT_EQ(busy, 0);
    EXPECT_EQ(atomic_load(&bad_audits), 0);
    EXPECT_EQ(atomic_load(&errors), 0);
    EXPECT_EQ(atomic_load(&transfers) + atomic_load(&backoffs), per * TELLERS);
    EXPECT(atomic_load(&audits) > 0);
    CHECK_OK(weft_shutdown());
}

TAP_MAIN()
