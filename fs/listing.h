/*
 * listing.h: the management API's lists: `connectorfs --list` and
 * `--list-available` as tables, and the app's active connectors for the root
 * folder when a management credential is configured.
 */
#ifndef CFS_LISTING_H
#define CFS_LISTING_H

#include "base44.h"

struct listing;

/* Print one list as a table on stdout; returns the exit status (0 or 1). */
int listing_print(struct base44_client *api, const char *api_key,
    enum base44_list_kind kind);

/* The root's cached list of active connectors, refreshed at most every min_age_s. */
struct listing *listing_new(struct base44_client *api, const char *api_key,
    unsigned min_age_s);
void listing_free(struct listing **l);

/*
 * Call fn for each active connector (a request when the cache is older
 * than min_age_s; on failure the last list is used and one line logged).
 */
void listing_foreach_active(struct listing *l, void (*fn)(const char *name, void *arg),
    void *arg);

#endif
