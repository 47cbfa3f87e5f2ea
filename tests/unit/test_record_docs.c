/*
 * test_record_docs.c - the documentation that ships with the binary stays
 * true: man/waitchain.1 renders without a groff warning, has a section
 * for every command `waitchain --help` lists and describes every long
 * option of every command's --help; the bash completion knows every
 * command and option and completes in a real bash; docs/recording.md
 * shows exactly what `waitchain record --print-commands` prints; every
 * `$ waitchain ...` line of docs/guide.md runs and succeeds; and
 * `cmake --install` installs the man page and the completion.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wc_test.h"

/* The commands of `waitchain --help` (lines "  NAME  summary" after
 * "Commands:"), as a NULL-terminated array; caller frees each and it. */
static char **help_commands(void)
{
	struct wc_run r;
	char **names = calloc(64, sizeof(*names));
	const char *p;
	size_t n = 0;

	cr_assert(names);
	cr_assert_eq(wc_run(&r, NULL, "--help", NULL), 0);
	cr_assert_eq(r.status, 0);
	p = strstr(r.out, "Commands:\n");
	cr_assert(p, "no Commands: in --help");
	p = strchr(p, '\n') + 1;
	while (p[0] == ' ' && p[1] == ' ' && n < 63) {
		size_t len = strcspn(p + 2, " \n");

		names[n++] = strndup(p + 2, len);
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	wc_run_free(&r);
	cr_assert_geq(n, 5, "too few commands in --help");
	return names;
}

static void free_names(char **names)
{
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

/* The long options ("--name") described by `waitchain CMD --help`: those
 * of its option lines (first word starting with '-'), NULL-terminated;
 * caller frees with free_names(). */
static char **help_options(const char *cmd)
{
	struct wc_run r;
	char **opts = calloc(128, sizeof(*opts));
	size_t n = 0;

	cr_assert(opts);
	cr_assert_eq(wc_run(&r, NULL, cmd, "--help", NULL), 0);
	cr_assert_eq(r.status, 0, "%s --help: %s", cmd, r.err);
	for (const char *line = r.out; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p = line;

		if (*p != ' ')
			continue;
		while (*p == ' ')
			p++;
		if (*p != '-')
			continue;
		/* "-x, --name", "--name ARG", "--a, --b" */
		while (*p == '-') {
			size_t len = 1;

			while (p[len] == '-' || (p[len] >= 'a' && p[len] <= 'z') ||
			       (p[len] >= 'A' && p[len] <= 'Z'))
				len++;
			if (len > 2 && p[1] == '-' && n < 127)
				opts[n++] = strndup(p, len);
			p += len;
			if (*p == ',' && p[1] == ' ')
				p += 2;
			else
				break;
		}
	}
	wc_run_free(&r);
	return opts;
}

/* 1 if WORD is one of the space-separated words of the quoted string
 * that starts right after PREFIX in TEXT. */
static int has_word(const char *text, const char *prefix, const char *word)
{
	const char *p = strstr(text, prefix);
	size_t n = strlen(word);

	if (!p)
		return 0;
	p += strlen(prefix);
	while (*p && *p != '"') {
		size_t len = strcspn(p, " \"");

		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* "--no-color" as written in roff source: "\-\-no\-color". */
static char *roff_dashes(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	cr_assert(out);
	for (; *s; s++) {
		if (*s == '-')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *read_source(const char *rel)
{
	char *path = wc_test_path("%s/%s", wc_test_source(), rel);
	char *text = wc_test_read_file(path, NULL);

	cr_assert(text, "cannot read %s", path);
	free(path);
	return text;
}

Test(man, renders_without_warnings)
{
	char *page = wc_test_path("%s/man/waitchain.1", wc_test_source());
	char *argv[] = { "groff", "-man", "-ww", "-z", page, NULL };
	struct wc_run r;

	if (!wc_have_program("groff"))
		cr_skip_test("groff is not installed");
	cr_assert_eq(wc_run_program(&r, NULL, "groff", argv), 0);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.err, "", "groff warnings:\n%s", r.err);
	wc_run_free(&r);
	free(page);
}

Test(man, man_l_formats_it)
{
	char *page = wc_test_path("%s/man/waitchain.1", wc_test_source());
	char *argv[] = { "man", "--warnings", "-l", page, NULL };
	struct wc_run r;

	if (!wc_have_program("man"))
		cr_skip_test("man is not installed");
	setenv("MANWIDTH", "80", 1);
	unsetenv("MAN_KEEP_FORMATTING");	/* plain text, no overstrike */
	cr_assert_eq(wc_run_program(&r, NULL, "man", argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.err, "", "man warnings:\n%s", r.err);
	cr_assert(strstr(r.out, "waitchain record"), "rendered page lacks record");
	cr_assert(strstr(r.out, "EXIT STATUS"));
	wc_run_free(&r);
	free(page);
}

Test(man, every_command_has_a_section_with_its_options)
{
	char *text = read_source("man/waitchain.1");
	char **cmds = help_commands();

	for (char **c = cmds; *c; c++) {
		char heading[128];
		char **opts;

		snprintf(heading, sizeof(heading), "\n.SS \"waitchain %s\"\n", *c);
		cr_expect(strstr(text, heading), "man page: no section for %s", *c);
		opts = help_options(*c);
		for (char **o = opts; *o; o++) {
			char *roff = roff_dashes(*o);

			if (strcmp(*o, "--help") != 0)
				cr_expect(strstr(text, roff), "man page: %s %s is not described",
					  *c, *o);
			free(roff);
		}
		free_names(opts);
	}
	free_names(cmds);
	free(text);
}

Test(completion, knows_every_command_and_option)
{
	char *text = read_source("tools/waitchain.bash-completion");
	char **cmds = help_commands();

	for (char **c = cmds; *c; c++) {
		char var[128];
		char **opts;

		cr_expect(has_word(text, "_waitchain_commands=\"", *c),
			  "completion: no command %s", *c);
		snprintf(var, sizeof(var), "_waitchain_opts_%s=\"", *c);
		opts = help_options(*c);
		for (char **o = opts; *o; o++)
			cr_expect(has_word(text, var, *o), "completion: %s lacks %s",
				  *c, *o);
		free_names(opts);
	}
	free_names(cmds);
	free(text);
}

Test(completion, completes_in_bash)
{
	char *file = wc_test_path("%s/tools/waitchain.bash-completion", wc_test_source());
	char script[2048];
	char *argv[] = { "bash", "--norc", "--noprofile", "-c", script, NULL };
	struct wc_run r;

	if (!wc_have_program("bash"))
		cr_skip_test("bash is not installed");
	snprintf(script, sizeof(script),
		 "shopt -s extglob; source '%s' || exit 3\n"
		 "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=();"
		 " _waitchain; echo \"${COMPREPLY[*]}\"; }\n"
		 "t waitchain re; t waitchain record --d; t waitchain diff --format ''\n"
		 "t waitchain export --fo; complete -p waitchain\n", file);
	cr_assert_eq(wc_run_program(&r, NULL, "bash", argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out,
			 "report record\n"
			 "--duration --db\n"
			 "text json html\n"
			 "--format\n"
			 "complete -F _waitchain waitchain\n");
	wc_run_free(&r);
	free(file);
}

/* docs/recording.md shows the real output of --print-commands. */
Test(docs, recording_md_shows_the_printed_commands)
{
	char *doc = read_source("docs/recording.md");
	struct wc_run r;

	cr_assert_eq(wc_run(&r, NULL, "record", "--print-commands", "-a",
			    "--duration", "10", "--stacks", NULL), 0);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(doc, r.out), "docs/recording.md does not show:\n%s", r.out);
	wc_run_free(&r);
	free(doc);
}

Test(install, cmake_install_puts_man_page_and_completion, .timeout = 300)
{
	char *build = strdup(wc_test_bin());
	char *prefix = wc_test_path("%s/prefix", wc_test_tmp());
	char *probe, *man, *comp;
	char *argv[] = { "cmake", "--install", build, "--prefix", prefix, NULL };
	struct wc_run r;

	cr_assert(build);
	*strrchr(build, '/') = '\0';
	probe = wc_test_path("%s/cmake_install.cmake", build);
	if (access(probe, F_OK) != 0 || !wc_have_program("cmake"))
		cr_skip_test("the binary is not in a CMake build tree");
	cr_assert_eq(wc_run_program(&r, NULL, "cmake", argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	wc_run_free(&r);
	man = wc_test_path("%s/share/man/man1/waitchain.1", prefix);
	comp = wc_test_path("%s/share/bash-completion/completions/waitchain", prefix);
	cr_assert_eq(access(man, F_OK), 0, "%s not installed", man);
	cr_assert_eq(access(comp, F_OK), 0, "%s not installed", comp);
	free(man);
	free(comp);
	free(probe);
	free(prefix);
	free(build);
}

/* Splits LINE into shell words (spaces; "..." and '...' quoting only). */
static int split_words(char *line, char **argv, int max)
{
	int n = 0;
	char *p = line, *o;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p || n >= max - 1)
			break;
		argv[n++] = o = p;
		while (*p && *p != ' ') {
			if (*p == '"' || *p == '\'') {
				char q = *p++;

				while (*p && *p != q)
					*o++ = *p++;
				if (*p)
					p++;
			} else {
				*o++ = *p++;
			}
		}
		if (*p)
			p++;
		*o = '\0';
	}
	argv[n] = NULL;
	return n;
}

/* Every "$ waitchain ..." line of docs/guide.md, in order, succeeds. */
Test(docs, guide_commands_run, .timeout = 600)
{
	char *doc = read_source("docs/guide.md");
	char *dir = wc_test_path("%s/guide", wc_test_tmp());
	char *link = wc_test_path("%s/samples", dir);
	char *rm[] = { "rm", "-rf", dir, NULL };
	int ran = 0;
	struct wc_run r;

	cr_assert_eq(wc_run_program(&r, NULL, "rm", rm), 0);
	wc_run_free(&r);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(symlink(wc_test_samples(), link), 0);
	cr_assert_eq(chdir(dir), 0);
	for (char *line = doc; line && *line; ) {
		char *nl = strchr(line, '\n');
		char *argv[64] = { NULL };

		if (nl)
			*nl = '\0';
		if (strncmp(line, "$ waitchain ", 12) == 0 && !strchr(line, '|') &&
		    !strchr(line, '>')) {
			int n = split_words(line + 12, argv, 64);

			cr_assert_gt(n, 0);
			cr_assert_eq(wc_run(&r, NULL, argv[0], argv[1], argv[2], argv[3],
					    argv[4], argv[5], argv[6], argv[7], argv[8],
					    n > 9 ? "--too-many-words-in-a-guide-line" : NULL,
					    NULL), 0);
			cr_expect_eq(r.status, 0, "docs/guide.md: '%s' failed: %s",
				     line, r.err);
			wc_run_free(&r);
			ran++;
		}
		line = nl ? nl + 1 : NULL;
	}
	cr_assert_geq(ran, 8, "only %d commands found in docs/guide.md", ran);
	free(link);
	free(dir);
	free(doc);
}
