/*
 * test_perf_data_fuzz.c - replays the perf.data fuzz corpus as a normal
 * test: every file of tests/fuzz/corpus/perf_data (seeds) and
 * tests/fuzz/regressions/perf_data (minimized crashes found by
 * fuzz_perf_data, kept so they stay fixed) goes through the harness's
 * wc_fuzz_perf_data_one(): both transports, salvage, every frame
 * symbolized, time order checked (abort() on violation).  Passing means no
 * crash and, under -DWC_SANITIZE=ON, no sanitizer report.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#define WC_FUZZ_NO_MAIN
#include "../fuzz/fuzz_perf_data.c"

static int replay_dir(const char *rel)
{
	const char *src = getenv("WC_SOURCE");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", src ? src : WC_SOURCE_DIR, rel);
	DIR *d = opendir(dir);
	cr_assert(d, "cannot open %s", dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		cr_assert(f, "cannot open %s", path);
		fseek(f, 0, SEEK_END);
		long len = ftell(f);
		fseek(f, 0, SEEK_SET);
		unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
		cr_assert(buf);
		cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		cr_log_info("replaying %s", path);
		wc_fuzz_perf_data_one(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

Test(perf_fuzz, seed_corpus)
{
	cr_expect_geq(replay_dir("corpus/perf_data"), 5);
}

Test(perf_fuzz, regressions)
{
	/* may be empty while no crash was ever found */
	cr_expect_geq(replay_dir("regressions/perf_data"), 0);
}
