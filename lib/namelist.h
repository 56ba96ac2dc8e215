/*
 * namelist.h: a growable list of connector names (after git's
 * string-list.h): collected under one lock, used after it is released.
 * Names longer than a connector name are cut; a failed growth is
 * remembered in oom and later adds are dropped, so the caller checks once.
 */
#ifndef CFS_NAMELIST_H
#define CFS_NAMELIST_H

#include <stddef.h>

#include "names.h"

struct name_list {
	char (*names)[NAME_CONNECTION_MAX + 1];
	size_t n, cap;
	int oom;
};

#define NAME_LIST_INIT { NULL, 0, 0, 0 }

void name_list_add(struct name_list *l, const char *name);

/* Sort by strcmp() and drop duplicates. */
void name_list_sort_unique(struct name_list *l);

/* Free the names; the list is empty and usable again. */
void name_list_clear(struct name_list *l);

#endif
