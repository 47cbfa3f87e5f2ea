/*
 * perfetto.c - the analysis as a Trace Event Format (JSON) document for
 * the Perfetto UI and chrome://tracing (shape in perfetto.h).
 *
 * Streaming: each part of the document is one SQL statement stepped row
 * by row, each row printed at once; nothing is accumulated.  The
 * global-mutex wait slices carry their holders (block_holder) and their
 * holder chain (chain) in args: three statements ordered by block id are
 * walked side by side (a merge join), so the cost is one pass over each
 * table, not one look-up per block.
 *
 * Flows use the "v2" binding of the format (bind_id + flow_out/flow_in on
 * 'X' slices): a zero-length "FUTEX_WAKE" slice on the releasing holder
 * at the enter of its wake call, and a zero-length "woken" slice on the
 * waiter at its wakeup.  Both are needed because a flow must start in a
 * slice that begins before the slice it ends in, and the waiter's wait
 * slice begins long before the wake.
 *
 * Hostile input: thread names come from the traced machine and are
 * written with wc_fput_json_str() only; numbers come from INTEGER
 * columns.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "perfetto.h"
#include "waitchain/escape.h"

/* -- title: processes (one per known pid, or per thread when unknown)
 * -- columns: pid, name (comm of the thread whose tid is pid, else NULL) */
static const char sql_processes[] =
	"SELECT p.pid,"
	" (SELECT m.comm FROM thread m WHERE m.tid = p.pid"
	"  ORDER BY m.utid DESC LIMIT 1) AS name "
	"FROM (SELECT DISTINCT COALESCE(pid, tid) AS pid FROM thread) p "
	"ORDER BY p.pid";

/* -- title: threads, vCPUs with their index
 * -- columns: pid, tid, comm, vcpu_index (NULL unless a vCPU) */
static const char sql_threads[] =
	"SELECT COALESCE(t.pid, t.tid), t.tid, t.comm, v.vcpu_index, t.utid "
	"FROM thread t LEFT JOIN vcpu v ON v.utid = t.utid ORDER BY t.utid";

/* -- title: per-thread state intervals worth a slice
 * -- columns: pid, tid, start_ns, end_ns, state, runnable_reason, cpu,
 * --   preempted_by, block_id */
static const char sql_states[] =
	"SELECT COALESCE(t.pid, s.tid), s.tid, s.start_ns, s.end_ns, s.state,"
	" s.runnable_reason, s.cpu, s.preempted_by, s.block_id, s.uncertain "
	"FROM thread_state s LEFT JOIN thread t ON t.utid = s.utid "
	"WHERE s.state IN ('running', 'runnable', 'sleeping', 'blocked_io')";

/* -- title: blocks on a global mutex, in id order
 * -- columns: id, pid, tid, start_ns, end_ns, futex_uaddr, futex_pid,
 * --   waker_tid, wakeup_source, is_vcpu, state, uncertain */
static const char sql_blocks[] =
	"SELECT b.id, COALESCE(t.pid, b.pid, b.tid), b.tid, b.start_ns, b.end_ns,"
	" b.futex_uaddr, b.futex_pid, b.waker_tid, b.wakeup_source, b.is_vcpu,"
	" b.state, b.uncertain "
	"FROM block b LEFT JOIN thread t ON t.utid = b.utid "
	"WHERE b.on_global_lock = 1 ORDER BY b.id";

/* -- title: holders of those blocks, in (block, seq) order
 * -- columns: block_id, seq, holder_tid, name, from_ns, to_ns, certainty,
 * --   is_waker */
static const char sql_holders[] =
	"SELECT h.block_id, h.seq, h.holder_tid, t.comm, h.from_ns, h.to_ns,"
	" h.certainty, h.is_waker "
	"FROM block_holder h JOIN block b ON b.id = h.block_id"
	" LEFT JOIN thread t ON t.utid = h.holder_utid "
	"WHERE b.on_global_lock = 1 ORDER BY h.block_id, h.seq";

/* -- title: holder-chain rows of those blocks, in (block, tree) order
 * -- columns: block_id, depth, tid, name, state, from_ns, to_ns,
 * --   futex_uaddr, preempted_by */
static const char sql_chain[] =
	"SELECT c.block_id, c.depth, c.tid, t.comm, c.state, c.from_ns, c.to_ns,"
	" c.futex_uaddr, c.preempted_by "
	"FROM chain c JOIN block b ON b.id = c.block_id"
	" LEFT JOIN thread t ON t.utid = c.utid "
	"WHERE b.on_global_lock = 1 ORDER BY c.block_id, c.id";

/* -- title: the wake call that released the mutex to each woken waiter
 * -- columns: block_id, holder pid, holder tid, holder name, enter_ns,
 * --   op_name, uaddr, waiter pid, waiter tid, wakeup_ns */
static const char sql_flows[] =
	"SELECT b.id, COALESCE(th.pid, f.pid, f.tid), f.tid, th.comm, f.enter_ns,"
	" f.op_name, f.uaddr, COALESCE(tb.pid, b.pid, b.tid), b.tid,"
	" COALESCE(b.wakeup_ns, b.end_ns) "
	"FROM block_holder h JOIN block b ON b.id = h.block_id"
	" JOIN futex f ON f.id = h.release_futex_id"
	" LEFT JOIN thread th ON th.utid = h.holder_utid"
	" LEFT JOIN thread tb ON tb.utid = b.utid "
	"WHERE b.on_global_lock = 1 AND h.is_waker = 1 AND f.enter_ns IS NOT NULL "
	"ORDER BY b.id";

/* Capture facts copied into otherData (trusted keys, untrusted values). */
static const char sql_facts[] =
	"SELECT key, value FROM capture WHERE key IN ('source_file', 'format',"
	" 'hostname', 'osrelease', 'clock', 'nrcpus', 'first_ts', 'last_ts') "
	"ORDER BY key";

struct writer {
	sqlite3 *db;
	const char *path;
	FILE *out;
	struct wc_error *err;
	int first;		/* no event written yet (for the commas) */
};

/* Prints NS as microseconds with exactly three decimals. */
static void put_us(FILE *out, int64_t ns)
{
	if (ns < 0) {
		fputc('-', out);
		ns = -ns;
	}
	fprintf(out, "%" PRId64 ".%03d", ns / 1000, (int)(ns % 1000));
}

/* Column I of ST as a JSON integer, or null. */
static void put_int(FILE *out, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		fputs("null", out);
	else
		fprintf(out, "%lld", (long long)sqlite3_column_int64(st, i));
}

/* Column I of ST (text from the capture) as a JSON string, or null. */
static void put_text(FILE *out, sqlite3_stmt *st, int i)
{
	wc_fput_json_str(out, (const char *)sqlite3_column_text(st, i));
}

/* Column I (an address) as a "0x..." string, or null. */
static void put_addr(FILE *out, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		fputs("null", out);
	else
		fprintf(out, "\"0x%" PRIx64 "\"",
			(uint64_t)sqlite3_column_int64(st, i));
}

/* Starts the next element of traceEvents. */
static void next_event(struct writer *w)
{
	fputs(w->first ? "\n" : ",\n", w->out);
	w->first = 0;
}

/*
 * Starts the next traceEvents element as an event of phase PH in category
 * CAT (NULL: no "cat") named NAME, on the track of the pid in column PID
 * and the tid in column TID of ST: writes {"ph":..,"name":..,"pid":P,
 * "tid":T and leaves the object open for the caller's members.  PH, CAT
 * and NAME are written unescaped: our constants, or a state name that
 * sql_states restricts to its IN list.
 */
static void begin_event(struct writer *w, const char *ph, const char *cat,
			const char *name, sqlite3_stmt *st, int pid, int tid)
{
	next_event(w);
	fprintf(w->out, "{\"ph\":\"%s\"", ph);
	if (cat)
		fprintf(w->out, ",\"cat\":\"%s\"", cat);
	fprintf(w->out, ",\"name\":\"%s\",\"pid\":", name);
	put_int(w->out, st, pid);
	fputs(",\"tid\":", w->out);
	put_int(w->out, st, tid);
}

/* The ,"ts":START,"dur":END-START members of a complete slice (a reversed
 * interval lasts 0). */
static void put_span(FILE *out, int64_t start, int64_t end)
{
	fputs(",\"ts\":", out);
	put_us(out, start);
	fputs(",\"dur\":", out);
	put_us(out, end > start ? end - start : 0);
}

static int prepare(struct writer *w, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(w->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return wc_err(w->err, WC_EDB, w->path, "%s (SQL: %.60s)",
			      sqlite3_errmsg(w->db), sql);
	}
	return 0;
}

/* Steps ST: 1 row, 0 done, negative code on error. */
static int step(struct writer *w, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return wc_err(w->err, WC_EDB, w->path, "%s (SQL: %.60s)",
		      sqlite3_errmsg(w->db), sqlite3_sql(st));
}

static int write_header(struct writer *w)
{
	sqlite3_stmt *st;
	int rc;

	fputs("{\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"generator\":"
	      "\"waitchain " WC_VERSION "\"", w->out);
	rc = prepare(w, sql_facts, &st);
	if (rc < 0)
		return rc;
	while ((rc = step(w, st)) > 0) {
		fputc(',', w->out);
		put_text(w->out, st, 0);
		fputc(':', w->out);
		put_text(w->out, st, 1);
	}
	sqlite3_finalize(st);
	fputs("},\n\"traceEvents\":[", w->out);
	return rc;
}

static int write_names(struct writer *w, struct wc_perfetto_stats *stats)
{
	sqlite3_stmt *st;
	int rc;

	rc = prepare(w, sql_processes, &st);
	if (rc < 0)
		return rc;
	while ((rc = step(w, st)) > 0) {
		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;	/* Perfetto names it "Process P" */
		begin_event(w, "M", NULL, "process_name", st, 0, 0);
		fputs(",\"args\":{\"name\":", w->out);
		put_text(w->out, st, 1);
		fputs("}}", w->out);
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;

	rc = prepare(w, sql_threads, &st);
	if (rc < 0)
		return rc;
	while ((rc = step(w, st)) > 0) {
		begin_event(w, "M", NULL, "thread_name", st, 0, 1);
		fputs(",\"args\":{\"name\":", w->out);
		put_text(w->out, st, 2);
		fputs("}}", w->out);
		stats->threads++;
		if (sqlite3_column_type(st, 3) == SQLITE_NULL)
			continue;
		/* vCPU n first, in order */
		begin_event(w, "M", NULL, "thread_sort_index", st, 0, 1);
		fprintf(w->out, ",\"args\":{\"sort_index\":%lld}}",
			(long long)sqlite3_column_int64(st, 3) - 1000000);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The slice name of a thread_state row. */
static const char *state_name(const char *state, const char *reason)
{
	if (!state)
		return "unknown";
	if (strcmp(state, "runnable") == 0)
		return reason && strcmp(reason, "preempted") == 0 ?
		       "runnable (preempted)" : "runnable (woken)";
	if (strcmp(state, "blocked_io") == 0)
		return "blocked I/O";
	return state;	/* "running", "sleeping" */
}

static int write_states(struct writer *w, struct wc_perfetto_stats *stats)
{
	sqlite3_stmt *st;
	int rc;

	rc = prepare(w, sql_states, &st);
	if (rc < 0)
		return rc;
	while ((rc = step(w, st)) > 0) {
		int64_t start = sqlite3_column_int64(st, 2);
		int64_t end = sqlite3_column_int64(st, 3);

		begin_event(w, "X", "state",
			    state_name((const char *)sqlite3_column_text(st, 4),
				       (const char *)sqlite3_column_text(st, 5)),
			    st, 0, 1);
		put_span(w->out, start, end);
		fputs(",\"args\":{\"cpu\":", w->out);
		put_int(w->out, st, 6);
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			fputs(",\"preempted_by\":", w->out);
			put_int(w->out, st, 7);
		}
		if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
			fputs(",\"block_id\":", w->out);
			put_int(w->out, st, 8);
		}
		if (sqlite3_column_int(st, 9))
			fputs(",\"uncertain\":1", w->out);
		fputs("}}", w->out);
		stats->state_slices++;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * A cursor of the merge join: a statement whose first column is a block
 * id, stepped in increasing block id order.
 */
struct cursor {
	sqlite3_stmt *st;
	int has;	/* 1: st holds a row */
};

static int cursor_next(struct writer *w, struct cursor *c)
{
	int rc = step(w, c->st);

	c->has = rc > 0;
	return rc < 0 ? rc : 0;
}

/* Moves C to the first row of block ID; 1 if there is one. */
static int cursor_seek(struct writer *w, struct cursor *c, int64_t id, int *rc)
{
	while (c->has && sqlite3_column_int64(c->st, 0) < id)
		if ((*rc = cursor_next(w, c)) < 0)
			return 0;
	return c->has && sqlite3_column_int64(c->st, 0) == id;
}

static int write_holders(struct writer *w, struct cursor *h, int64_t id)
{
	int rc = 0, n = 0;

	fputs(",\"holders\":[", w->out);
	while (cursor_seek(w, h, id, &rc)) {
		sqlite3_stmt *st = h->st;

		fputs(n++ ? ",{\"seq\":" : "{\"seq\":", w->out);
		put_int(w->out, st, 1);
		fputs(",\"tid\":", w->out);
		put_int(w->out, st, 2);
		fputs(",\"name\":", w->out);
		put_text(w->out, st, 3);
		fputs(",\"from\":", w->out);
		put_us(w->out, sqlite3_column_int64(st, 4));
		fputs(",\"to\":", w->out);
		put_us(w->out, sqlite3_column_int64(st, 5));
		fputs(",\"certainty\":", w->out);
		put_text(w->out, st, 6);
		fprintf(w->out, ",\"is_waker\":%d}", sqlite3_column_int(st, 7));
		rc = cursor_next(w, h);
		if (rc < 0)
			return rc;
	}
	fputc(']', w->out);
	return rc;
}

static int write_chain(struct writer *w, struct cursor *c, int64_t id)
{
	int rc = 0, n = 0;

	fputs(",\"chain\":[", w->out);
	while (cursor_seek(w, c, id, &rc)) {
		sqlite3_stmt *st = c->st;

		if (n < WC_PERFETTO_MAX_CHAIN_ARGS) {
			fputs(n ? ",{\"depth\":" : "{\"depth\":", w->out);
			put_int(w->out, st, 1);
			fputs(",\"tid\":", w->out);
			put_int(w->out, st, 2);
			fputs(",\"name\":", w->out);
			put_text(w->out, st, 3);
			fputs(",\"state\":", w->out);
			put_text(w->out, st, 4);
			fputs(",\"from\":", w->out);
			put_us(w->out, sqlite3_column_int64(st, 5));
			fputs(",\"dur\":", w->out);
			put_us(w->out, sqlite3_column_int64(st, 6) -
				       sqlite3_column_int64(st, 5));
			if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
				fputs(",\"futex\":", w->out);
				put_addr(w->out, st, 7);
			}
			if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
				fputs(",\"preempted_by\":", w->out);
				put_int(w->out, st, 8);
			}
			fputc('}', w->out);
		}
		n++;
		rc = cursor_next(w, c);
		if (rc < 0)
			return rc;
	}
	fprintf(w->out, "],\"chain_rows\":%d", n);
	return rc;
}

static int write_blocks(struct writer *w, struct wc_perfetto_stats *stats)
{
	struct cursor holders = { NULL, 0 }, chain = { NULL, 0 };
	sqlite3_stmt *st = NULL;
	int rc;

	rc = prepare(w, sql_blocks, &st);
	if (rc >= 0)
		rc = prepare(w, sql_holders, &holders.st);
	if (rc >= 0)
		rc = prepare(w, sql_chain, &chain.st);
	if (rc >= 0)
		rc = cursor_next(w, &holders);
	if (rc >= 0)
		rc = cursor_next(w, &chain);
	while (rc >= 0 && (rc = step(w, st)) > 0) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t start = sqlite3_column_int64(st, 3);
		int64_t end = sqlite3_column_int64(st, 4);

		begin_event(w, "X", "global_mutex", "global mutex wait", st, 1, 2);
		put_span(w->out, start, end);
		fprintf(w->out, ",\"args\":{\"block_id\":%lld,\"futex\":", (long long)id);
		put_addr(w->out, st, 5);
		fputs(",\"futex_pid\":", w->out);
		put_int(w->out, st, 6);
		fputs(",\"state\":", w->out);
		put_text(w->out, st, 10);
		fputs(",\"waker_tid\":", w->out);
		put_int(w->out, st, 7);
		fputs(",\"wakeup_source\":", w->out);
		put_text(w->out, st, 8);
		fprintf(w->out, ",\"is_vcpu\":%d,\"uncertain\":%d",
			sqlite3_column_int(st, 9), sqlite3_column_int(st, 11));
		rc = write_holders(w, &holders, id);
		if (rc >= 0)
			rc = write_chain(w, &chain, id);
		fputs("}}", w->out);
		stats->block_slices++;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(holders.st);
	sqlite3_finalize(chain.st);
	return rc;
}

static int write_flows(struct writer *w, struct wc_perfetto_stats *stats)
{
	sqlite3_stmt *st;
	int rc;

	rc = prepare(w, sql_flows, &st);
	if (rc < 0)
		return rc;
	while ((rc = step(w, st)) > 0) {
		long long id = (long long)sqlite3_column_int64(st, 0);

		begin_event(w, "X", "wake", "FUTEX_WAKE", st, 1, 2);
		fputs(",\"ts\":", w->out);
		put_us(w->out, sqlite3_column_int64(st, 4));
		fprintf(w->out, ",\"dur\":0,\"bind_id\":%lld,\"flow_out\":true,"
			"\"args\":{\"block_id\":%lld,\"op\":", id, id);
		put_text(w->out, st, 5);
		fputs(",\"futex\":", w->out);
		put_addr(w->out, st, 6);
		fputs(",\"woke\":", w->out);
		put_int(w->out, st, 8);
		fputs("}}", w->out);

		begin_event(w, "X", "wake", "woken", st, 7, 8);
		fputs(",\"ts\":", w->out);
		put_us(w->out, sqlite3_column_int64(st, 9));
		fprintf(w->out, ",\"dur\":0,\"bind_id\":%lld,\"flow_in\":true,"
			"\"args\":{\"block_id\":%lld,\"by\":", id, id);
		put_int(w->out, st, 2);
		fputs(",\"by_name\":", w->out);
		put_text(w->out, st, 3);
		fputs("}}", w->out);
		stats->flows++;
	}
	sqlite3_finalize(st);
	return rc;
}

int wc_export_perfetto_json(sqlite3 *db, const char *db_path, FILE *out,
			    struct wc_perfetto_stats *stats,
			    struct wc_error *err)
{
	struct wc_perfetto_stats local;
	struct writer w = { db, db_path, out, err, 1 };
	int rc;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	rc = write_header(&w);
	if (rc >= 0)
		rc = write_names(&w, stats);
	if (rc >= 0)
		rc = write_states(&w, stats);
	if (rc >= 0)
		rc = write_blocks(&w, stats);
	if (rc >= 0)
		rc = write_flows(&w, stats);
	if (rc < 0)
		return rc;
	fputs("\n]}\n", out);
	if (fflush(out) != 0 || ferror(out))
		return wc_err(err, WC_EIO, NULL, "writing the JSON document failed");
	return 0;
}
