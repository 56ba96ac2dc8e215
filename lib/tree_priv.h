/*
 * tree_priv.h: the tree's insides, shared by tree.c (nodes and names) and
 * tree_state.c (carrying them to the next server). Nothing else includes it.
 */
#ifndef CFS_TREE_PRIV_H
#define CFS_TREE_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "table.h"
#include "tree.h"

struct handover;

struct tree {
	pthread_mutex_t lock;
	struct table inodes;		/* struct tree_node by inode number */
	uint64_t next_ino;
	struct table connectors;	/* struct tree_connector by name */
	struct handover *state;		/* kept here; NULL until tree_keep_state() */
	int state_failed;		/* the state is full: stopped keeping it */
	int state_filling;		/* compacting: an append may not compact again */
};

/* tree.c, lock held: */
struct tree_node *tree_add_node_ino(struct tree *t, enum node_kind kind,
    struct tree_connector *conn, uint64_t ino);
struct tree_node *tree_find_ino_locked(struct tree *t, uint64_t ino);
struct tree_connector *tree_find_locked(struct tree *t, const char *name);
/* The connector, made with these folder inodes (0: new numbers) if new. */
struct tree_connector *tree_connector_locked(struct tree *t, const char *name,
    uint64_t dir_ino, uint64_t config_ino);
void tree_connector_destroy(struct tree_connector *c);
/* Where the current node of (kind, key) is kept; NULL when no room. */
struct tree_node **tree_slot_locked(struct tree_connector *c, enum node_kind kind,
    const char *key);
/* On the connector's list of live file nodes. */
void tree_link_file_locked(struct tree_connector *c, struct tree_node *n);
void tree_node_destroy(struct tree_node *n);

/* tree_state.c, lock held; each does nothing until tree_keep_state(). */
void tree_state_next_ino(struct tree *t);
void tree_state_connector(struct tree *t, struct tree_connector *c);
void tree_state_connector_update(struct tree *t, struct tree_connector *c);
void tree_state_node_new(struct tree *t, struct tree_node *n);
void tree_state_node_update(struct tree *t, struct tree_node *n);
void tree_state_node_drop(struct tree *t, struct tree_node *n);

#endif
