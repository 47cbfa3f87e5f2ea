/*
 * test_fuzz_regressions.c - replays every fuzz harness over its committed
 * seed corpus (tests/fuzz/corpus/SHORT) and its regression inputs
 * (tests/fuzz/regressions/SHORT: minimized crashes found by tools/fuzz.sh,
 * kept so they stay fixed), without libFuzzer.
 *
 * The harness files are compiled into this executable with
 * -DWC_FUZZ_REPLAY (and -DWC_FUZZ_NO_MAIN for fuzz_perf_data.c), see
 * tests/CMakeLists.txt, so each one only defines its entry function
 * wc_fuzz_SHORT_one().  The harnesses abort() on a broken invariant, so
 * passing means: no crash, no invariant violation, and under
 * -DWC_SANITIZE=ON no sanitizer report, for every input.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wc_fuzz_perf_data_one(const uint8_t *data, size_t size);
int wc_fuzz_trace_dat_one(const uint8_t *data, size_t size);
int wc_fuzz_input_one(const uint8_t *data, size_t size);
int wc_fuzz_analyze_one(const uint8_t *data, size_t size);

/* Runs ONE over every file of tests/fuzz/KIND/SHORT; returns the count. */
static int replay(const char *kind, const char *shortname,
		  int (*one)(const uint8_t *, size_t))
{
	const char *src = getenv("WC_SOURCE");
	char dir[1024];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s",
		 src ? src : WC_SOURCE_DIR, kind, shortname);
	d = opendir(dir);
	if (!d)
		return 0;	/* no regressions yet */
	while ((e = readdir(d))) {
		char path[2048];
		unsigned char *buf;
		FILE *f;
		long len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		cr_assert(f, "cannot open %s", path);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t)len : 1);
		cr_assert(buf);
		cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		cr_log_info("replaying %s", path);
		one(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

Test(fuzz_replay, perf_data)
{
	cr_expect_geq(replay("corpus", "perf_data", wc_fuzz_perf_data_one), 5);
	replay("regressions", "perf_data", wc_fuzz_perf_data_one);
}

Test(fuzz_replay, trace_dat)
{
	cr_expect_geq(replay("corpus", "trace_dat", wc_fuzz_trace_dat_one), 3);
	replay("regressions", "trace_dat", wc_fuzz_trace_dat_one);
}

Test(fuzz_replay, input)
{
	cr_expect_geq(replay("corpus", "input", wc_fuzz_input_one), 5);
	replay("regressions", "input", wc_fuzz_input_one);
}

Test(fuzz_replay, analyze)
{
	cr_expect_geq(replay("corpus", "analyze", wc_fuzz_analyze_one), 5);
	replay("regressions", "analyze", wc_fuzz_analyze_one);
}

/* Degenerate inputs: nothing to import, nothing to analyze. */
Test(fuzz_replay, empty_input_is_fine)
{
	wc_fuzz_analyze_one((const uint8_t *)"", 0);
	wc_fuzz_input_one((const uint8_t *)"", 0);
	wc_fuzz_trace_dat_one((const uint8_t *)"", 0);
	wc_fuzz_perf_data_one((const uint8_t *)"", 0);
}
