/*
 * main.c - the waitchain command line: picks a subcommand from the table
 * in commands.c (git's run_builtin), handles --help and --version.
 *
 * Exit status: 0 success, 1 bad input (capture, database, I/O), 2 usage.
 */
#include <elfutils/libdwfl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "command.h"
#include "waitchain/coltab.h"
#include "waitchain/escape.h"

static void print_help(FILE *out)
{
	fputs("usage: waitchain COMMAND [ARGS...]\n"
	      "       waitchain COMMAND --help\n"
	      "       waitchain --version\n"
	      "       waitchain --sqlite-extension   (path of the SQLite extension\n"
	      "                 that lets sqlite3 read the columnar event tables)\n"
	      "\n"
	      "Find who held the lock your vCPU threads waited for, from perf.data\n"
	      "or trace.dat captures (also .zst/.gz, or '-' for stdin).\n"
	      "\n"
	      "Commands:\n", out);
	for (const struct wc_command *const *c = wc_commands(); *c; c++)
		fprintf(out, "  %-9s %s\n", (*c)->name, (*c)->summary);
	fputs("\n"
	      "Exit status: 0 success, 1 bad input (capture, database, I/O error),\n"
	      "2 usage error.\n", out);
}

static void print_version(void)
{
	printf("waitchain %s\n", WC_VERSION);
	printf("sqlite %s, zstd %s, zlib %s, elfutils %s\n",
	       sqlite3_libversion(), ZSTD_versionString(), zlibVersion(),
	       dwfl_version(NULL));
}

/*
 * Prints the path of waitchain_sqlite.so: beside the binary (a build
 * tree) or in the installed library directory.  Returns the exit status.
 */
static int print_sqlite_extension(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/waitchain_sqlite.so", exe);
			if (access(path, R_OK) == 0) {
				puts(path);
				return 0;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/waitchain_sqlite.so", WC_SQLITE_EXT_DIR);
	if (access(path, R_OK) == 0) {
		puts(path);
		return 0;
	}
	fprintf(stderr, "waitchain: the SQLite extension waitchain_sqlite.so is not"
		" installed (looked beside the binary and in %s)\n", WC_SQLITE_EXT_DIR);
	return 1;
}

int main(int argc, char **argv)
{
	const struct wc_command *cmd;

	/* every connection, including ones opened outside db.c (cmd-sql's
	 * ATTACH-free shell, tests), reads the columnar event tables */
	wc_coltab_auto_register();
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			cmd = wc_command_find(argv[2]);
			if (cmd) {
				fputs(cmd->usage, stdout);
				return 0;
			}
			fputs("waitchain: unknown command '", stderr);
			wc_fput_tty_str(stderr, argv[2]);
			fputs("'\n", stderr);
			return 2;
		}
		print_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		print_version();
		return 0;
	}
	if (strcmp(argv[1], "--sqlite-extension") == 0)
		return print_sqlite_extension();
	cmd = wc_command_find(argv[1]);
	if (!cmd) {
		fputs("waitchain: unknown command '", stderr);
		wc_fput_tty_str(stderr, argv[1]);
		fputs("'\n\n", stderr);
		print_help(stderr);
		return 2;
	}
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 ||
			 strcmp(argv[2], "-h") == 0)) {
		fputs(cmd->usage, stdout);
		return 0;
	}
	return cmd->run(argc - 1, argv + 1);
}
