/*
 * rss.c - the resident set, its peak and the peak's reset, from /proc
 * (rss.h).
 */
#include "rss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A "Key: N kB" line of /proc/self/status, in KiB, or -1. */
static long status_kb(const char *key)
{
    char line[128];
    long kb = -1;
    size_t klen = strlen(key);
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

long bench_rss_kb(void)
{
    return status_kb("VmRSS");
}

long bench_peak_rss_kb(void)
{
    return status_kb("VmHWM");
}

bool bench_reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}
