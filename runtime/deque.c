/*
 * deque.c - the Chase–Lev work-stealing deque: steal, growth, set-up and
 * teardown, and the ordering argument for all of it, push and pop included
 * (they are inline in deque.h). Which deque to steal from is scheduler.c's choice.
 *
 * The algorithm is Chase and Lev's ("Dynamic Circular Work-Stealing Deque",
 * SPAA 2005) in the C11 form of Lê, Pop, Cohen and Zappa Nardelli ("Correct
 * and Efficient Work-Stealing for Weak Memory Models", PPoPP 2013), changed
 * in two ways: seq_cst accesses instead of fences (R3), and an owner-side
 * cache of top (R2). tests/model/deque.pml model-checks the algorithm (push,
 * pop and steal, growth included, by the owner and two thieves) under
 * sequential consistency only; the rules below carry it to C11's weaker
 * orders, and tests/unit/deque_test.c stresses them under ThreadSanitizer.
 *
 * State. Items are at indices [top, bottom) of a ring, index i in slot
 * [i & mask]. The owner alone writes bottom: push adds one, pop takes one
 * off and sometimes puts it back. top changes only by a CAS from t to t + 1
 * (in steal, or in pop for the last item), so it never decreases and takes
 * each value once: a CAS that expects t fails for good once anyone has
 * claimed index t. The indices are int64_t. At 10^9 operations a second
 * they overflow after 292 years, so the code treats them as unbounded and
 * top has no ABA; signed, so that bottom - 1 on a fresh deque is -1, not a
 * huge index. Index t goes to whoever moves top past it, except that pop
 * takes index b without a CAS when it loads a top below b.
 *
 * R1 Publication. Every store to bottom is release or seq_cst, and steal
 * loads bottom seq_cst, hence acquire: a thief that reads bottom = b sees
 * the slots the owner wrote for the indices below b, and whatever the owner
 * wrote to the items themselves before pushing them. Steal then loads buf
 * with acquire, pairing with the release store in grow(): a new buffer comes
 * with its copied slots. grow() stores buf before the push that called it
 * stores bottom, so the buffer the thief loads is no older than the one
 * index b - 1 went into. A replaced buffer is never written again and still
 * holds every index that was in [top, bottom) when it was replaced.
 *
 * R2 Slot reuse. Push writes index b into slot b & mask, which last held
 * index b - capacity. It does so only when b - top_cache < capacity, and
 * top_cache is a value of top the owner loaded with acquire or stronger
 * (in wt_deque_make_room(), or pop's load and CAS, whose failure order is
 * seq_cst for this reason), so top had passed b - capacity: the taker whose
 * CAS claimed that index had read the slot before its CAS. Every write to
 * top is a read-modify-write, so the owner's load reads from the release
 * sequence of that CAS (seq_cst, hence release) and synchronises with it:
 * the taker's read of the slot happens before the overwrite, and returned
 * the old item. A thief that reads the new item while it expects an old
 * index t fails its CAS, since top has passed t. As top_cache <= top, pop
 * also returns NULL on bottom <= top_cache without a store, and push loads
 * top, on the thieves' busy cache line, only when the buffer looks full.
 *
 * R3 Pop against steal: store buffering. Pop stores bottom = b (one less)
 * and then loads top; steal loads top and then bottom. If each load could
 * miss the other side's write, pop would take index b unopposed while a
 * thief took it too. All four accesses are seq_cst, so they lie in C11's
 * single total order S, which agrees with program order, and in which a
 * seq_cst load reads the last seq_cst write before it, or a weaker write
 * that does not happen before that one (C11 7.17.3). Say pop loads t < b
 * and takes index b without a CAS, while a thief claims index b by a CAS
 * from b, having loaded top = b. Every write to top is a seq_cst CAS, so
 * pop's load of the older value t precedes the thief's top load in S, and
 * so pop's store of bottom does too; the thief's load of bottom comes later
 * still and reads pop's store or a later store by the owner. Pop's store
 * says b: t = b = bottom, empty, no steal. A later value above b comes from
 * a push of a new item at index b, and by R1 the thief then reads that item
 * (or one pushed later still), not the popped one. If pop loads t = b, the
 * item is the last: pop and the thieves all CAS top from b, and one wins.
 * If t > b the deque was empty. In both cases pop puts bottom back to b + 1.
 *
 * Lê et al. write this race with relaxed and acquire accesses and an
 * atomic_thread_fence(memory_order_seq_cst) in each of pop and steal. We
 * use no fence: ThreadSanitizer does not model standalone fences, so it
 * would miss the order they give and report false races, and gcc 12 with
 * -Werror rejects atomic_thread_fence under -fsanitize=thread (-Wtsan).
 * Seq_cst accesses give the guarantee above through S at the same price:
 * on x86-64 pop's seq_cst store is one XCHG where the fence was an MFENCE,
 * and seq_cst loads are plain MOVs, so steal pays nothing; on aarch64 they
 * are STLR and LDAR, which the architecture keeps in order (RCsc), where
 * the fences were DMBs.
 *
 * R4 Growth. Push grows only when bottom - top >= capacity for a top loaded
 * just then (wt_deque_make_room()). grow() copies indices [top, bottom) into
 * a buffer twice the size (thieves may claim some of them meanwhile; a
 * copy of an index below the true top is never taken, since the CAS for it
 * fails) and publishes it with a release store of buf (R1). A thief that
 * loaded the old pointer may read the old buffer at any later time, so it
 * is not freed while the deque lives: it joins the prev chain, which
 * wt_deque_destroy() frees. That is bounded. The buffers have capacities
 * c, 2c, ..., N, where N is the final capacity, and c + ... + N/2 < N, so
 * a deque never holds more than 2N slots, twice its high-water mark, and
 * needs no hazard pointers or epochs. A deque never shrinks. A thief that
 * loses its CAS may have read a slot of a new buffer that nobody wrote,
 * so buffers are zeroed (calloc): the read is NULL, and discarded.
 *
 * R5 Idle protocol. wt_deque_is_empty() loads top, then bottom, seq_cst,
 * so an idle worker's recheck is ordered in S against seq_cst operations
 * only, and push's release store of bottom is not one. A pusher that must
 * not miss a worker going idle follows its push with a seq_cst
 * read-modify-write of the variable the idler announces itself in (Go's
 * wakep() CASes nmspinning). scheduler.c says when that is needed: not
 * for the owner's own deque, as an owner with work in it is not idle.
 */
#include "deque.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"

static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
              "the deque needs lock-free 64-bit atomics");
static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the deque needs lock-free pointer atomics");

/* A zeroed buffer of @cap slots (R4); NULL if it cannot be had. */
static struct deque_buf *buf_new(size_t cap)
{
    if (cap > (SIZE_MAX - sizeof(struct deque_buf)) / sizeof(_Atomic(void *)) ||
        cap > (size_t)INT64_MAX)
        return NULL;
    struct deque_buf *a = wt_calloc(1, sizeof *a + cap * sizeof a->slot[0]);
    if (!a)
        return NULL;
    a->mask = (int64_t)cap - 1;
    a->prev = NULL;
    return a;
}

int wt_deque_init(struct deque *dq, size_t capacity)
{
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        return -EINVAL;
    struct deque_buf *a = buf_new(capacity);
    if (!a)
        return -ENOMEM;
    atomic_init(&dq->top, 0);
    atomic_init(&dq->bottom, 0);
    atomic_init(&dq->buf, a);
    dq->top_cache = 0;
    return 0;
}

void wt_deque_destroy(struct deque *dq)
{
    /* Relaxed: no concurrent users; whatever ended them (a join) ordered us. */
    struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_relaxed);
    while (a) {
        struct deque_buf *prev = a->prev;
        wt_free(a);
        a = prev;
    }
    atomic_store_explicit(&dq->buf, NULL, memory_order_relaxed);
}

/*
 * Replace @old, which holds indices [@t, @b), by a buffer twice its size
 * holding the same items, and retire @old on the prev chain (R4).
 * Owner only; @b - @t == capacity of @old. NULL if allocation fails, with
 * @dq untouched.
 */
static struct deque_buf *grow(struct deque *dq, struct deque_buf *old, int64_t t, int64_t b)
{
    size_t cap = (size_t)old->mask + 1;
    if (cap > SIZE_MAX / 2)
        return NULL;
    struct deque_buf *a = buf_new(2 * cap);
    if (!a)
        return NULL;
    for (int64_t i = t; i < b; i++) {
        /* Relaxed: only we wrote these slots; the store of buf below publishes the copies. */
        void *item = atomic_load_explicit(&old->slot[i & old->mask], memory_order_relaxed);
        atomic_store_explicit(&a->slot[i & a->mask], item, memory_order_relaxed);
    }
    a->prev = old;
    /* Release pairs with the acquire load of buf in wt_deque_steal() (R1). */
    atomic_store_explicit(&dq->buf, a, memory_order_release);
    return a;
}

struct deque_buf *wt_deque_make_room(struct deque *dq, int64_t b)
{
    /* Relaxed: only the owner writes buf. */
    struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_relaxed);
    /* Acquire pairs with the takers' CAS on top: their reads of the slots we
     * are about to reuse happen before our writes (R2). */
    int64_t t = atomic_load_explicit(&dq->top, memory_order_acquire);
    dq->top_cache = t;
    if (b - t <= a->mask)
        return a;
    return grow(dq, a, t, b);
}

void *wt_deque_steal(struct deque *dq)
{
    for (;;) {
        int64_t t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
        int64_t b = atomic_load_explicit(&dq->bottom, memory_order_seq_cst);
        if (t >= b)
            return NULL;
        /* Acquire pairs with the release store of buf in grow() (R1). */
        struct deque_buf *a = atomic_load_explicit(&dq->buf, memory_order_acquire);
        /* Relaxed: ordered by the acquire loads above (R1); whether the item
         * is still index t's is for the CAS to say (R2). */
        void *item = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);
        /* Relaxed on failure: the value is dropped and the loop reloads top. */
        if (atomic_compare_exchange_strong_explicit(&dq->top, &t, t + 1, memory_order_seq_cst,
                                                    memory_order_relaxed))
            return item;
    }
}

size_t wt_deque_size(const struct deque *dq)
{
    /* Relaxed: a snapshot for heuristics, ordered with nothing (see deque.h). */
    int64_t t = atomic_load_explicit(&dq->top, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_relaxed);
    return b > t ? (size_t)(b - t) : 0;
}

bool wt_deque_is_empty(const struct deque *dq)
{
    int64_t t = atomic_load_explicit(&dq->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&dq->bottom, memory_order_seq_cst);
    return t >= b;
}
