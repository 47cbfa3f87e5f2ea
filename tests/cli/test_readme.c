/*
 * test_readme.c - the examples of README.md run and succeed, so they
 * never rot.  Every command line of the "## Examples" block is run with
 * /bin/sh in a scratch directory holding capture.trace.dat (a sample),
 * with the built waitchain first in PATH; lines that need a live system
 * (perf record) or continue on the next line are skipped.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wc_test.h"

Test(readme, examples_run)
{
	char *readme_path = wc_test_path("%s/README.md", wc_test_source());
	char *readme = wc_test_read_file(readme_path, NULL);
	char *dir = wc_test_path("%s/readme", wc_test_tmp());
	char *cap = wc_test_sample("bql-stacks", "capture.trace.dat");
	char *dst = wc_test_path("%s/capture.trace.dat", dir);
	char *bindir = strdup(wc_test_bin()), *slash;
	char *block, *end, *line, *save = NULL;
	int ran = 0, skip_next = 0;

	cr_assert(readme, "cannot read %s", readme_path);
	{
		/* start clean: the examples create case.db without --force */
		char *argv[] = { "rm", "-rf", dir, NULL };
		struct wc_run r;

		cr_assert_eq(wc_run_program(&r, NULL, "rm", argv), 0);
		wc_run_free(&r);
	}
	mkdir(dir, 0755);
	cr_assert_eq(wc_test_copy_file(cap, dst, (size_t)-1), 0);
	slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	block = strstr(readme, "## Examples");
	cr_assert(block, "README.md has no ## Examples section");
	block = strstr(block, "```sh\n");
	cr_assert(block);
	block += 6;
	end = strstr(block, "```");
	cr_assert(end);
	*end = '\0';
	for (line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		char *cmd, *argv[4];
		struct wc_run r;

		if (skip_next) {
			skip_next = n && line[n - 1] == '\\';
			continue;
		}
		if (n && line[n - 1] == '\\') {
			skip_next = 1;
			continue;
		}
		if (!n || line[0] == '#' || strncmp(line, "perf ", 5) == 0)
			continue;
		cmd = wc_test_path("cd '%s' && PATH='%s':\"$PATH\" && %s", dir, bindir, line);
		argv[0] = "sh";
		argv[1] = "-c";
		argv[2] = cmd;
		argv[3] = NULL;
		cr_assert_eq(wc_run_program(&r, NULL, "/bin/sh", argv), 0);
		cr_expect_eq(r.status, 0, "README example failed (%d): %s\n%s", r.status,
			     line, r.err);
		wc_run_free(&r);
		free(cmd);
		ran++;
	}
	cr_expect_geq(ran, 8, "only %d examples found", ran);
	free(readme);
	free(readme_path);
	free(dir);
	free(cap);
	free(dst);
	free(bindir);
}
