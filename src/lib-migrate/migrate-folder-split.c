/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "migrate-snapshot.h"
#include "migrate-folder-split.h"

struct migrate_folder_group {
	/* the index of the group's top folder in the snapshot */
	unsigned int top;
	uint64_t cost;
	unsigned int worker;
};

static uint64_t migrate_folder_cost(const struct migrate_snapshot_box *box)
{
	return box->vsize +
		(uint64_t)box->messages * MIGRATE_FOLDER_SPLIT_MESSAGE_COST;
}

/* The index of the outermost folder of boxes that name is inside of (or
   name's own index i if none). */
static unsigned int
migrate_folder_top(const struct migrate_snapshot_box *boxes,
		   unsigned int count, unsigned int i, const char *seps)
{
	const char *name = boxes[i].name;
	unsigned int j, top = i;
	size_t len, top_len = strlen(name);

	for (j = 0; j < count; j++) {
		len = strlen(boxes[j].name);
		if (j == i || len >= top_len ||
		    strcasecmp(boxes[j].name, "INBOX") == 0)
			continue;
		if (strncmp(name, boxes[j].name, len) == 0 &&
		    name[len] != '\0' && strchr(seps, name[len]) != NULL) {
			top = j;
			top_len = len;
		}
	}
	return top;
}

static int
migrate_folder_group_cmp(const struct migrate_folder_group *g1,
			 const struct migrate_folder_group *g2)
{
	/* the largest first; equal ones in the snapshot's order */
	if (g1->cost != g2->cost)
		return g1->cost > g2->cost ? -1 : 1;
	return g1->top < g2->top ? -1 : (g1->top > g2->top ? 1 : 0);
}

unsigned int migrate_folder_split(const struct migrate_snapshot *source,
				  const char *seps, unsigned int max_workers,
				  unsigned int *workers_r)
{
	const struct migrate_snapshot_box *boxes;
	ARRAY(struct migrate_folder_group) groups;
	struct migrate_folder_group *group;
	unsigned int i, w, count, *tops, n, least;
	uint64_t *load;

	boxes = array_get(&source->boxes, &count);
	if (count == 0)
		return 1;
	if (max_workers == 0)
		max_workers = 1;

	/* the folders of one hierarchy form a group */
	tops = t_new(unsigned int, count);
	t_array_init(&groups, count);
	for (i = 0; i < count; i++) {
		tops[i] = migrate_folder_top(boxes, count, i, seps);
		if (tops[i] == i) {
			group = array_append_space(&groups);
			group->top = i;
		}
	}
	for (i = 0; i < count; i++) {
		array_foreach_modifiable(&groups, group) {
			if (group->top == tops[i]) {
				group->cost += migrate_folder_cost(&boxes[i]);
				break;
			}
		}
	}
	array_sort(&groups, migrate_folder_group_cmp);

	/* the largest group to the least loaded worker */
	n = I_MIN(max_workers, array_count(&groups));
	load = t_new(uint64_t, n);
	array_foreach_modifiable(&groups, group) {
		least = 0;
		for (w = 1; w < n; w++) {
			if (load[w] < load[least])
				least = w;
		}
		group->worker = least;
		load[least] += group->cost;
	}
	for (i = 0; i < count; i++) {
		array_foreach_modifiable(&groups, group) {
			if (group->top == tops[i]) {
				workers_r[i] = group->worker;
				break;
			}
		}
	}
	return n;
}
