/*
 * soak_offload.c - the soak's offload lane: usleep(100) and pread of an
 * unlinked temp file through weft_offload(_until), every byte checked; now
 * and then the lane idles past the pool's 1 s so that its threads exit and
 * new ones start.
 */
#include "soak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OFFLOADERS = 6,
    OFFLOADS_PER = 16,
    FILE_BYTES = 65536,
    PREAD_MAX = 4096,
};

static unsigned char file_byte(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 9));
}

struct pread_job {
    int fd;
    size_t off, len;
    unsigned char *buf;
    atomic_int ran;
};

static void *do_pread(void *arg)
{
    struct pread_job *j = arg;
    atomic_store(&j->ran, 1);
    return (void *)(intptr_t)pread(j->fd, j->buf, j->len, (off_t)j->off);
}

static void *do_nap(void *arg)
{
    usleep(100);
    return (void *)((uintptr_t)arg + 1);
}

static void *do_fill(void *arg)
{
    int fd = *(int *)arg;
    unsigned char *b = malloc(FILE_BYTES);
    if (!b)
        return (void *)(intptr_t)-1;
    for (size_t i = 0; i < FILE_BYTES; i++)
        b[i] = file_byte(i);
    ssize_t w = pwrite(fd, b, FILE_BYTES, 0);
    free(b);
    return (void *)(intptr_t)w;
}

struct offloader {
    int fd;
    uint64_t rng;
};

static void *offloader_fiber(void *arg)
{
    struct offloader *o = arg;
    unsigned char buf[PREAD_MAX];
    for (int i = 0; i < OFFLOADS_PER; i++) {
        void *res = NULL;
        uint64_t kind = below(&o->rng, 3);
        ADD(offloads, 1);
        if (kind == 0) {
            uintptr_t x = (uintptr_t)splitmix(&o->rng) >> 8;
            FCHECK_RC(weft_offload(do_nap, (void *)x, &res), 0);
            FCHECK(res == (void *)(x + 1));
            ADD(offloads_ran, 1);
            continue;
        }
        struct pread_job j = {.fd = o->fd, .buf = buf};
        j.len = 1 + below(&o->rng, PREAD_MAX);
        j.off = below(&o->rng, FILE_BYTES - j.len + 1);
        int rc = kind == 1 ? weft_offload(do_pread, &j, &res)
                           : weft_offload_until(do_pread, &j, &res,
                                                weft_deadline_after(50 * 1000 * 1000));
        if (rc == -ETIMEDOUT) {
            /* Timed out waiting for a pool thread: the call never ran. */
            FCHECK(atomic_load(&j.ran) == 0);
            ADD(offloads_timedout, 1);
            continue;
        }
        if (rc != 0) {
            FAILF("offload: %s", weft_strerror(rc));
            continue;
        }
        ADD(offloads_ran, 1);
        FCHECK(atomic_load(&j.ran) == 1);
        if ((intptr_t)res != (intptr_t)j.len) {
            FAILF("pread returned %ld, want %zu", (long)(intptr_t)res, j.len);
            continue;
        }
        for (size_t b = 0; b < j.len; b++)
            if (buf[b] != file_byte(j.off + b)) {
                FAILF("pread: byte %zu of the file is wrong", j.off + b);
                break;
            }
        ADD(offload_bytes, (long)j.len);
    }
    return NULL;
}

void *offload_lane(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/weft-soak-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        FAILF("mkstemp %s: %s", path, strerror(errno));
        return NULL;
    }
    unlink(path);
    void *res = NULL;
    FCHECK_RC(weft_offload(do_fill, &fd, &res), 0);
    FCHECK((intptr_t)res == FILE_BYTES);
    for (long r = 0; r == 0 || !stopping(); r++) {
        weft_fiber fs[OFFLOADERS];
        struct offloader os[OFFLOADERS];
        for (int i = 0; i < OFFLOADERS; i++) {
            os[i] = (struct offloader){.fd = fd, .rng = splitmix(&rng)};
            FCHECK_RC(weft_spawn(&fs[i], offloader_fiber, &os[i], NULL), 0);
        }
        for (int i = 0; i < OFFLOADERS; i++)
            FCHECK_RC(weft_join(fs[i], NULL), 0);
        ADD(rounds[LANE_OFFLOAD], 1);
        pace(&rng);
        /* One round in 50, idle past the pool's 1 s so that its threads
         * exit and the next round starts new ones (thread churn). */
        if (below(&rng, 50) == 0)
            for (int i = 0; i < 12 && !stopping(); i++)
                FCHECK_RC(weft_sleep(100 * 1000 * 1000), 0);
    }
    close(fd);
    return NULL;
}
