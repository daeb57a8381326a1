/*
 * monitor.h - the runtime's one background thread (Go's sysmon, in small):
 * schedtrace lines, the stall detector and the SIGQUIT dump. It starts only
 * if one of them is on (WEFT_DEBUG), and never touches a fiber.
 */
#ifndef WT_MONITOR_H
#define WT_MONITOR_H

struct runtime;

/* Start the monitor if @rt's config asks for it. Returns 0 or -errno. */
int wt_monitor_start(struct runtime *rt);
/* Stop it (no-op if not started); before the workers are freed. */
void wt_monitor_stop(struct runtime *rt);
/* Start it now if it is not running (weft_trace_start: the trace needs
 * its flushes). Returns 0 or -errno. */
int wt_monitor_ensure(struct runtime *rt);

#endif /* WT_MONITOR_H */
