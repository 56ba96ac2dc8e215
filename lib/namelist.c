/*
 * namelist.c: see namelist.h. Doubling growth; names are fixed-size slots,
 * so sorting moves bytes and no pointer into the list is ever kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namelist.h"

void
name_list_add(struct name_list *l, const char *name)
{
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *grown = realloc(l->names, cap * sizeof(*l->names));

		if (grown == NULL) {
			l->oom = 1;
			return;
		}
		l->names = grown;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
}

static int
name_list_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
name_list_sort_unique(struct name_list *l)
{
	size_t i, out = 0;

	if (l->n < 2)
		return;
	qsort(l->names, l->n, sizeof(l->names[0]), name_list_cmp);
	for (i = 0; i < l->n; i++)
		if (out == 0 || strcmp(l->names[out - 1], l->names[i]) != 0)
			memmove(l->names[out++], l->names[i], sizeof(l->names[0]));
	l->n = out;
}

void
name_list_clear(struct name_list *l)
{
	free(l->names);
	memset(l, 0, sizeof(*l));
}
