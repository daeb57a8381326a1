/*
 * global_queue.c - the locked FIFO of global_queue.h.
 */
#include "global_queue.h"
#include "fiber.h"

void wt_gq_push(struct global_queue *q, struct fiber *f)
{
    f->next = NULL;
    wt_spin_lock(&q->lock);
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    /* seq_cst: the store half of the Dekker pair with the idle recheck in
     * scheduler.c (push size, then load nidle / recheck size after nidle++). */
    atomic_fetch_add_explicit(&q->size, 1, memory_order_seq_cst);
    wt_spin_unlock(&q->lock);
}

struct fiber *wt_gq_pop(struct global_queue *q)
{
    if (wt_gq_is_empty(q))
        return NULL;
    wt_spin_lock(&q->lock);
    struct fiber *f = q->head;
    if (f) {
        q->head = f->next;
        if (!q->head)
            q->tail = NULL;
        atomic_fetch_sub_explicit(&q->size, 1, memory_order_seq_cst);
    }
    wt_spin_unlock(&q->lock);
    return f;
}
