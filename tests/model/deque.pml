/*
 * deque.pml - a Promela model of the Chase–Lev deque in runtime/deque.c:
 * the owner's push (wt_deque_push(), wt_deque_make_room() and grow(), copy
 * and pointer swap included) and pop (wt_deque_pop()), and steal
 * (wt_deque_steal()), run by the owner and by two thieves. It asserts that
 * every pushed item is taken exactly once, that a won CAS always yields an
 * item, and that the owner's cached top never passes the real one.
 *
 * Promela is sequentially consistent: this checks the algorithm under SC
 * only. That the C11 orderings give the same behaviour (release/acquire,
 * the seq_cst store/load pairs, no fences) rests on the argument at the
 * top of deque.c, on ThreadSanitizer and on tests/unit/deque_test.c.
 *
 * One statement is one atomic access of the C code; reads of variables that
 * only the running process writes (the owner's bottom, buf and top_cache)
 * are folded into neighbouring statements, as no interleaving can change
 * them. The first buffer has one slot, so that three items make the owner
 * grow twice (1 -> 2 -> 4); wt_deque_init() asks for at least two, which
 * the algorithm does not need. Buffers lie one after another in slot[],
 * and a retired buffer stays readable, as on deque.c's prev chain.
 *
 * Results (spin 6.5.2, pan -DSAFETY, this machine): the model as written,
 * 4,901,364 states, depth 494, no errors, about 5 s and 460 MB (less with
 * -DCOLLAPSE, as scripts/check-models.sh builds it); with NITEMS 4,
 * 55,130,512 states, no errors, 98 s and 2.6 GB with -DCOLLAPSE -w26.
 *
 * Planted bugs, one at a time (spin -DBUG_... -a deque.pml); spin reports
 * each ("errors: 1", with a trail to replay with spin -t -p):
 *   BUG_NO_LAST_CAS          pop takes the last item with a plain store to
 *                            top instead of the CAS; caught after 805
 *                            states: a thief takes it too (taken[x] == 0).
 *   BUG_STEAL_BOTTOM_FIRST   steal loads bottom before top; caught after
 *                            8,576 states: a thief takes an item that pop
 *                            took without a CAS (taken[x] == 0).
 *   BUG_PUBLISH_BEFORE_COPY  grow() swaps the pointer before copying; caught
 *                            after 5,928 states: a thief wins an index whose
 *                            slot is still empty (x != EMPTY).
 * scripts/check-models.sh checks only the correct model.
 */

#define NITEMS 3                            /* items 1..NITEMS; 0 is "empty" */
#define CAP0   1                            /* capacity of the first buffer */
#define NBUF   3                            /* capacities 1, 2, 4 */
#define NSLOTS 7                            /* CAP0 * (2^NBUF - 1) */
#define EMPTY  0
#define CAP(k)     (CAP0 << (k))
#define BASE(k)    (CAP0 * ((1 << (k)) - 1)) /* buffer k is slot[BASE(k) ..] */
#define SLOT(k, i) slot[BASE(k) + ((i) % CAP(k))]

byte top;                               /* CAS t -> t + 1 only */
byte bottom;                            /* written by the owner only */
byte buf;                               /* current buffer; the owner writes it */
byte slot[NSLOTS];                      /* all buffers, the retired ones too */
byte taken[NITEMS + 1];                 /* taken[v]: item v was taken */

/* Record that item x was taken, checking that it was not before. */
inline record(x)
{
    d_step {
        assert(x != EMPTY);
        assert(taken[x] == 0);
        taken[x] = 1;
        x = EMPTY
    }
}

/* wt_deque_steal(): x = the item, or EMPTY if the deque was seen empty. */
inline steal(x, t, b, a)
{
    do
    ::
#ifdef BUG_STEAL_BOTTOM_FIRST
        b = bottom;                     /* seq_cst load */
        t = top;                        /* seq_cst load */
#else
        t = top;                        /* seq_cst load */
        b = bottom;                     /* seq_cst load */
#endif
        if
        :: t >= b ->
            x = EMPTY;
            break
        :: else ->
            a = buf;                    /* acquire load */
            x = SLOT(a, t);             /* relaxed load */
            if
            :: atomic { top == t -> top = t + 1 };  /* CAS won */
                assert(x != EMPTY);
                break
            :: atomic { top != t -> skip }          /* CAS lost: retry */
            fi
        fi
    od;
    t = 0; b = 0; a = 0
}

/* wt_deque_push(), with wt_deque_make_room() and grow(). */
inline push(v)
{
    b = bottom; a = buf;                /* owner's own: relaxed */
    if
    :: b - tc >= CAP(a) ->
        d_step { t = top; tc = t };     /* acquire load */
        if
        :: b - t >= CAP(a) ->           /* grow(): copy [t, b), then swap */
            assert(a + 1 < NBUF);
#ifdef BUG_PUBLISH_BEFORE_COPY
            buf = a + 1;
#endif
            i = t;
            do
            :: i < b ->
                SLOT(a + 1, i) = SLOT(a, i);  /* relaxed load and store */
                i++
            :: else -> break
            od;
#ifndef BUG_PUBLISH_BEFORE_COPY
            buf = a + 1;                /* release store */
#endif
            a = a + 1; i = 0
        :: else
        fi
    :: else
    fi;
    SLOT(a, b) = v;                     /* relaxed store */
    bottom = b + 1;                     /* release store */
    b = 0; t = 0; a = 0
}

/* wt_deque_pop(): x = the item, or EMPTY. */
inline pop(x)
{
    b = bottom;                         /* owner's own: relaxed */
    if
    :: b <= tc ->                       /* empty by the cached top */
        x = EMPTY
    :: else ->
        b = b - 1; a = buf;
        bottom = b;                     /* seq_cst store */
        d_step { t = top; tc = t };     /* seq_cst load */
        if
        :: t < b ->
            x = SLOT(a, b)              /* relaxed load */
        :: t == b ->
            x = SLOT(a, b);             /* relaxed load */
#ifdef BUG_NO_LAST_CAS
            top = t + 1;
#else
            if
            :: atomic { top == t -> top = t + 1 }   /* CAS won */
            :: atomic { top != t -> x = EMPTY }     /* CAS lost */
            fi;
#endif
            tc = b + 1;
            bottom = b + 1              /* release store */
        :: t > b ->
            x = EMPTY;
            bottom = b + 1              /* release store */
        fi
    fi;
    assert(tc <= top);
    b = 0; t = 0; a = 0
}

proctype owner()
{
    byte n = 1, x, t, b, a, i, tc;

    /* Any mix of pushes, pops and steals from its own top ... */
    do
    :: n <= NITEMS -> push(n); n++
    :: pop(x);
        if
        :: x != EMPTY -> record(x)
        :: else
        fi
    :: steal(x, t, b, a);
        if
        :: x != EMPTY -> record(x)
        :: else
        fi
    :: break
    od;
    /* ... then push the rest and pop until empty. */
    do
    :: n <= NITEMS -> push(n); n++
    :: else -> break
    od;
    do
    :: pop(x);
        if
        :: x != EMPTY -> record(x)
        :: else -> break
        fi
    od
}

proctype thief()
{
    byte x, t, b, a;

    do
    :: steal(x, t, b, a);
        if
        :: x != EMPTY -> record(x)
        :: else
        fi
    :: break
    od
}

init
{
    byte v;

    atomic {
        run owner();
        run thief();
        run thief()
    };
    _nr_pr == 1;                        /* all three have finished */
    v = 1;
    do
    :: v <= NITEMS ->
        assert(taken[v] == 1);          /* none lost */
        v++
    :: else -> break
    od
}
