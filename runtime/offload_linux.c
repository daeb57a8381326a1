/*
 * offload_linux.c - the platform part of the offload pool (offload.h): pool
 * threads run on the CPUs weft_init's caller may use, not on the core of
 * the worker whose fiber happened to start them.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include "offload.h"

/* Written by weft_init's thread before the workers start; read by fibers
 * afterwards (ordered by the workers' pthread_create). */
static cpu_set_t cpus;
static bool have_cpus;

void wt_offload_os_init(void)
{
    int saved = errno;
    /* Fails with EINVAL past CPU_SETSIZE CPUs: pool threads then inherit. */
    have_cpus = sched_getaffinity(0, sizeof cpus, &cpus) == 0;
    errno = saved;
}

void wt_offload_os_attr(pthread_attr_t *attr)
{
    if (have_cpus)
        (void)pthread_attr_setaffinity_np(attr, sizeof cpus, &cpus);
}
