/*
 * tests/kqueue/sys/event.h - FreeBSD's kqueue API as its kqueue(2) page and
 * <sys/event.h> (FreeBSD 12 and later) declare it, so that
 * runtime/netpoll_kqueue.c can be compiled on Linux for a syntax and type
 * check (scripts/check-kqueue.sh). Declarations only: nothing links against
 * it and nothing runs. Only what netpoll_kqueue.c may use is here; a name it
 * uses that FreeBSD lacks fails the check.
 */
#ifndef WEFT_TEST_SYS_EVENT_H
#define WEFT_TEST_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
    uintptr_t ident;      /* identifier for this event */
    short filter;         /* filter for event */
    unsigned short flags; /* action flags for kqueue */
    unsigned int fflags;  /* filter flag value */
    int64_t data;         /* filter data value */
    void *udata;          /* opaque user data identifier */
    uint64_t ext[4];      /* extensions */
};

#define EV_SET(kevp_, a, b, c, d, e, f) \
    do {                                \
        struct kevent *kevp = (kevp_);  \
        (kevp)->ident = (a);            \
        (kevp)->filter = (b);           \
        (kevp)->flags = (c);            \
        (kevp)->fflags = (d);           \
        (kevp)->data = (e);             \
        (kevp)->udata = (f);            \
        (kevp)->ext[0] = 0;             \
        (kevp)->ext[1] = 0;             \
        (kevp)->ext[2] = 0;             \
        (kevp)->ext[3] = 0;             \
    } while (0)

#define EVFILT_READ  (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER  (-11)

#define EV_ADD      0x0001
#define EV_DELETE   0x0002
#define EV_ENABLE   0x0004
#define EV_DISABLE  0x0008
#define EV_ONESHOT  0x0010
#define EV_CLEAR    0x0020
#define EV_RECEIPT  0x0040
#define EV_DISPATCH 0x0080
#define EV_ERROR    0x4000
#define EV_EOF      0x8000

#define NOTE_FFNOP   0x00000000
#define NOTE_TRIGGER 0x01000000

int kqueue(void);
int kqueuex(unsigned flags);
#define KQUEUE_CLOEXEC 0x00000001
int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout);

#endif /* WEFT_TEST_SYS_EVENT_H */
