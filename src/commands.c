/*
 * commands.c - the table of subcommands.
 *
 * Commands are referenced weakly so that a subcommand whose source file is
 * not (yet) part of the build is simply absent from the table, instead of
 * breaking the link.  Order here is the order of `waitchain --help`.
 */
#include <stddef.h>
#include <string.h>

#include "command.h"

#pragma weak wc_cmd_import
#pragma weak wc_cmd_info
#pragma weak wc_cmd_sql
#pragma weak wc_cmd_query
#pragma weak wc_cmd_analyze
#pragma weak wc_cmd_report
#pragma weak wc_cmd_export
#pragma weak wc_cmd_diff
#pragma weak wc_cmd_record

const struct wc_command *const *wc_commands(void)
{
	static const struct wc_command *table[16];
	static int built;

	if (!built) {
		const struct wc_command *all[] = {
			&wc_cmd_import, &wc_cmd_info, &wc_cmd_analyze,
			&wc_cmd_report, &wc_cmd_query, &wc_cmd_sql,
			&wc_cmd_export, &wc_cmd_diff, &wc_cmd_record,
		};
		size_t n = 0;

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (all[i])
				table[n++] = all[i];
		table[n] = NULL;
		built = 1;
	}
	return table;
}

const struct wc_command *wc_command_find(const char *name)
{
	for (const struct wc_command *const *c = wc_commands(); *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}
