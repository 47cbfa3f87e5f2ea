/*
 * embedded.h - text files compiled into the binary (cmake/embed.cmake).
 *
 * schema/NNN.sql, queries/NAME.sql and report/ assets are the single source;
 * the build turns each set into a table of these, sorted by file name,
 * terminated by an entry whose name is NULL.
 */
#ifndef WAITCHAIN_EMBEDDED_H
#define WAITCHAIN_EMBEDDED_H

#include <stddef.h>

struct wc_embedded {
	const char *name;	/* file name without directory, e.g. "010_capture.sql" */
	const char *text;	/* contents, NUL-terminated */
	size_t len;		/* length without the NUL */
};

extern const struct wc_embedded wc_schema_sql[];	/* schema/NNN_name.sql */
extern const struct wc_embedded wc_query_sql[];		/* queries/NAME.sql */
extern const struct wc_embedded wc_report_assets[];	/* files of report/assets/ */

/* The entry named NAME in TABLE, or NULL. */
const struct wc_embedded *wc_embedded_find(const struct wc_embedded *table,
					   const char *name);

#endif /* WAITCHAIN_EMBEDDED_H */
