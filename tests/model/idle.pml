/*
 * idle.pml - a Promela model of the idle protocol of runtime/scheduler.c:
 * wt_sched_wake() (the producer's side), steal_work()'s spinning rule,
 * stop_spinning() and idle() (the worker's side), with the `waking` flag
 * and the futex word idle_seq. Two workers and a plain thread that injects
 * NITEMS fibers into the global queue (wt_sched_inject).
 *
 * Checked (spin, SAFETY): no lost wake-up - every injected fiber is taken.
 * If one were stranded with every worker asleep on the futex, nobody would
 * reach `done` and spin reports an invalid end state.
 *
 * Promela is sequentially consistent, which is what the protocol's seq_cst
 * operations give (the essay's argument (1)); each statement is one atomic
 * access, a futex wait is "block until idle_seq moved". The netpoller's
 * slot and the deadlock check are left out (they only add wake-ups).
 *
 * Results (spin 6.5.2, pan -DSAFETY -DCOLLAPSE, this machine): 159,386
 * states, depth 150, no errors, 0.25 s.
 *
 * Planted bugs (spin -DBUG_... -a idle.pml), each reported as an invalid
 * end state (a fiber stranded, every worker asleep):
 *   BUG_KEEP_WAKING    idle() does not clear `waking` on entry: a wake-up
 *                      that reached nobody keeps it set and silences the
 *                      wake-up the last injection needs.
 *   BUG_CHECK_FIRST    the producer looks at nidle before it publishes its
 *                      fiber (the Dekker pair reversed).
 * scripts/check-models.sh checks only the correct model.
 */

#define N      2
#define NITEMS 2

byte gq;          /* global queue length (gq.size) */
byte taken;       /* fibers taken so far */
byte idle_seq;    /* the futex word */
byte nidle, nspinning;
bool waking;
bool done;        /* every fiber taken: workers may leave */

inline wake()
{
    if
    :: nspinning != 0 -> skip
    :: else ->
        if
        :: nidle == 0 -> skip
        :: else ->
            bool was;
            atomic { was = waking; waking = 1 };
            if
            :: was -> skip
            :: else -> idle_seq++ /* + futex wake: the waiter sees it moved */
            fi
        fi
    fi
}

active proctype producer()
{
    byte i = 0;
    do
    :: i < NITEMS ->
#ifdef BUG_CHECK_FIRST
        wake();
        gq++;
#else
        gq++;     /* wt_gq_push: seq_cst RMW of gq.size */
        wake();
#endif
        i++
    :: else -> break
    od
}

active [N] proctype worker()
{
    bool spinning = 0;
    byte seq, left;
    do
    :: done -> break
    :: else ->
        /* take_global / steal_work: the global queue */
        atomic {
            if
            :: gq > 0 -> gq--; taken++; if :: taken == NITEMS -> done = 1; idle_seq++ :: else -> skip fi; left = 1
            :: else -> left = 0
            fi
        };
        if
        :: left && spinning ->
            /* stop_spinning: the last spinner hands the search on */
            spinning = 0;
            atomic { left = nspinning; nspinning-- };
            if
            :: left == 1 -> wake()
            :: else -> skip
            fi
        :: left && !spinning -> skip
        :: !left && !spinning && 2 * nspinning < N - nidle ->
            spinning = 1;
            nspinning++
        :: else ->
            /* idle() */
            seq = idle_seq;
            nidle++;
            if
            :: spinning -> spinning = 0; nspinning--
            :: else -> skip
            fi;
#ifndef BUG_KEEP_WAKING
            waking = 0;
#endif
            if
            :: gq == 0 && !done -> (idle_seq != seq) /* futex wait */
            :: else -> skip
            fi;
            nidle--;
            waking = 0
        fi
    od
}
