/*
 * fls.h - fiber-local storage: WEFT_KEYS_MAX process-wide keys, each fiber's
 * values in a small array at the top of its stack, zeroed on first use.
 */
#ifndef WT_FLS_H
#define WT_FLS_H

struct fiber;

/* Run the destructors of @f's non-NULL values (at most 4 rounds, as
 * PTHREAD_DESTRUCTOR_ITERATIONS). Runs on @f's own stack, before it exits. */
void wt_fls_run_destructors(struct fiber *f);

#endif /* WT_FLS_H */
