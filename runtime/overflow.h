/*
 * overflow.h - a fiber that overflows its stack dies with a message naming
 * it: a SIGSEGV/SIGBUS handler, on an alternate signal stack per worker,
 * recognises a fault in the running fiber's guard page; canary mode reports
 * from the switch.
 */
#ifndef WT_OVERFLOW_H
#define WT_OVERFLOW_H

struct fiber;

/* Install the fault handlers (keeping the previous ones to chain to);
 * returns 0 or -EINVAL. / Put the previous ones back. */
int wt_overflow_install(void);
void wt_overflow_uninstall(void);

/* Give the calling thread an alternate signal stack; returns it, or NULL. */
void *wt_overflow_altstack_enable(void);
void wt_overflow_altstack_disable(void *altstack);

/* Print "weft: fiber ... overflowed its stack: @how" and abort. */
_Noreturn void wt_overflow_report(struct fiber *f, const char *how);

#endif /* WT_OVERFLOW_H */
