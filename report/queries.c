/*
 * queries.c - running the canned queries (queries/NAME.sql, embedded in the
 * binary) for the reports, and reading their rows by column name.
 *
 * Each query file holds one SELECT (after its comment block) with named
 * parameters (:top, :pid, ...).  Parameters are bound with
 * sqlite3_bind_int64 only; a parameter not given stays NULL, which every
 * query turns into its documented default.  No text is ever spliced into
 * SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "report-local.h"
#include "waitchain/embedded.h"
#include "waitchain/report.h"

int wc_query_prepare(sqlite3 *db, const char *db_path, const char *name,
		     const struct wc_query_param *params, size_t nparams,
		     sqlite3_stmt **st, struct wc_error *err)
{
	char file[128];
	const struct wc_embedded *q;

	*st = NULL;
	if (!name || strlen(name) + sizeof(".sql") > sizeof(file))
		return wc_err(err, WC_ENOTFOUND, NULL, "no such query");
	snprintf(file, sizeof(file), "%s.sql", name);
	q = wc_embedded_find(wc_query_sql, file);
	if (!q)
		return wc_err(err, WC_ENOTFOUND, NULL, "no query named %s", name);
	if (sqlite3_prepare_v2(db, q->text, (int)q->len, st, NULL) != SQLITE_OK) {
		int rc = wc_err(err, WC_EDB, db_path, "query %s: %s", name,
				sqlite3_errmsg(db));

		sqlite3_finalize(*st);
		*st = NULL;
		return rc;
	}
	for (size_t i = 0; i < nparams; i++) {
		int idx = sqlite3_bind_parameter_index(*st, params[i].name);

		if (idx > 0)
			sqlite3_bind_int64(*st, idx, params[i].value);
	}
	return 0;
}

int wc_q_col(sqlite3_stmt *st, const char *name)
{
	int n = sqlite3_column_count(st);

	for (int i = 0; i < n; i++) {
		const char *c = sqlite3_column_name(st, i);

		if (c && strcmp(c, name) == 0)
			return i;
	}
	return -1;
}

int64_t wc_q_int(sqlite3_stmt *st, int idx, int64_t deflt)
{
	if (idx < 0 || sqlite3_column_type(st, idx) == SQLITE_NULL)
		return deflt;
	return sqlite3_column_int64(st, idx);
}

double wc_q_real(sqlite3_stmt *st, int idx, double deflt)
{
	if (idx < 0 || sqlite3_column_type(st, idx) == SQLITE_NULL)
		return deflt;
	return sqlite3_column_double(st, idx);
}

char *wc_q_str(sqlite3_stmt *st, int idx, int *oom)
{
	const unsigned char *s;
	int n;
	char *out;

	if (idx < 0 || sqlite3_column_type(st, idx) == SQLITE_NULL)
		return NULL;
	s = sqlite3_column_text(st, idx);
	n = sqlite3_column_bytes(st, idx);
	if (!s) {
		if (oom)
			*oom = 1;
		return NULL;
	}
	out = malloc((size_t)n + 1);
	if (!out) {
		if (oom)
			*oom = 1;
		return NULL;
	}
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return out;
}

int wc_q_step(sqlite3 *db, const char *db_path, const char *name,
	      sqlite3_stmt *st, struct wc_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_NOMEM)
		return wc_err(err, WC_ENOMEM, db_path, "query %s: out of memory",
			      name);
	return wc_err(err, WC_EDB, db_path, "query %s: %s", name,
		      sqlite3_errmsg(db));
}
