/*
 * import.c - the import driver and opening a "case" (DB or capture).
 *
 * wc_import_file() strings the pieces together: wc_input (decompression,
 * stdin) -> importer probe/open/run -> SQLite writer sink -> a temporary
 * file beside the output, renamed into place only after COMMIT.  The
 * final name therefore never refers to a half-written database, whatever
 * kills the process: a SIGKILL leaves a ".NAME.tmp-XXXXXX" file and
 * nothing else; errors and SIGINT (through opt->interrupted) remove it.
 *
 * wc_case_open() lets report/query/info take either a case database or a
 * capture, caching the import next to the capture (or under
 * $XDG_CACHE_HOME/waitchain when that directory is read-only).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_pipe.h"
#include "waitchain/analyze.h"
#include "waitchain/db.h"
#include "waitchain/importer.h"
#include "waitchain/input.h"
#include "waitchain/util.h"

#pragma weak wc_analyze
#pragma weak wc_analysis_present

/* perf.data written to a pipe ("perf record -o -") has a 16-byte header
 * and can be read as a stream; everything else needs a seekable file. */
static int is_perf_pipe_header(const struct wc_input *in)
{
	uint64_t size = 0;

	if (in->head_len < 16 || memcmp(in->head, "PERFILE2", 8) != 0)
		return 0;
	for (int i = 7; i >= 0; i--)
		size = size << 8 | in->head[8 + i];
	return size == 16;
}

/*
 * Progress comes from two places: importers that know their byte offset
 * (opt->progress), and the writer, which counts events for importers that
 * do not.  The relay merges both into the caller's callback.
 */
struct progress_relay {
	void (*cb)(void *ctx, uint64_t bytes, uint64_t events);
	void *ctx;
	uint64_t bytes;
};

static void relay_from_importer(void *ctx, uint64_t bytes, uint64_t events)
{
	struct progress_relay *p = ctx;

	p->bytes = bytes;
	p->cb(p->ctx, bytes, events);
}

static void relay_from_writer(void *ctx, uint64_t events)
{
	struct progress_relay *p = ctx;

	p->cb(p->ctx, p->bytes, events);
}

/*
 * Whether the import runs decode and insert on two threads (db_pipe.c):
 * WC_THREADS=1 forces one thread (results are identical either way), any
 * other value two; by default two when the machine has a CPU for the
 * writer besides the importer and its HELPERS (trace.dat's decoding
 * children): on two CPUs, a third busy thread only adds switching
 * (bench/PROFILE.md).
 */
static int use_two_threads(int helpers)
{
	return wc_threads_allowed(2 + helpers);
}

static int salvageable(int code)
{
	if (code < 0)
		code = -code;
	return code == WC_EFORMAT || code == WC_ETRUNCATED ||
	       code == WC_ELIMIT || code == WC_EIO;
}

static int set_meta(sqlite3 *db, const char *path, const char *key,
		    const char *fmt, unsigned long long v, struct wc_error *err)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, v);
	return wc_db_capture_set(db, path, key, buf, err);
}

int wc_import_file(const char *capture, const char *out_db,
		   const struct wc_import_options *opt, unsigned flags,
		   struct wc_import_result *res, struct wc_error *err)
{
	static const struct wc_import_options no_opt;
	struct wc_import_result dummy;
	struct wc_input *in = NULL;
	const struct wc_importer *imp = NULL;
	void *state = NULL;
	struct wc_symbolizer sym = { NULL, NULL };
	struct wc_db_writer *w = NULL;
	struct wc_db_pipe *pipe = NULL;
	const struct wc_sink *sink;
	sqlite3 *db = NULL;
	char *dir = NULL, *tmp = NULL;
	int rc, fd, imp_open = 0;
	uint64_t t0 = wc_now_ns();
	struct wc_error run_err = WC_ERROR_INIT;

	struct wc_import_options imp_opt;
	struct progress_relay relay = { NULL, NULL, 0 };
	const char *sandbox_env;

	if (!opt)
		opt = &no_opt;
	imp_opt = *opt;
	sandbox_env = getenv("WC_SANDBOX");
	if (sandbox_env && strcmp(sandbox_env, "0") == 0)
		imp_opt.in_process = 1;
	if (sandbox_env && strcmp(sandbox_env, "1") == 0)
		imp_opt.one_child = 1;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!out_db || !*out_db)
		return wc_err(err, WC_EUSAGE, capture, "no output database given");
	if (!(flags & WC_IMPORT_FORCE) && wc_path_exists(out_db))
		return wc_err(err, WC_EEXISTS, out_db,
			      "output exists (use --force to replace it)");
	{
		struct stat a, b;

		if (stat(capture, &a) == 0 && stat(out_db, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return wc_err(err, WC_EUSAGE, out_db,
				      "the output is the capture itself");
	}

	wc_input_set_interrupt(opt->interrupted);
	rc = wc_input_open(capture, &in, err);
	if (rc)
		goto out;
	imp = wc_importer_find(in);
	if (!imp) {
		if (in->head_len == 0)
			rc = wc_err(err, WC_EFORMAT, capture,
				    "empty input: not a trace.dat or perf.data capture");
		else
			rc = wc_err(err, WC_EFORMAT, capture,
				    "not a trace.dat or perf.data capture (first bytes %02x %02x %02x %02x)",
				    in->head[0], in->head_len > 1 ? in->head[1] : 0,
				    in->head_len > 2 ? in->head[2] : 0,
				    in->head_len > 3 ? in->head[3] : 0);
		goto out;
	}
	res->format = imp->name;
	if (!in->seekable && !(strcmp(imp->name, "perf.data") == 0 &&
			       is_perf_pipe_header(in))) {
		rc = wc_input_spool(in, err);
		if (rc)
			goto out;
	}

	/* the temporary database, beside the output so rename() is atomic */
	dir = wc_path_dirname(out_db);
	if (!dir) {
		rc = wc_err(err, WC_ENOMEM, out_db, "out of memory");
		goto out;
	}
	if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", dir,
		     wc_path_basename(out_db)) < 0) {
		tmp = NULL;
		rc = wc_err(err, WC_ENOMEM, out_db, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = wc_err(err, WC_EIO, out_db, "cannot create %s: %s", tmp,
			    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	{
		/* mkstemp makes 0600; a case database is an ordinary file */
		mode_t mask = umask(0);

		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	close(fd);
	rc = wc_db_create(tmp, &db, err);
	if (rc)
		goto out;

	if (opt->progress) {
		relay.cb = opt->progress;
		relay.ctx = opt->progress_ctx;
		imp_opt.progress = relay_from_importer;
		imp_opt.progress_ctx = &relay;
	}
	rc = imp->open(in, &imp_opt, &state, &sym, err);
	imp_open = 1;
	if (rc)
		goto salvage_or_out;
	rc = wc_db_writer_new(db, tmp, &sym, &w, err);
	if (rc)
		goto out;
	wc_db_writer_set_interrupt(w, opt->interrupted);
	sink = wc_db_writer_sink(w);
	if (use_two_threads(imp->helper_cpus ? imp->helper_cpus(state) : 0)) {
		/* the importer's own progress reports suffice: the writer's
		 * would come from the other thread */
		rc = wc_db_pipe_new(sink, wc_db_writer_stackset(w), &pipe, err);
		if (rc)
			goto out;
		sink = wc_db_pipe_sink(pipe);
	} else if (opt->progress) {
		wc_db_writer_set_progress(w, relay_from_writer, &relay);
	}
	rc = wc_db_capture_set(db, tmp, "source_file", capture, err);
	if (!rc)
		rc = set_meta(db, tmp, "source_size", "%llu",
			      (unsigned long long)in->source_size, err);
	if (!rc)
		rc = wc_db_capture_set(db, tmp, "source_compression",
				       in->compression, err);
	if (!rc)
		rc = wc_db_capture_set(db, tmp, "format", imp->name, err);
	if (!rc)
		rc = wc_db_capture_set(db, tmp, "truncated", "0", err);
	if (rc)
		goto out;

	rc = imp->run(state, sink, &run_err);
	if (pipe) {
		/* everything queued goes in; a writer error came before
		 * whatever the importer said after it */
		struct wc_error perr = WC_ERROR_INIT;
		int prc = wc_db_pipe_finish(pipe, &perr);

		if (prc) {
			rc = prc;
			run_err = perr;
		}
	}
	if (rc && opt->interrupted && *opt->interrupted)
		rc = wc_err(&run_err, WC_EINTERRUPTED, capture, "interrupted");
salvage_or_out:
	if (rc) {
		if (!opt->salvage || !salvageable(rc) || !w) {
			if (run_err.code)
				*err = run_err;
			else if (!err->code)
				wc_err(err, rc, capture, "import failed");
			goto out;
		}
		/* --salvage: keep every complete event read before it broke */
		res->truncated = 1;
		{
			struct wc_buf reason = WC_BUF_INIT;

			if (run_err.file[0])
				wc_buf_printf(&reason, "%s: ", run_err.file);
			wc_buf_adds(&reason, run_err.msg[0] ? run_err.msg
							    : wc_strerror(rc));
			snprintf(res->truncated_reason,
				 sizeof(res->truncated_reason), "%.*s",
				 (int)sizeof(res->truncated_reason) - 1,
				 wc_buf_str(&reason));
			wc_buf_free(&reason);
		}
		rc = wc_db_capture_set(db, tmp, "truncated", "1", err);
		if (!rc)
			rc = wc_db_capture_set(db, tmp, "truncated_reason",
					       res->truncated_reason, err);
		if (rc)
			goto out;
	}
	if (!res->truncated) {
		/* an importer may salvage by itself and only say so in meta */
		char *t = wc_db_capture_get(db, "truncated");

		if (t && strcmp(t, "1") == 0) {
			char *why = wc_db_capture_get(db, "truncated_reason");

			res->truncated = 1;
			snprintf(res->truncated_reason,
				 sizeof(res->truncated_reason), "%s: %s",
				 capture, why ? why : "capture is truncated");
			free(why);
		}
		free(t);
	}
	rc = wc_db_finish_import(w, err);
	if (rc)
		goto out;
	res->events = wc_db_writer_events(w);
	wc_db_writer_free(w);
	w = NULL;
	if (sqlite3_close(db) != SQLITE_OK) {
		rc = wc_err(err, WC_EDB, tmp, "cannot close database: %s",
			    sqlite3_errmsg(db));
		goto out;
	}
	db = NULL;
	if (rename(tmp, out_db) < 0) {
		rc = wc_err(err, WC_EIO, out_db, "cannot rename %s into place: %s",
			    tmp, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	res->seconds = (double)(wc_now_ns() - t0) / 1e9;
out:
	wc_db_pipe_free(pipe);	/* before the writer it feeds */
	wc_db_writer_free(w);
	wc_db_close(db);
	if (imp_open && imp)
		imp->close(state);
	wc_input_close(in);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

/* --- cases ---------------------------------------------------------------------- */

static int is_sqlite_file(const char *path)
{
	char magic[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	return r == 16 && memcmp(magic, "SQLite format 3", 16) == 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* The cache database path for CAPTURE; caller frees. */
static char *cache_path(const char *capture, struct wc_error *err)
{
	char *dir = wc_path_dirname(capture), *out = NULL, *real;
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct wc_buf cdir = WC_BUF_INIT;

	if (!dir) {
		wc_err(err, WC_ENOMEM, capture, "out of memory");
		return NULL;
	}
	if (access(dir, W_OK) == 0) {
		free(dir);
		if (asprintf(&out, "%s.db", capture) < 0)
			out = NULL;
		if (!out)
			wc_err(err, WC_ENOMEM, capture, "out of memory");
		return out;
	}
	free(dir);
	if (xdg && *xdg)
		wc_buf_printf(&cdir, "%s/waitchain", xdg);
	else
		wc_buf_printf(&cdir, "%s/.cache/waitchain",
			      home && *home ? home : "/tmp");
	if (!cdir.data || mkdir_p(cdir.data) < 0) {
		wc_err(err, WC_EIO, capture,
		       "cannot create the cache directory %s: %s",
		       wc_buf_str(&cdir), strerror(errno));
		wc_buf_free(&cdir);
		return NULL;
	}
	real = realpath(capture, NULL);
	if (asprintf(&out, "%s/%s-%016llx.db", cdir.data,
		     wc_path_basename(capture),
		     (unsigned long long)wc_hash_str(real ? real : capture)) < 0)
		out = NULL;
	if (!out)
		wc_err(err, WC_ENOMEM, capture, "out of memory");
	free(real);
	wc_buf_free(&cdir);
	return out;
}

int wc_case_open(const char *arg, unsigned flags,
		 const struct wc_import_options *opt, sqlite3 **db,
		 char **db_path, struct wc_error *err)
{
	char *path = NULL;
	sqlite3 *h = NULL;
	int rc = 0, lock_fd;

	*db = NULL;
	if (db_path)
		*db_path = NULL;
	if (strcmp(arg, "-") == 0)
		return wc_err(err, WC_EUSAGE, arg,
			      "a capture on stdin must be imported first: waitchain import - -o case.db");
	if (!wc_path_exists(arg))
		return wc_err(err, WC_ENOTFOUND, arg, "no such file");
	/*
	 * One waitchain process at a time imports / analyzes a given case:
	 * two reports of one capture would otherwise both import it, and the
	 * second rename() would replace the database the first is analyzing
	 * (SQLite: "attempt to write a readonly database").  An flock() on
	 * the file named (capture or database), held until the case is open;
	 * SQLite's own locks are fcntl() locks and do not interact with it.
	 */
	lock_fd = open(arg, O_RDONLY | O_CLOEXEC);
	if (lock_fd >= 0)
		while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR &&
		       !(opt && opt->interrupted && *opt->interrupted))
			;
	if (wc_db_is_case_file(arg) || is_sqlite_file(arg)) {
		path = strdup(arg);
		if (!path) {
			rc = wc_err(err, WC_ENOMEM, arg, "out of memory");
			goto out;
		}
	} else {
		struct stat cap_st, db_st;

		path = cache_path(arg, err);
		if (!path) {
			rc = -err->code;
			goto out;
		}
		if (stat(arg, &cap_st) < 0 || stat(path, &db_st) < 0 ||
		    !wc_db_is_current_case_file(path) ||
		    db_st.st_mtim.tv_sec < cap_st.st_mtim.tv_sec ||
		    (db_st.st_mtim.tv_sec == cap_st.st_mtim.tv_sec &&
		     db_st.st_mtim.tv_nsec < cap_st.st_mtim.tv_nsec)) {
			struct wc_import_result res;

			rc = wc_import_file(arg, path, opt,
					    WC_IMPORT_FORCE | WC_IMPORT_QUIET,
					    &res, err);
			if (rc)
				goto out;
		}
	}

	if (!(flags & WC_CASE_NO_ANALYZE) && wc_analyze) {
		int present = 0;

		rc = wc_db_open_rw(path, &h, err);
		if (rc && (flags & WC_CASE_READONLY) && rc == -WC_EDB) {
			/* not writable (permissions, read-only medium): show
			 * what is there rather than fail */
			wc_error_clear(err);
			rc = 0;
			goto open_ro;
		}
		if (rc)
			goto out;
		if (wc_analysis_present)
			present = wc_analysis_present(h);
		if (!present) {
			struct wc_analyze_options aopt;

			memset(&aopt, 0, sizeof(aopt));
			aopt.interrupted = opt ? opt->interrupted : NULL;
			rc = wc_analyze(h, path, &aopt, err);
			if (rc)
				goto out;
		}
		if (flags & WC_CASE_READONLY) {
			wc_db_close(h);
			h = NULL;
		}
	}
open_ro:
	if (!h) {
		rc = (flags & WC_CASE_READONLY) ? wc_db_open_readonly(path, &h, err)
						: wc_db_open_rw(path, &h, err);
		if (rc)
			goto out;
	}
	*db = h;
	h = NULL;
	if (db_path) {
		*db_path = path;
		path = NULL;
	}
out:
	if (lock_fd >= 0)
		close(lock_fd);
	wc_db_close(h);
	free(path);
	return rc;
}
