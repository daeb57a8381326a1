/*
 * hostport.h - split "HOST:PORT" (HOST may be "[v6]" or empty) into a
 * host and a port, for the examples' --listen/--connect and the benchmark
 * servers and load generator in bench/net. Header-only, not part of weft.
 */
#ifndef WEFT_EXAMPLES_HOSTPORT_H
#define WEFT_EXAMPLES_HOSTPORT_H

#include <stdbool.h>
#include <string.h>

/* Copy @spec's host into @host (@cap bytes, brackets stripped) and point
 * *@port at its port. False if there is no ':' or the host does not fit. */
static inline bool split_host_port(const char *spec, char *host, size_t cap, const char **port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= cap)
        return false;
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
        memcpy(host, spec + 1, n - 2);
        host[n - 2] = '\0';
    } else {
        memcpy(host, spec, n);
        host[n] = '\0';
    }
    *port = colon + 1;
    return true;
}

#endif /* WEFT_EXAMPLES_HOSTPORT_H */
