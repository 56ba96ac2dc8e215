/*
 * status.h: the daemon's own files, .connectorfs/status.json and
 * .connectorfs/metrics, rendered from the cache's counters. Never a value.
 */
#ifndef CFS_STATUS_H
#define CFS_STATUS_H

#include "buf.h"
#include "cache.h"

/* Who serves the mount, and since when. */
struct status_process {
	long long mount_wall_ms;	/* the mount was made */
	long long started_wall_ms;	/* the serving process started */
	long pid;			/* the process serving FUSE requests */
	long supervisor_pid;		/* the process holding the connection */
	unsigned long long takeovers;	/* servers that took over this mount */
};

/*
 * status.json: {"version", "uptime_seconds", "pid", "process_started_at",
 * "supervisor_pid", "takeovers", "connectors": {name: {...}}}.
 */
enum cfs_err status_render_json(struct cache *cache, const struct status_process *proc,
    long long now_wall_ms, struct buf *out);

/* Prometheus text format, every metric named connectorfs_... */
enum cfs_err status_render_metrics(struct cache *cache, const struct status_process *proc,
    long long now_wall_ms, struct buf *out);

#endif
