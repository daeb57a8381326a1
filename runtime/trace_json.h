/*
 * trace_json.h - writing the timeline trace's file (trace_json.c) for
 * trace.c, which holds its lock around every call: one file at a time.
 */
#ifndef WT_TRACE_JSON_H
#define WT_TRACE_JSON_H

#include <stdbool.h>
#include <stdint.h>

struct trace_ring;

/* Create @path and write the head of the JSON for @n workers' @rings;
 * the trace's time 0 is now. Returns 0, -ENOMEM or -errno of the create. */
int wt_trace_json_open(const char *path, struct trace_ring *rings, int n);

/* Worker @worker runs fiber @id (@name, or NULL) since time 0. */
void wt_trace_json_running(int worker, uint64_t id, const char *name);

/* Write out the events older than a millisecond (the monitor's flush). */
void wt_trace_json_flush(void);

/* Write out everything, end the JSON, close the file. Returns 0, or -EIO
 * if any write failed (the file is closed all the same). */
int wt_trace_json_close(void);

#endif /* WT_TRACE_JSON_H */
