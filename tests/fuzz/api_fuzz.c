/*
 * api_fuzz.c - a libFuzzer harness over sequences of weft's public calls:
 * every call must return one of the codes its header documents, and after
 * every input the runtime must be quiet again (no fiber live, no fd open
 * that was not open before, every channel freed, weft_shutdown() clean).
 *
 * The input is a program for a small interpreter. Its state is a table of a
 * few slots: fibers (handles, joinable, detached, joined), channels (live,
 * closed, freed; nil while unmade), fds (a pipe, a socketpair, a regular
 * file, /dev/null, and the numbers -1, INT_MAX, 1<<20 and a number checked
 * to be closed), one mutex, rmutex, semaphore and event, two callback timers
 * and a group. Each op is one byte (the op, modulo their number) followed
 * by the bytes of its arguments; a byte past the end of the input reads as
 * 0, and a program stops after MAX_OPS ops. Arguments are drawn from lists
 * of the interesting values: stack sizes 0, MIN-1, MIN, MIN+1, DEFAULT,
 * MAX, MAX+1, SIZE_MAX or a fuzzed one; element sizes 0..65535, 65536,
 * SIZE_MAX; capacities 0..WEFT_CHAN_CAP_MAX, 2^31, SIZE_MAX; fd numbers as
 * above; garbage handles (any 64 bits, a live one excepted).
 *
 * Deadlines are drawn from: 0, a past time, now + up to 1 ms, WEFT_FOREVER,
 * INT64_MAX (a valid deadline that never comes: weft_deadline_after()
 * saturates there), another negative, INT64_MIN. A call that could then
 * block without end is never made straight from the interpreter: it runs
 * in a "probe", a child fiber that the interpreter cancels a moment later
 * and joins, so every input ends in bounded time. Children spawned by the
 * program (they make one call each: a channel send or receive, a lock, a
 * wait, a read, a sleep...) may block for ever too: cleanup cancels them.
 * Nothing else blocks without a deadline: joins only of fibers that end on
 * their own or were cancelled, timer waits only of timers that fire soon,
 * group waits after a group cancel.
 *
 * The interpreter runs in two places in turn: in a root fiber, spawned and
 * joined by the calling (plain) thread, and on that plain thread itself;
 * the SWITCH op ends one stretch and starts the other, so every call is
 * made both from a fiber and from a plain thread.
 *
 * The oracle. Each call's result is classified (0, positive, or which
 * -Exxx) and must be in a mask built from its header's Return: line and
 * from what the interpreter knows: -EINVAL exactly when an argument is
 * out of range (with -EBADF also allowed when the handle is stale too),
 * -EBADF exactly for a freed channel or a closed or invalid fd, -ESRCH for
 * a joined or detached fiber, -ECANCELED only in a fiber that may be
 * cancelled, -ETIMEDOUT only with a finite deadline, -EPIPE for a send on a
 * closed channel, 0 at once for a wait on a set event, -ENOTSUP for a
 * regular file. Anything else prints the op, its arguments and the code
 * and abort()s, which libFuzzer records as a crash.
 *
 * After each input, cleanup (on the plain thread) cancels every fiber the
 * input spawned and the group, joins the joinable fibers, stops the
 * timers, waits (bounded: 2 s, else a failure) until weft_stats'
 * fibers_live is back to 0 - every fiber spawned in the input joined or
 * ended - then waits for and destroys the group, frees every channel (0,
 * or -EBADF for one already freed), closes the fds, and checks that the
 * number of entries in /proc/self/fd is what it was before the input.
 * With WEFT_FUZZ_RESTART set (replay_main.c sets it) each input also
 * starts its own runtime and weft_shutdown() must then return 0: nothing
 * abandoned, no channel left unfreed. Without it (the libFuzzer build)
 * one runtime of 2 workers lives across inputs: a restart costs about
 * 10 ms (worker threads, hwloc), which would cut the fuzzer's rate about
 * eightfold. ASan's LeakSanitizer looks for leaks (libFuzzer after inputs
 * that allocated more than they freed, the replay at exit).
 *
 * Rules the harness keeps so that only weft can fail: a sync object or the
 * group (caller memory) is re-made or destroyed only when no child can be
 * using it (channels are handles: freeing one under a child is fair game); children never join (a
 * join is not a cancellation point); a garbage handle has a generation no live handle has; an fd
 * the table has closed is replaced by a number checked to be closed (CLOSED_FD), never reused;
 * SIGPIPE is ignored, so a write to a pipe without reader gives -EPIPE.
 *
 * Kept out: allocations too big for a sanitizer's allocator (a channel
 * buffer is at most 4 MiB: bigger valid requests are shrunk, invalid ones
 * go through), fiber-local keys (never freed, WEFT_KEYS_MAX per process),
 * weft_init/weft_main arguments, signals and offload.
 *
 * Files. This one is the driver: the op dispatch (interpret), the root
 * fiber, cleanup and the per-input checks, and the libFuzzer entry points.
 * fuzz.h has what the others share: the state, the input reader (u8..u64),
 * CHECK and INVARIANT. oracle.c classifies a result and reports a failure;
 * args.c decodes the arguments several families share (deadline, fd,
 * stack size, a whole call); call.c makes a call that may block, inline,
 * in a child or in a probe. One file per family of ops: op_fiber.c (spawn,
 * join, detach, cancel, garbage handles, self), op_chan.c (channels and
 * select), op_sync.c (mutex, rmutex, semaphore, event), op_io.c (fds),
 * op_timer.c and op_group.c. replay_main.c runs files through it without
 * libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool restart; /* WEFT_FUZZ_RESTART: a fresh runtime per input */
static bool started;

/* Run ops until a SWITCH or the end; true if a SWITCH ended it. */
static bool interpret(struct ex *x)
{
    struct fz *z = x->z;
    while (z->pos < z->n && z->ops < MAX_OPS) {
        z->ops++;
        uint8_t op = u8(z), sub = u8(z);
        switch (op % 12) {
        case 0:
            fz_op_spawn(x);
            break;
        case 1:
        case 2:
            fz_op_fiber(x, sub);
            break;
        case 3:
        case 4:
            fz_op_chan(x, sub);
            break;
        case 5:
            fz_op_sync(x, sub);
            break;
        case 6:
            fz_op_io(x, sub);
            break;
        case 7:
            fz_op_timer(x, sub);
            break;
        case 8:
            fz_op_group(x, sub);
            break;
        case 9: { /* a bare call, inline or probed */
            struct call c;
            fz_decode_call(z, &c, sub);
            fz_call_here(x, &c);
            break;
        }
        case 10: { /* sleep_until with any deadline */
            struct call c;
            fz_decode_call(z, &c, K_SLEEP);
            fz_call_here(x, &c);
            break;
        }
        default:
            return true;
        }
    }
    return false;
}

static void *root_main(void *arg)
{
    struct fz *z = arg;
    struct ex x = {.z = z, .fiber = true, .rbuf = z->rbuf};
    z->root = weft_self();
    bool sw = interpret(&x);
    z->root = (weft_fiber){0};
    return sw ? arg : NULL;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    INVARIANT(d, "opendir /proc/self/fd");
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void start(void)
{
    int r = weft_init(&(weft_config){.workers = 2, .pin = WEFT_PIN_OFF});
    INVARIANT(r == 0, "weft_init: %d", r);
}

/* Everything the input left: cancel, join, stop, free, close; then check. */
static void cleanup(struct fz *z)
{
    struct ex x = {.z = z, .rbuf = z->rbuf, .op = "cleanup"};
    for (int i = 0; i < z->nall; i++)
        CHECK(&x, M(ZERO) | M(ESRCH), weft_cancel(z->all[i]));
    if (!z->g_destroyed)
        CHECK(&x, M(ZERO), weft_group_cancel(&z->g));
    for (int i = 0; i < z->nall; i++)
        if (z->all_joinable[i])
            CHECK(&x, M(ZERO) | M(ENOMEM), weft_join(z->all[i], NULL));
    for (int i = 0; i < NTIMER; i++)
        CHECK(&x, M(ZERO) | M(EALREADY) | M(ESRCH), weft_timer_stop(&z->tm[i]));
    /* Every fiber spawned in this input has been joined or ends now
     * (detached ones and group members were cancelled): the runtime's
     * count says when. Only then may the group go: a child may be about
     * to wait on it. */
    for (int spin = 0;; spin++) {
        struct weft_stats st;
        CHECK(&x, M(ZERO), weft_stats(&st, sizeof st));
        if (st.fibers_live == 0)
            break;
        INVARIANT(spin < 20000, "%lld fibers live after cleanup", (long long)st.fibers_live);
        weft_sleep(100000);
    }
    /* fibers_live is read relaxed: what orders each child's last touch of
     * *z before the next input's memset is its release decrement of
     * kind_live (the last thing fz_child_main does), read here with acquire.
     * A child that never ran (no stack) never decrements; it touched nothing. */
    for (int k = 0; k < NKIND; k++)
        (void)atomic_load_explicit(&z->kind_live[k], memory_order_acquire);
    if (!z->g_destroyed) {
        CHECK(&x, M(ZERO) | GROUP_CODES, weft_group_wait(&z->g));
        CHECK(&x, M(ZERO), weft_group_destroy(&z->g));
    }
    for (int i = 0; i < NCH; i++)
        if (z->ch[i].st != C_NIL)
            fz_chan_remember(z, z->ch[i].h);
    for (int i = 0; i < z->nallch; i++) {
        /* A select woken elsewhere leaves a moment later: -EBUSY, retry. */
        long long r;
        for (int spin = 0;
             (r = CHECK(&x, M(ZERO) | M(EBADF) | M(EBUSY), weft_chan_free(z->allch[i]))) == -EBUSY;
             spin++) {
            INVARIANT(spin < 20000, "channel %d still busy", i);
            weft_sleep(100000);
        }
    }
    for (int i = 0; i < 5; i++)
        if (z->fd[i] >= 0)
            CHECK(&x, M(ZERO), weft_close(z->fd[i]));
    if (z->nulldev >= 0)
        CHECK(&x, M(ZERO), weft_close(z->nulldev));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* writes to a pipe with no reader: -EPIPE */
    INVARIANT(fcntl(CLOSED_FD, F_GETFD) == -1, "fd %d is open", CLOSED_FD);
    const char *e = getenv("WEFT_FUZZ_RESTART");
    restart = e && *e && *e != '0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz zz;
    struct fz *z = &zz;
    if (!started) {
        start();
        started = true;
    }
    int fds_before = count_fds();
    memset(z, 0, sizeof *z);
    z->p = data;
    z->n = size;
    for (int i = 0; i < 5; i++)
        z->fd[i] = -1;
    INVARIANT(fz_open_pipes(z, 0) == 0 && fz_open_pipes(z, 2) == 0 && fz_open_pipes(z, 4) == 0 &&
                  z->fd[4] >= 0,
              "pipes");
    z->nulldev = open("/dev/null", O_RDWR | O_CLOEXEC);
    INVARIANT(z->nulldev >= 0, "/dev/null");
    struct ex x = {.z = z, .rbuf = z->rbuf};
    bool in_fiber = size > 0 && (data[0] & 1);
    while (z->pos < z->n && z->ops < MAX_OPS) {
        if (in_fiber) {
            weft_fiber h;
            set_op(&x, "root", 0, 0, 0, 0);
            CHECK(&x, M(ZERO), weft_spawn(&h, root_main, z, NULL));
            void *res;
            CHECK(&x, M(ZERO), weft_join(h, &res));
            z->root_cancelled = false;
        } else {
            interpret(&x);
        }
        in_fiber = !in_fiber;
    }
    cleanup(z);
    int fds_after = count_fds();
    INVARIANT(fds_after == fds_before, "fds: %d before the input, %d after", fds_before, fds_after);
    if (restart) {
        int r = weft_shutdown();
        INVARIANT(r == 0, "weft_shutdown after the input: %d", r);
        started = false;
    }
    return 0;
}
