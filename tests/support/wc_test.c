/*
 * wc_test.c - test helpers (wc_test.h): environment, running the binary,
 * reading results back with plain SQLite, CSV parsing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wc_test.h"
#include "waitchain/coltab.h"

/* Tests open case databases with sqlite3_open() directly: the columnar
 * event tables need the module on those connections too. */
__attribute__((constructor)) static void register_coltab(void)
{
	wc_coltab_auto_register();
}

extern char **environ;

static const char *env_or(const char *name, const char *deflt)
{
	const char *v = getenv(name);

	return v && *v ? v : deflt;
}

const char *wc_test_samples(void)
{
	return env_or("WC_SAMPLES", WC_SOURCE_DIR "/samples");
}

const char *wc_test_bin(void)
{
	return env_or("WC_BIN", "waitchain");
}

const char *wc_test_source(void)
{
	return env_or("WC_SOURCE", WC_SOURCE_DIR);
}

const char *wc_test_tmp(void)
{
	return env_or("WC_TMP", "/tmp");
}

char *wc_test_path(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

char *wc_test_sample(const char *sample, const char *file)
{
	return wc_test_path("%s/%s/%s", wc_test_samples(), sample, file);
}

char *wc_test_tmpfile(const char *name)
{
	char *p = wc_test_path("%s/%s", wc_test_tmp(), name);

	if (p)
		unlink(p);
	return p;
}

char *wc_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n + 65536 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 131072;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		r = fread(buf + n, 1, 65536, f);
		n += r;
		if (r < 65536)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int wc_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

int wc_test_copy_file(const char *src, const char *dst, size_t limit)
{
	size_t len;
	char *data = wc_test_read_file(src, &len);
	int rc;

	if (!data)
		return -1;
	rc = wc_test_write_file(dst, data, len < limit ? len : limit);
	free(data);
	return rc;
}

int wc_test_count_files(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strstr(e->d_name, needle))
			n++;
	closedir(d);
	return n;
}

/* --- running ------------------------------------------------------------------- */

static char *slurp_fd(int fd, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;

	lseek(fd, 0, SEEK_SET);
	for (;;) {
		ssize_t r;

		if (n + 65536 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 65536 * 2;
			p = realloc(buf, cap);
			if (!p)
				break;
			buf = p;
		}
		r = read(fd, buf + n, 65536);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int tmp_fd(void)
{
	char *name = wc_test_path("%s/run-XXXXXX", wc_test_tmp());
	int fd;

	if (!name)
		return -1;
	fd = mkstemp(name);
	if (fd >= 0)
		unlink(name);
	free(name);
	return fd;
}

int wc_run_program(struct wc_run *r, const char *stdin_path,
		   const char *program, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int out = tmp_fd(), err = tmp_fd(), status, rc;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (out < 0 || err < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null",
					 O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	if (strchr(program, '/'))
		rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
	else
		rc = posix_spawnp(&pid, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		close(out);
		close(err);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status)
				      : 128 + WTERMSIG(status);
	r->out = slurp_fd(out, &r->out_len);
	r->err = slurp_fd(err, &r->err_len);
	close(out);
	close(err);
	return 0;
}

int wc_run(struct wc_run *r, const char *stdin_path, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = (char *)wc_test_bin();
	va_start(ap, stdin_path);
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return wc_run_program(r, stdin_path, wc_test_bin(), argv);
}

void wc_run_free(struct wc_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

int wc_count_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

int wc_have_program(const char *program)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int found = 0;

	if (!path)
		return 0;
	copy = strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *p = wc_test_path("%s/%s", dir, program);

		found = p && access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* --- databases ------------------------------------------------------------------ */

static sqlite3_stmt *first_row(const char *db_path, const char *sql,
			       sqlite3 **db)
{
	sqlite3_stmt *st = NULL;

	*db = NULL;
	if (sqlite3_open_v2(db_path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(*db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "wc_test: %s: %s\n", db_path,
			*db ? sqlite3_errmsg(*db) : "cannot open");
		return NULL;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int64_t wc_test_sql_int(const char *db_path, const char *sql, int64_t deflt,
			int *ok)
{
	sqlite3 *db;
	sqlite3_stmt *st = first_row(db_path, sql, &db);
	int64_t v = deflt;

	if (ok)
		*ok = st != NULL;
	if (st && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

char *wc_test_sql_text(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st = first_row(db_path, sql, &db);
	char *v = NULL;

	if (st && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* --- CSV -------------------------------------------------------------------------- */

struct fields {
	char **v;
	size_t n, cap;
};

static int push_field(struct fields *f, const char *s, size_t n)
{
	char *copy;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		char **p = realloc(f->v, cap * sizeof(*p));

		if (!p)
			return -1;
		f->v = p;
		f->cap = cap;
	}
	copy = malloc(n + 1);
	if (!copy)
		return -1;
	memcpy(copy, s, n);
	copy[n] = '\0';
	f->v[f->n++] = copy;
	return 0;
}

/* Parses one record starting at *pos; returns 1 with a record, 0 at end,
 * -1 on malformed input. */
static int parse_record(const char *t, size_t len, size_t *pos,
			struct fields *out)
{
	size_t i = *pos;
	char *buf;
	size_t bn = 0;

	if (i >= len)
		return 0;
	buf = malloc(len - i + 1);
	if (!buf)
		return -1;
	for (;;) {
		bn = 0;
		if (i < len && t[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					free(buf);
					return -1;
				}
				if (t[i] == '"') {
					if (i + 1 < len && t[i + 1] == '"') {
						buf[bn++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				buf[bn++] = t[i++];
			}
		} else {
			while (i < len && t[i] != ',' && t[i] != '\n' &&
			       t[i] != '\r')
				buf[bn++] = t[i++];
		}
		if (push_field(out, buf, bn)) {
			free(buf);
			return -1;
		}
		if (i < len && t[i] == ',') {
			i++;
			continue;
		}
		if (i < len && t[i] == '\r')
			i++;
		if (i < len && t[i] == '\n')
			i++;
		break;
	}
	free(buf);
	*pos = i;
	return 1;
}

int wc_csv_parse(const char *text, size_t len, struct wc_csv *csv)
{
	size_t pos = 0;
	struct fields f = { 0 };
	int r;

	memset(csv, 0, sizeof(*csv));
	r = parse_record(text, len, &pos, &f);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	csv->header = f.v;
	csv->ncols = f.n;
	for (;;) {
		char ***rows;

		memset(&f, 0, sizeof(f));
		r = parse_record(text, len, &pos, &f);
		if (r < 0) {
			for (size_t k = 0; k < f.n; k++)
				free(f.v[k]);
			free(f.v);
			wc_csv_free(csv);
			return -1;
		}
		if (r == 0)
			break;
		while (f.n < csv->ncols)
			push_field(&f, "", 0);
		rows = realloc(csv->rows, (csv->nrows + 1) * sizeof(*rows));
		if (!rows) {
			wc_csv_free(csv);
			return -1;
		}
		csv->rows = rows;
		csv->rows[csv->nrows++] = f.v;
		/* keep extra fields owned: count them with ncols only */
		for (size_t k = csv->ncols; k < f.n; k++) {
			free(f.v[k]);
			f.v[k] = NULL;
		}
	}
	return 0;
}

int wc_csv_read(const char *path, struct wc_csv *csv)
{
	size_t len;
	char *text = wc_test_read_file(path, &len);
	int rc;

	if (!text) {
		memset(csv, 0, sizeof(*csv));
		return -1;
	}
	rc = wc_csv_parse(text, len, csv);
	free(text);
	return rc;
}

int wc_csv_col(const struct wc_csv *csv, const char *name)
{
	for (size_t i = 0; i < csv->ncols; i++)
		if (strcmp(csv->header[i], name) == 0)
			return (int)i;
	return -1;
}

void wc_csv_free(struct wc_csv *csv)
{
	for (size_t r = 0; r < csv->nrows; r++) {
		for (size_t c = 0; c < csv->ncols; c++)
			free(csv->rows[r][c]);
		free(csv->rows[r]);
	}
	free(csv->rows);
	for (size_t c = 0; c < csv->ncols; c++)
		free(csv->header[c]);
	free(csv->header);
	memset(csv, 0, sizeof(*csv));
}

char *wc_test_meta(const char *path, const char *key)
{
	char *text = wc_test_read_file(path, NULL), *line, *save = NULL;
	size_t klen = strlen(key);
	char *v = NULL;

	if (!text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line && !v;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, key, klen) == 0 && line[klen] == '=')
			v = strdup(line + klen + 1);
	free(text);
	return v;
}
