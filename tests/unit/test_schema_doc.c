/*
 * test_schema_doc.c - docs/schema.md documents every table, view and
 * column of a case database (regenerate it with tools/gen-schema-doc.py),
 * and the schema files build a database that plain SQLite accepts.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/db.h"
#include "wc_test.h"

Test(schema, every_column_is_documented)
{
	char *doc_path = wc_test_path("%s/docs/schema.md", wc_test_source());
	char *doc = wc_test_read_file(doc_path, NULL);
	char *path = wc_test_tmpfile("schema.db");
	struct wc_error err = WC_ERROR_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL;
	int ntables = 0;

	cr_assert(doc, "cannot read %s", doc_path);
	cr_assert_eq(wc_db_create(path, &db, &err), 0, "%s", err.msg);
	cr_assert_eq(wc_db_apply_schema(db, path, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_prepare_v2(db,
		"SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name",
		-1, &tables, NULL), SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(tables, 0);
		char *needle = wc_test_path("`%s`", t);
		char *sql = wc_test_path("SELECT name FROM pragma_table_info('%s')", t);
		sqlite3_stmt *cols = NULL;
		const char *section;

		section = strstr(doc, needle);
		cr_expect(section, "docs/schema.md does not document %s: run tools/gen-schema-doc.py", t);
		cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &cols, NULL), SQLITE_OK);
		while (section && sqlite3_step(cols) == SQLITE_ROW) {
			char *c = wc_test_path("`%s`",
					       (const char *)sqlite3_column_text(cols, 0));

			cr_expect(strstr(section, c), "docs/schema.md: %s.%s missing", t, c);
			free(c);
		}
		sqlite3_finalize(cols);
		free(sql);
		free(needle);
		ntables++;
	}
	sqlite3_finalize(tables);
	cr_expect_geq(ntables, 20);
	wc_db_close(db);
	free(doc);
	free(doc_path);
	free(path);
}

Test(schema, doc_is_up_to_date)
{
	char *gen = wc_test_path("%s/tools/gen-schema-doc.py", wc_test_source());
	char *doc_path = wc_test_path("%s/docs/schema.md", wc_test_source());
	char *doc = wc_test_read_file(doc_path, NULL);
	char *argv[] = { "python3", gen, NULL };
	struct wc_run r;

	cr_assert(doc);
	cr_assert_eq(wc_run_program(&r, NULL, "python3", argv), 0);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect_str_eq(r.out, doc,
			 "docs/schema.md is stale: python3 tools/gen-schema-doc.py > docs/schema.md");
	wc_run_free(&r);
	free(doc);
	free(doc_path);
	free(gen);
}
