/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

/* bench-migrate-uidl-format [COUNT] [RUNS]: the time to give COUNT
   messages (default 60000: three per message of a 20,000-message mailbox
   whose UIDLs are a formula - detection, the UIDL cache, dsync) their
   formula UIDL, Dovecot's default formula:
     expand   Dovecot's var_expand() per message, as the plugin called
              it before (migrate_uidl_format_var_expand()): 2.4 parses
              the format on every call
     created  one migrate_uidl_format, migrate_uidl_format_get() per
              message: the format is parsed once
   Medians of RUNS (default 5) interleaved runs, and their ratio. Not part
   of make check: bench/uidl-format.sh builds and runs it. */

#include "lib.h"
#include "str.h"
#include "time-util.h"
#include "migrate-uidl-format.h"

#include <stdio.h>
#include <stdlib.h>

#define BENCH_UIDVALIDITY 1700000000U

static long long bench_expand(unsigned int count)
{
	string_t *str = t_str_new(32);
	struct timeval t0, t1;
	const char *error;
	unsigned int i;

	i_gettimeofday(&t0);
	for (i = 1; i <= count; i++) T_BEGIN {
		str_truncate(str, 0);
		if (migrate_uidl_format_var_expand(str,
				MIGRATE_UIDL_FORMAT_DOVECOT23,
				BENCH_UIDVALIDITY, i, &error) < 0)
			i_fatal("var_expand(): %s", error);
	} T_END;
	i_gettimeofday(&t1);
	return timeval_diff_usecs(&t1, &t0);
}

static long long bench_created(unsigned int count)
{
	struct migrate_uidl_format *fmt;
	struct timeval t0, t1;
	unsigned int i;

	i_gettimeofday(&t0);
	fmt = migrate_uidl_format_create_valid(MIGRATE_UIDL_FORMAT_DOVECOT23);
	for (i = 1; i <= count; i++) T_BEGIN {
		(void)migrate_uidl_format_get(fmt, BENCH_UIDVALIDITY, i);
	} T_END;
	migrate_uidl_format_free(&fmt);
	i_gettimeofday(&t1);
	return timeval_diff_usecs(&t1, &t0);
}

static int cmp_ll(const void *p1, const void *p2)
{
	const long long *a = p1, *b = p2;

	return *a < *b ? -1 : (*a > *b ? 1 : 0);
}

int main(int argc, char *argv[])
{
	unsigned int count = argc > 1 ? (unsigned int)atoi(argv[1]) : 60000;
	unsigned int runs = argc > 2 ? (unsigned int)atoi(argv[2]) : 5;
	long long *expand, *created;
	unsigned int i;

	lib_init();
	if (count == 0 || runs == 0)
		i_fatal("usage: bench-migrate-uidl-format [COUNT] [RUNS]");
	expand = i_new(long long, runs);
	created = i_new(long long, runs);
	/* warm-up */
	(void)bench_expand(count / 10 + 1);
	(void)bench_created(count / 10 + 1);
	for (i = 0; i < runs; i++) {
		expand[i] = bench_expand(count);
		created[i] = bench_created(count);
	}
	qsort(expand, runs, sizeof(*expand), cmp_ll);
	qsort(created, runs, sizeof(*created), cmp_ll);
	printf("uidl-format: %u UIDLs, median of %u: expand %.1f ms "
	       "(%.2f us each), created %.1f ms (%.2f us each): "
	       "created/expand %.3fx\n", count, runs,
	       expand[runs / 2] / 1000.0, (double)expand[runs / 2] / count,
	       created[runs / 2] / 1000.0, (double)created[runs / 2] / count,
	       (double)created[runs / 2] / expand[runs / 2]);
	i_free(expand);
	i_free(created);
	lib_deinit();
	return 0;
}
