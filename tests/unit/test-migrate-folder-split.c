/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "test-common.h"
#include "migrate-snapshot.h"
#include "migrate-folder-split.h"

static void
test_box(struct migrate_snapshot *snapshot, const char *name,
	 uint32_t messages, uint64_t vsize)
{
	struct migrate_snapshot_box *box;

	box = array_append_space(&snapshot->boxes);
	box->name = name;
	box->guid = "";
	box->messages = messages;
	box->vsize = vsize;
}

static uint64_t
test_load(const struct migrate_snapshot *snapshot, const unsigned int *workers,
	  unsigned int worker)
{
	const struct migrate_snapshot_box *box;
	uint64_t load = 0;

	array_foreach(&snapshot->boxes, box) {
		if (workers[array_foreach_idx(&snapshot->boxes, box)] == worker) {
			load += box->vsize + (uint64_t)box->messages *
				MIGRATE_FOLDER_SPLIT_MESSAGE_COST;
		}
	}
	return load;
}

static void test_migrate_folder_split_balance(void)
{
	struct migrate_snapshot snapshot;
	unsigned int workers[10], i, n, other0, other1;
	uint64_t load0, load1;

	test_begin("folder split: ten equal folders over two workers");
	t_array_init(&snapshot.boxes, 10);
	for (i = 0; i < 10; i++)
		test_box(&snapshot, t_strdup_printf("F%u", i), 2000, 2000 * 3000);
	n = migrate_folder_split(&snapshot, "/", 2, workers);
	test_assert(n == 2);
	load0 = test_load(&snapshot, workers, 0);
	load1 = test_load(&snapshot, workers, 1);
	test_assert(load0 == load1);
	for (i = 0; i < 10; i++)
		test_assert_idx(workers[i] < 2, i);
	test_end();

	test_begin("folder split: one big folder against many small ones");
	t_array_init(&snapshot.boxes, 8);
	test_box(&snapshot, "INBOX", 100, 100 * 1000);
	test_box(&snapshot, "Archive", 5000, 5000 * 4000);
	for (i = 0; i < 6; i++)
		test_box(&snapshot, t_strdup_printf("S%u", i), 300, 300 * 4000);
	n = migrate_folder_split(&snapshot, "/", 3, workers);
	test_assert(n == 3);
	/* the big one alone; the others split over the two other workers */
	for (i = 0; i < 8; i++) {
		if (i != 1)
			test_assert_idx(workers[i] != workers[1], i);
	}
	/* the two others: 3 small ones each, INBOX with one of them */
	other0 = (workers[1] + 1) % 3;
	other1 = (workers[1] + 2) % 3;
	load0 = test_load(&snapshot, workers, other0);
	load1 = test_load(&snapshot, workers, other1);
	test_assert((load0 > load1 ? load0 - load1 : load1 - load0) ==
		    100 * (1000 + MIGRATE_FOLDER_SPLIT_MESSAGE_COST));
	test_end();
}

static void test_migrate_folder_split_hierarchy(void)
{
	struct migrate_snapshot snapshot;
	unsigned int workers[7], n;

	test_begin("folder split: a hierarchy stays with one worker");
	t_array_init(&snapshot.boxes, 7);
	test_box(&snapshot, "INBOX", 10, 10000);
	test_box(&snapshot, "INBOX/Sub", 1000, 1000000);
	test_box(&snapshot, "Work", 1000, 1000000);
	test_box(&snapshot, "Work/2025", 1000, 1000000);
	test_box(&snapshot, "Work/2025/Q1", 1000, 1000000);
	test_box(&snapshot, "Workshop", 1000, 1000000);
	test_box(&snapshot, "Home", 1000, 1000000);
	n = migrate_folder_split(&snapshot, "/", 8, workers);
	/* INBOX and INBOX/Sub apart: INBOX is nobody's group */
	test_assert(n == 5);
	test_assert(workers[3] == workers[2] && workers[4] == workers[2]);
	test_assert(workers[5] != workers[2]);
	test_assert(workers[0] != workers[1]);
	test_end();

	test_begin("folder split: one worker, or nothing to split");
	test_assert(migrate_folder_split(&snapshot, "/", 1, workers) == 1);
	test_assert(workers[0] == 0 && workers[6] == 0);
	t_array_init(&snapshot.boxes, 1);
	test_assert(migrate_folder_split(&snapshot, "/", 4, workers) == 1);
	test_box(&snapshot, "INBOX", 10, 10000);
	test_assert(migrate_folder_split(&snapshot, "/", 4, workers) == 1);
	test_assert(workers[0] == 0);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_migrate_folder_split_balance,
		test_migrate_folder_split_hierarchy,
		NULL
	};
	return test_run(test_functions);
}
