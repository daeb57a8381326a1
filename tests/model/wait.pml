/*
 * wait.pml - a Promela model of the blocking protocol of runtime/wait.c:
 * wt_wait_begin, the park commit (commit()), wt_waiter_claim / claim_word,
 * wt_waiter_finish (finish_fiber), wt_wait_fire_timer and wt_wait_cancel,
 * as a channel receive uses them (chan.c's block() and a sender's
 * hand-over). One fiber waits twice in a row (so that a stale timer entry
 * or a late canceller of the first wait meets the second), with a
 * deadline; a waker (a sender holding the queue lock), the timer of the
 * worker it parked on, and a canceller race to end each wait.
 *
 * Checked (spin, SAFETY): every wait ends exactly once and its fiber is
 * readied exactly once, and only once PARKED is set (it never runs on a
 * half-saved context), by whichever of DONE/PARKED came second or by a
 * waker whose claim saw PARKED; a fiber woken by the waker finds the
 * handed-over value (the hand-over happens between claim and finish); a
 * stale timer entry or a late cancel never ends a later wait wrongly; and
 * no wait is left blocked forever (spin's invalid end state): the fiber's
 * "until readied" would block for good after a lost wake-up, and the
 * cancel Dekker pair (commit's RMW then load of CANCELLED, the canceller's
 * RMW then load of the word) is what keeps a cancel that races the park
 * from being lost.
 *
 * Promela is sequentially consistent; each atomic{} is one atomic access
 * (or, for the queue, one critical section under the queue's spinlock) of
 * the C code. The C11 orderings are argued at the top of wait.c.
 *
 * Results (spin 6.5.2, pan -DSAFETY -DCOLLAPSE, this machine): 30,706
 * states, depth 73, no errors, well under a second.
 *
 * Planted bugs, one at a time (spin -DBUG_... -a wait.pml); spin reports each:
 *   BUG_NO_COMMIT_CANCEL_CHECK  drop the commit's look at CANCELLED: the
 *                               cancel is lost (the fiber blocks forever,
 *                               invalid end state, depth 29) when begin
 *                               looked before the canceller set the flag and
 *                               the canceller read the word before the
 *                               commit published the key.
 *   BUG_READY_BEFORE_PARK       finish readies without waiting for PARKED:
 *                               it is readied before its context is saved
 *                               and again by its commit (spin: invalid end state).
 *   BUG_DIRECT_READY_UNPARKED   the waker readies directly even when its
 *                               claim did not see PARKED: readied before
 *                               it is saved (spin: assertion in ready()).
 * scripts/check-models.sh checks only the correct model.
 */

#define NWAITS 2
#define WOKEN    0
#define TIMEDOUT 1
#define CANCELED 2

/* The claim word of the fiber (fiber->wait), field by field. */
byte seq;          /* the wait's sequence number (never reused) */
bool waiting, claimed, done, parked;
byte reason;

bool cancelled;    /* FIBER_CANCELLED in fiber->sync */
bool unpublished;  /* begin's relaxed store of the key may not be visible yet to
                    * a party that does not synchronise with the fiber (the
                    * canceller's plain load); the commit's seq_cst RMW makes it
                    * visible. Wakers see it through the queue lock. */

/* The channel's receive queue, under its lock: at most our one waiter. */
bool queued;
byte qkey;         /* the key the queued waiter carries */
byte data;         /* the waiter's buffer (waiter->data) */

byte timer_key;    /* the worker's heap: one entry, 0 = none (stale ones stay) */
byte readied;      /* times the fiber was made runnable */

/* claim_word(): win the wait with key @k for @why if still undecided. */
inline claim(k, why, won)
{
    atomic {
        if
        :: seq == k && waiting && !claimed -> claimed = 1; reason = why; won = 1
        :: else -> won = 0
        fi
    }
}

/* Make the fiber runnable: only a parked (saved) fiber may be. */
inline ready()
{
    assert(parked);
    readied++
}

/* finish_fiber(): set DONE; whoever sets the second of DONE/PARKED readies. */
inline finish()
{
    atomic {
        assert(claimed);
        done = 1;
#ifndef BUG_READY_BEFORE_PARK
        if
        :: parked -> ready()
        :: else -> skip
        fi
#else
        readied++
#endif
    }
}

active proctype fiber()
{
    byte i = 1;
    bool won;
    do
    :: i <= NWAITS ->
        data = 0;
        /* wt_wait_begin: a new key, plain store; a cheap look at the flag. */
        atomic { seq = i; waiting = 1; claimed = 0; done = 0; parked = 0; reason = 0; unpublished = 1 }
        if
        :: cancelled ->
            claim(i, CANCELED, won);
            if
            :: won -> done = 1; readied++; goto next /* -ECANCELED at once */
            :: else -> skip
            fi
        :: else -> skip
        fi;
        /* block(): queue the waiter under the lock, then park. */
        atomic { queued = 1; qkey = i };
        /* commit(), after the switch: the timer entry (wait 1 has a
         * deadline; wait 2 has none, so only a waker or a cancel can end
         * it, and the stale entry of wait 1 may still fire), then PARKED. */
        if
        :: i == 1 -> timer_key = i
        :: else -> skip
        fi;
        atomic {
            parked = 1;
            unpublished = 0;
            if
            :: done -> ready() /* ended before we parked: ready at once */
            :: else ->
#ifndef BUG_NO_COMMIT_CANCEL_CHECK
                if
                :: !claimed && cancelled -> claimed = 1; reason = CANCELED; done = 1; ready()
                :: else -> skip
                fi
#else
                skip
#endif
            fi
        };
        /* Run again only once readied, exactly once for this wait. */
        (readied == i);
        /* DONE is set, except after a waker's direct ready (below). */
        assert(claimed && parked && (done || reason == WOKEN));
        if
        :: reason == WOKEN -> assert(data == i) /* the hand-over arrived */
        :: else -> skip
        fi;
        /* After waking: take the waiter out if the waker did not. */
        atomic { if :: queued && qkey == i -> queued = 0 :: else -> skip fi };
next:
        atomic { assert(readied == i); waiting = 0; i++ }
    :: else -> break
    od
}

/* A sender: under the queue lock, unqueue the waiter and claim it; then
 * hand the value over and finish (wt_wq_claim_first + wt_waiter_finish). */
active proctype waker()
{
    byte tries = 0, k;
    bool won, sawparked;
    do
    :: tries < 2 ->
        atomic {
            if
            :: queued -> queued = 0; k = qkey;
                if
                :: seq == k && waiting && !claimed ->
                    claimed = 1; reason = WOKEN; won = 1; sawparked = parked
                :: else -> won = 0
                fi
            :: else -> won = 0
            fi
        };
        if
        :: won -> data = k;
            /* wt_waiter_finish_from: a claim that saw PARKED readies the
             * fiber directly, without DONE. */
            if
#ifndef BUG_DIRECT_READY_UNPARKED
            :: sawparked -> atomic { ready() }
            :: else -> finish()
#else
            :: atomic { ready() } /* ready without looking */
#endif
            fi
        :: else -> skip
        fi;
        tries++
    :: tries < 2 -> tries++ /* a send that finds nobody waiting */
    :: else -> break
    od
}

/* The timer of the worker the fiber parked on: fires its entry, which may
 * by then be stale (key of an earlier wait). */
active proctype timer()
{
    byte fired = 0, k;
    bool won;
    do
    :: fired < NWAITS && timer_key != 0 ->
        k = timer_key;
        claim(k, TIMEDOUT, won);
        if
        :: won -> finish()
        :: else -> skip /* stale: dropped */
        fi;
        fired++
    :: else -> break
    od
}

/* weft_cancel: set the flag (RMW), then read the word and claim what it
 * names (wt_wait_cancel). */
active proctype canceller()
{
    byte k;
    bool w, c, won;
    cancelled = 1;
    atomic {
        if
        :: unpublished -> w = 0 /* reads the previous, decided word */
        :: else -> k = seq; w = waiting; c = claimed
        fi
    };
    if
    :: w && !c ->
        claim(k, CANCELED, won);
        if
        :: won -> finish()
        :: else -> skip
        fi
    :: else -> skip
    fi
}
