/*
 * weft/group.h - structured concurrency: groups of fibers waited for,
 * collected and cancelled together (Go's errgroup, asyncio's gather/wait/
 * cancel, concurrent.futures), and a parallel map on top. Included by
 * <weft.h>; include that.
 */
#ifndef WEFT_GROUP_H
#define WEFT_GROUP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * weft_group - fibers spawned, waited for and cancelled as one.
 *
 * Lives in caller memory; all-zero (WEFT_GROUP_INIT) is an empty group
 * with no flags. Every member must have ended (weft_group_wait() returned,
 * or weft_group_wait_any() reported each) before weft_group_destroy(); a
 * group destroyed with members running is refused with -EBUSY, never
 * freed under them.
 */
typedef struct weft_group {
    uint64_t opaque_[10];
} weft_group;

#define WEFT_GROUP_INIT \
    {                   \
        {               \
            0           \
        }               \
    }

/** A task: returns 0 or a negative errno code (the group's "error"). */
typedef int (*weft_task_fn)(void *arg);

/** weft_group_init() flag: the first member to fail cancels the others. */
#define WEFT_GROUP_CANCEL_ON_ERROR 1u

/**
 * weft_group_init - make @g an empty group.
 * @flags: 0 or WEFT_GROUP_CANCEL_ON_ERROR.
 *
 * Return: 0; -EINVAL if @g is NULL or @flags has an unknown bit.
 * Context: any thread.
 */
WEFT_API int weft_group_init(weft_group *g, unsigned flags);

/**
 * weft_group_go - spawn a member of @g running @fn(@arg).
 * @attr: as for weft_spawn(), except that `detached` is ignored (the group
 *        reaps its members); NULL for defaults.
 *
 * A member spawned into a cancelled group starts cancelled: weft_cancelled()
 * is true in it and its blocking calls fail with -ECANCELED. A member whose
 * stack cannot be mapped when it would first run ends without running, with
 * -ENOMEM as its code.
 *
 * Return: the member's index (0, 1, ... in spawn order) on success, as
 * weft_group_wait_any() reports it; -EINVAL if @g or @fn is NULL or @attr
 * is invalid (see weft_spawn()); -ENOMEM; -ECANCELED if the runtime is not
 * running; -EOVERFLOW past INT32_MAX members.
 * Context: any thread.
 */
WEFT_API int weft_group_go(weft_group *g, weft_task_fn fn, void *arg, const weft_fiber_attr *attr);

/**
 * weft_group_wait - wait until every member of @g has ended.
 *
 * Return: 0 if every member returned 0, else the first nonzero code a
 * member returned (in the order they ended); -ETIMEDOUT (the _until form)
 * or -ECANCELED (the caller was cancelled) with members still running;
 * -ENOMEM (the _until form, in a fiber) if no timer could be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_group_wait(weft_group *g);
WEFT_API int weft_group_wait_until(weft_group *g, int64_t deadline);

/**
 * weft_group_wait_any - wait for the next member of @g to end and report it.
 * @index: receives its index (as weft_group_go() returned), or NULL.
 * @err:   receives its return code, or NULL.
 * @deadline: absolute monotonic ns, or WEFT_FOREVER.
 *
 * Each member is reported once, in the order they ended. Members reported
 * here are not counted again by weft_group_wait()'s first error.
 *
 * Return: 0; -ECHILD if no member is left to report; -ETIMEDOUT;
 * -ECANCELED if the caller was cancelled; -EINVAL if @g is NULL or
 * @deadline is negative and not WEFT_FOREVER; -ENOMEM if no timer could
 * be set.
 * Context: any thread. May park.
 */
WEFT_API int weft_group_wait_any(weft_group *g, int *index, int *err, int64_t deadline);

/**
 * weft_group_cancel - cancel every running member of @g (weft_cancel) and
 * every member spawned into it from now on.
 *
 * Return: 0; -EINVAL if @g is NULL.
 * Context: any thread.
 */
WEFT_API int weft_group_cancel(weft_group *g);

/**
 * weft_group_running - how many members of @g have not ended yet.
 *
 * Return: the count; -EINVAL if @g is NULL.
 * Context: any thread.
 */
WEFT_API int weft_group_running(weft_group *g);

/**
 * weft_group_destroy - release what @g holds (unreported results).
 *
 * Return: 0; -EBUSY if members are still running or someone waits on @g
 * (nothing is released: wait, then destroy); -EINVAL if @g is NULL.
 * Context: any thread.
 */
WEFT_API int weft_group_destroy(weft_group *g);

/**
 * weft_map - run @fn(element, @arg) on each of the @n elements of @size
 * bytes at @base, in parallel across the workers, and wait for all.
 *
 * The array is cut into chunks (about eight per worker) run as members of
 * one group; within a chunk elements go in order. The first element to
 * fail cancels the rest: chunks stop at their next element.
 *
 * Return: 0; the first nonzero code @fn returned; -EINVAL if @fn is NULL,
 * @size is 0 or @base is NULL with @n > 0; -ENOMEM; -ECANCELED if the
 * caller was cancelled (the chunks are cancelled and waited for first).
 * Context: any thread. May park.
 */
WEFT_API int weft_map(void *base, size_t n, size_t size, int (*fn)(void *elem, void *arg),
                      void *arg);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_GROUP_H */
