/*
 * test_output.c - SQL results as table, CSV and JSON (src/output.c):
 * types, NULLs, escaping of hostile text, empty results.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitchain/output.h"

static char *render_ex(const char *sql, enum wc_out_format fmt, unsigned flags,
		       uint64_t *rows)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct wc_error err = WC_ERROR_INIT;

	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(wc_output_stmt_ex(st, fmt, f, flags, "mem", rows, &err), 0, "%s", err.msg);
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(f);
	return buf;
}

static char *render(const char *sql, enum wc_out_format fmt, uint64_t *rows)
{
	return render_ex(sql, fmt, 0, rows);
}

#define HOSTILE "SELECT 1 AS n, -2.5 AS r, NULL AS z, char(27) || '[31mred' AS s " \
		"UNION ALL SELECT 22, 0.125, 'x', '=cmd,\"q\"' " \
		"UNION ALL SELECT 333, 1e300 * 1e300, NULL, '</script>' || x'c3a9'"

Test(output, csv)
{
	uint64_t rows;
	char *s = render(HOSTILE, WC_OUT_CSV, &rows);

	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s,
		"n,r,z,s\r\n"
		"1,-2.5,,\x1b[31mred\r\n"
		"22,0.125,x,\"'=cmd,\"\"q\"\"\"\r\n"
		"333,inf,,</script>\xc3\xa9\r\n");
	free(s);
}

Test(output, json)
{
	uint64_t rows;
	char *s = render(HOSTILE, WC_OUT_JSON, &rows);

	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s,
		"[\n{\"n\":1,\"r\":-2.5,\"z\":null,\"s\":\"\\u001b[31mred\"},\n"
		"{\"n\":22,\"r\":0.125,\"z\":\"x\",\"s\":\"=cmd,\\\"q\\\"\"},\n"
		"{\"n\":333,\"r\":null,\"z\":null,\"s\":\"\\u003c/script\\u003e\xc3\xa9\"}\n]\n");
	free(s);
}

Test(output, table)
{
	uint64_t rows;
	char *s = render(HOSTILE, WC_OUT_TABLE, &rows);

	cr_expect_eq(rows, 3);
	cr_expect_str_eq(s,
		"n    r      z  s\n"
		"---  -----  -  -----------\n"
		"  1   -2.5     \\x1b[31mred\n"
		" 22  0.125  x  =cmd,\"q\"\n"
		"333    inf     </script>\xc3\xa9\n");
	free(s);
}

Test(output, empty_results)
{
	uint64_t rows = 99;
	char *s = render("SELECT 1 AS a WHERE 0", WC_OUT_JSON, &rows);

	cr_expect_eq(rows, 0);
	cr_expect_str_eq(s, "[]\n");
	free(s);
	s = render("SELECT 1 AS a WHERE 0", WC_OUT_CSV, &rows);
	cr_expect_str_eq(s, "a\r\n");
	free(s);
	s = render("SELECT 1 AS a WHERE 0", WC_OUT_TABLE, &rows);
	cr_expect_str_eq(s, "a\n-\n");
	free(s);
}

Test(output, many_rows_stream_past_the_sample)
{
	uint64_t rows;
	char *s = render("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500) SELECT i FROM c",
			 WC_OUT_TABLE, &rows);

	cr_expect_eq(rows, 2500);
	cr_expect(strstr(s, "\n2500\n"), "last row missing");
	free(s);
}

Test(output, format_names)
{
	enum wc_out_format f;

	cr_expect_eq(wc_out_format_parse("csv", &f), 0);
	cr_expect_eq(f, WC_OUT_CSV);
	cr_expect_eq(wc_out_format_parse("json", &f), 0);
	cr_expect_eq(f, WC_OUT_JSON);
	cr_expect_eq(wc_out_format_parse("table", &f), 0);
	cr_expect_eq(f, WC_OUT_TABLE);
	cr_expect_eq(wc_out_format_parse("xml", &f), -WC_EUSAGE);
}

/* Terminal attacks: ESC, a CR/LF, C1 CSI (U+009B) and a bidi override
 * (U+202E) in a thread name and a column name. */
#define TTY_HOSTILE "SELECT char(27) || '[2J' || char(13, 10) || 'x' AS " \
	"\"n" "\x1b" "m\", x'c29b' || '31m' || x'e280ae' || 'abc' AS s"

Test(output, csv_to_a_terminal_is_escaped)
{
	char *s = render_ex(TTY_HOSTILE, WC_OUT_CSV, WC_OUT_TTY, NULL);

	/* tty_str inside the quoted field: nothing raw below 0x20, no C1, no
	 * bidi; the CR/LF became visible text, so the field needs no quotes */
	cr_expect_str_eq(s,
		"n\\x1bm,s\r\n"
		"\\x1b[2J\\x0d\\x0ax,\\u{9b}31m\\u{202e}abc\r\n");
	free(s);
}

Test(output, csv_to_a_file_keeps_exact_bytes)
{
	char *s = render_ex(TTY_HOSTILE, WC_OUT_CSV, 0, NULL);

	cr_expect_str_eq(s,
		"n\x1bm,s\r\n"
		"\"\x1b[2J\r\nx\",\xc2\x9b" "31m\xe2\x80\xae" "abc\r\n");
	free(s);
}

Test(output, json_to_a_terminal_is_escaped)
{
	char *s = render_ex(TTY_HOSTILE, WC_OUT_JSON, WC_OUT_TTY, NULL);
	char *f = render_ex(TTY_HOSTILE, WC_OUT_JSON, 0, NULL);

	cr_expect_str_eq(s,
		"[\n{\"n\\u001bm\":\"\\u001b[2J\\u000d\\u000ax\","
		"\"s\":\"\\u009b31m\\u202eabc\"}\n]\n");
	/* to a file: control bytes are escaped anyway (JSON), the rest exact */
	cr_expect_str_eq(f,
		"[\n{\"n\\u001bm\":\"\\u001b[2J\\u000d\\u000ax\","
		"\"s\":\"\xc2\x9b" "31m\xe2\x80\xae" "abc\"}\n]\n");
	free(s);
	free(f);
}
