/*
 * status.h: the daemon's own files, .connectorfs/status.json and
 * .connectorfs/metrics, rendered from the cache's counters. Never a value.
 */
#ifndef CFS_STATUS_H
#define CFS_STATUS_H

#include "buf.h"
#include "cache.h"

/* status.json: {"version", "uptime_seconds", "connectors": {name: {...}}}. */
enum cfs_err status_render_json(struct cache *cache, long long start_wall_ms,
    long long now_wall_ms, struct buf *out);

/* Prometheus text format, every metric named connectorfs_... */
enum cfs_err status_render_metrics(struct cache *cache, long long start_wall_ms,
    long long now_wall_ms, struct buf *out);

#endif
