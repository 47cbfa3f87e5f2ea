/*
 * command.h - the subcommand table (git's run_builtin, perf.c).
 *
 * Each subcommand lives in src/cmd-NAME.c and exports one
 * `const struct wc_command wc_cmd_NAME`.  main() picks the entry by
 * argv[1], handles --help/--version, and calls run() with argv shifted so
 * that argv[0] is the subcommand name.  run() returns an exit status:
 * 0 ok, 1 bad input or capture, 2 usage (see wc_error_exit_status()).
 * Commands print their own --help text (the `usage` string, plus details).
 */
#ifndef WAITCHAIN_COMMAND_H
#define WAITCHAIN_COMMAND_H

struct wc_command {
	const char *name;	/* "import" */
	const char *summary;	/* one line for `waitchain --help` */
	const char *usage;	/* full --help text of the subcommand */
	int (*run)(int argc, char **argv);
};

extern const struct wc_command wc_cmd_import, wc_cmd_info, wc_cmd_sql,
	wc_cmd_query, wc_cmd_analyze, wc_cmd_report, wc_cmd_export,
	wc_cmd_diff, wc_cmd_record;

/* NULL-terminated list of the commands linked into this binary. */
const struct wc_command *const *wc_commands(void);

/* The command named NAME, or NULL. */
const struct wc_command *wc_command_find(const char *name);

#endif /* WAITCHAIN_COMMAND_H */
