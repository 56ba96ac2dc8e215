/*
 * dac.c: owner, group and other bits and the DAC capabilities as
 * generic_permission() and capable_wrt_inode_uidgid() in the kernel's
 * fs/namei.c apply them (without ACLs), and the status-file parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dac.h"

/* The rwx bits of mode at shift (6 owner, 3 group, 0 other) grant all of mask. */
static int
dac_bits_allow(mode_t mode, int shift, int mask)
{
	int bits = (int)(mode >> shift) & 7;
	int want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);

	return (bits & want) == want;
}

static int
dac_in_groups(const struct dac_caller *who, gid_t group)
{
	size_t i;

	if (who->gid == group)
		return 1;
	for (i = 0; i < who->ngroups; i++)
		if (who->groups[i] == group)
			return 1;
	return 0;
}

int
dac_allows(const struct dac_caller *who, uid_t owner, gid_t group, mode_t mode, int mask)
{
	int shift = who->uid == owner ? 6 : dac_in_groups(who, group) ? 3 : 0;

	if (dac_bits_allow(mode, shift, mask))
		return 1;
	if (S_ISDIR(mode)) {
		if (!(mask & W_OK) && (who->caps & DAC_CAP_READ_SEARCH))
			return 1;
		return (who->caps & DAC_CAP_OVERRIDE) != 0;
	}
	if ((!(mask & X_OK) || (mode & (S_IXUSR | S_IXGRP | S_IXOTH))) &&
	    (who->caps & DAC_CAP_OVERRIDE))
		return 1;
	return mask == R_OK && (who->caps & DAC_CAP_READ_SEARCH) != 0;
}

/* The text after "\nName:" (or at the start), up to its line's end; NULL if absent. */
static const char *
dac_field(const char *text, size_t len, const char *name, size_t *flen)
{
	size_t nlen = strlen(name), i = 0;

	while (i < len) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - i;

		if (llen > nlen && memcmp(line, name, nlen) == 0 && line[nlen] == ':') {
			*flen = llen - nlen - 1;
			return line + nlen + 1;
		}
		i += llen + 1;
	}
	return NULL;
}

/* The n-th (from 0) unsigned number of a field, in base; -1 when there is none. */
static int
dac_number(const char *p, size_t len, int n, int base, unsigned long long *out)
{
	char buf[160], *s, *end;
	int i;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	s = buf;
	for (i = 0; i <= n; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '-')
			return -1;
		*out = strtoull(s, &end, base);
		if (end == s || (*end != '\0' && *end != ' ' && *end != '\t'))
			return -1;
		s = end;
	}
	return 0;
}

int
dac_parse_status(const char *text, size_t len, struct dac_caller *who)
{
	unsigned long long uid, gid, caps;
	const char *p, *q, *end;
	size_t flen, count = 0;
	char *stop;

	who->groups = NULL;
	who->ngroups = 0;
	who->caps = 0;
	if ((p = dac_field(text, len, "Uid", &flen)) == NULL || dac_number(p, flen, 3, 10, &uid))
		return -1;
	if ((p = dac_field(text, len, "Gid", &flen)) == NULL || dac_number(p, flen, 3, 10, &gid))
		return -1;
	if ((p = dac_field(text, len, "CapEff", &flen)) == NULL ||
	    dac_number(p, flen, 0, 16, &caps))
		return -1;
	if ((p = dac_field(text, len, "Groups", &flen)) == NULL)
		return -1;
	end = p + flen;
	/* Digits and blanks only; then one number per run of digits. */
	for (q = p; q < end; q++) {
		if (*q >= '0' && *q <= '9') {
			if (q == p || q[-1] == ' ' || q[-1] == '\t')
				count++;
		} else if (*q != ' ' && *q != '\t') {
			return -1;
		}
	}
	if (count > 0 && (who->groups = calloc(count, sizeof(*who->groups))) == NULL)
		return -1;
	for (q = p; q < end && who->ngroups < count; q = stop) {
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= end)
			break;
		who->groups[who->ngroups++] = (gid_t)strtoull(q, &stop, 10);
	}
	who->uid = (uid_t)uid;
	who->gid = (gid_t)gid;
	who->caps = caps;
	return 0;
}

void
dac_caller_release(struct dac_caller *who)
{
	free(who->groups);
	who->groups = NULL;
	who->ngroups = 0;
}

int
dac_uid_map_is_initial(const char *text, size_t len)
{
	unsigned long long inside, outside, count;
	char buf[256], rest;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, text, len);
	buf[len] = '\0';
	/* Exactly one line; a second mapping (or anything after) is not the initial map. */
	if (sscanf(buf, " %llu %llu %llu %c", &inside, &outside, &count, &rest) != 3)
		return 0;
	return inside == 0 && outside == 0 && count == 4294967295ull;
}
