/*
 * test_tidmap.c - the tid -> utid rules of include/waitchain/tidmap.h.
 */
#include <criterion/criterion.h>

#include "waitchain/tidmap.h"

Test(tidmap, first_appearance_order)
{
	struct wc_tidmap *m = wc_tidmap_new();
	int created;

	cr_assert(m);
	cr_expect_eq(wc_tidmap_get(m, 100, 1, &created), 1);
	cr_expect_eq(created, 1);
	cr_expect_eq(wc_tidmap_get(m, 0, 1, &created), 2);
	cr_expect_eq(wc_tidmap_get(m, 100, 2, &created), 1);
	cr_expect_eq(created, 0);
	cr_expect_eq(wc_tidmap_lookup(m, 7), 0);
	cr_expect_eq(wc_tidmap_count(m), 2);
	wc_tidmap_free(m);
}

Test(tidmap, fork_of_known_tid_is_a_new_thread)
{
	struct wc_tidmap *m = wc_tidmap_new();
	int created;

	cr_expect_eq(wc_tidmap_get(m, 50, 1, NULL), 1);
	/* fork of an unseen child: rule 2, first utid of that tid */
	cr_expect_eq(wc_tidmap_fork(m, 51, 2, &created), 2);
	cr_expect_eq(created, 1);
	/* tid 51 exits, its tid is reused by a new fork: rule 3 */
	cr_expect_eq(wc_tidmap_fork(m, 51, 10, &created), 3);
	cr_expect_eq(wc_tidmap_get(m, 51, 11, NULL), 3);
	cr_expect_eq(wc_tidmap_at(m, 51, 5), 2);
	cr_expect_eq(wc_tidmap_at(m, 51, 10), 3);
	cr_expect_eq(wc_tidmap_at(m, 51, 1), 2);	/* before every row */
	cr_expect_eq(wc_tidmap_at(m, 52, 1), 0);
	wc_tidmap_free(m);
}

Test(tidmap, load_and_many)
{
	struct wc_tidmap *m = wc_tidmap_new();

	/* enough tids to grow the table several times */
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(wc_tidmap_add(m, i + 1, i * 7, (uint64_t)i), 0);
	cr_assert_eq(wc_tidmap_add(m, 100001, 7, 500000), 0);
	cr_assert_eq(wc_tidmap_add(m, 5, 1, 1), -1);	/* out of order */
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(wc_tidmap_lookup(m, i * 7), i == 1 ? 100001 : i + 1);
	cr_expect_eq(wc_tidmap_at(m, 7, 499999), 2);
	cr_expect_eq(wc_tidmap_at(m, 7, 500000), 100001);
	wc_tidmap_free(m);
}
