/*
 * test_trace_dat.c - the trace.dat importer against samples/ ground truth.
 *
 * Every number asserted here comes from trace-cmd itself (expected_*.csv
 * and expected_meta.txt written by samples/make-expected.sh and
 * samples/multibuf/make-expected.sh from `trace-cmd report`/`dump`), or
 * from the importer's own output on an equivalent file (zlib copy vs its
 * zstd source, salvaged prefix vs full import).  The importer runs into
 * the recording sink (tests/support/recording_sink.h); no database.
 *
 * kernel_stack rows of expected_tracecmd.csv are compared with the stacks
 * attached to events: each tid's attached stacks <= its kernel_stack
 * count, and the differences add up to meta kernel_stack_unattached.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <traceevent/event-parse.h>

#include "recording_sink.h"
#include "../../importers/tep_events.h"
#include "waitchain/importer.h"
#include "waitchain/input.h"
#include "wc_test.h"

/* One import: input, importer state, sink and outcome. */
struct imp {
	struct wc_input *in;
	void *state;
	struct wc_symbolizer sym;
	struct recsink *rs;
	struct wc_error err;
	int rc;
};

/* Imports PATH with OPT (NULL = defaults) into a fresh recording sink.
 * Keeps the importer open (for the symbolizer); free with imp_done(). */
static void imp_run(struct imp *m, const char *path,
		    const struct wc_import_options *opt)
{
	struct wc_import_options dflt = { 0 };
	struct wc_sink sink;

	memset(m, 0, sizeof(*m));
	m->rs = recsink_new();
	recsink_sink(m->rs, &sink);
	m->rc = wc_input_open(path, &m->in, &m->err);
	if (m->rc)
		return;
	/* no probe(): open() must cope with whatever it is given */
	m->rc = wc_importer_trace_dat.open(m->in, opt ? opt : &dflt,
					   &m->state, &m->sym, &m->err);
	if (m->rc)
		return;
	m->rc = wc_importer_trace_dat.run(m->state, &sink, &m->err);
}

static void imp_done(struct imp *m)
{
	wc_importer_trace_dat.close(m->state);
	wc_input_close(m->in);
	recsink_free(m->rs);
}

static void imp_sample(struct imp *m, const char *sample, const char *file,
		       const struct wc_import_options *opt)
{
	char *p = wc_test_sample(sample, file);

	imp_run(m, p, opt);
	free(p);
}

/* Value of KEY in samples/SAMPLE/expected_meta.txt (static buffer). */
static const char *expected_meta(const char *sample, const char *key)
{
	static char val[512];
	char *p = wc_test_sample(sample, "expected_meta.txt");
	FILE *f = fopen(p, "r");
	char line[1024];
	size_t kl = strlen(key);

	free(p);
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
			snprintf(val, sizeof(val), "%s", line + kl + 1);
			val[strcspn(val, "\n")] = '\0';
			fclose(f);
			return val;
		}
	}
	fclose(f);
	return NULL;
}

/*
 * Checks every row of samples/SAMPLE/FILE (event,tid,count; tid "*" =
 * total) against M's events.
 */
static void check_counts(struct imp *m, const char *sample, const char *file)
{
	char *p = wc_test_sample(sample, file);
	FILE *f = fopen(p, "r");
	char line[512], ev[128], tid[32];
	unsigned long long n;
	uint64_t total_rows = 0, stack_gap = 0, kstack_total = 0;
	const char *unatt = recsink_meta(m->rs, "kernel_stack_unattached");

	cr_assert_not_null(f, "cannot open %s", p);
	cr_assert(fgets(line, sizeof(line), f));	/* header */
	while (fgets(line, sizeof(line), f)) {
		cr_assert_eq(sscanf(line, "%127[^,],%31[^,],%llu", ev, tid, &n),
			     3, "bad line %s", line);
		if (strcmp(ev, "kernel_stack") == 0) {
			if (strcmp(tid, "*") == 0) {
				kstack_total = n;
				continue;
			}
			uint64_t got = recsink_count_stacks(m->rs, NULL,
							    atoi(tid));
			cr_assert_leq(got, n, "%s: tid %s has %" PRIu64
				      " stacks attached, trace-cmd shows %llu",
				      sample, tid, got, n);
			stack_gap += n - got;
			continue;
		}
		if (strcmp(tid, "*") == 0) {
			cr_assert_eq(recsink_count(m->rs, ev, -1), n,
				     "%s: %s total %" PRIu64 ", expected %llu",
				     sample, ev, recsink_count(m->rs, ev, -1),
				     n);
			total_rows += n;
			continue;
		}
		cr_assert_eq(recsink_count(m->rs, ev, atoi(tid)), n,
			     "%s: %s tid %s: %" PRIu64 ", expected %llu",
			     sample, ev, tid,
			     recsink_count(m->rs, ev, atoi(tid)), n);
	}
	fclose(f);
	free(p);
	/* nothing delivered beyond the expected rows */
	cr_assert_eq(m->rs->nevents, total_rows, "%s: %zu events, expected %"
		     PRIu64, sample, m->rs->nevents, total_rows);
	cr_assert_eq(stack_gap, unatt ? strtoull(unatt, NULL, 10) : 0,
		     "%s: %" PRIu64 " stacks unaccounted for (meta says %s)",
		     sample, stack_gap, unatt ? unatt : "none");
	cr_assert_eq(strtoull(recsink_meta(m->rs, "kernel_stack_events"), NULL,
			      10), kstack_total);
	cr_assert_not(m->rs->out_of_order, "%s: events not in time order",
		      sample);
	cr_assert_not(m->rs->buffer_after_event);
}

/* ---- per-sample exact counts ------------------------------------------- */

static void counts_test(const char *sample)
{
	struct imp m;

	imp_sample(&m, sample, "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s: %s", sample, m.err.msg);
	check_counts(&m, sample, "expected_tracecmd.csv");
	imp_done(&m);
}

Test(trace_dat, counts_bql_stacks) { counts_test("bql-stacks"); }
Test(trace_dat, counts_bql_zstd) { counts_test("bql-zstd"); }
Test(trace_dat, counts_bql_v6) { counts_test("bql-v6"); }
Test(trace_dat, counts_glibc_nostacks) { counts_test("glibc-nostacks"); }
Test(trace_dat, counts_bql_hogs) { counts_test("bql-hogs"); }
Test(trace_dat, counts_bql_seed5) { counts_test("bql-seed5"); }
Test(trace_dat, counts_hostile_names) { counts_test("hostile-names"); }

/* ---- metadata ------------------------------------------------------------ */

static void meta_test(const char *sample, const char *version,
		      const char *compression)
{
	struct imp m;
	const char *uname, *v;
	char want[600];

	imp_sample(&m, sample, "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_str_eq(recsink_meta(m.rs, "format"), "trace.dat");
	cr_assert_str_eq(recsink_meta(m.rs, "format_version"), version);
	cr_assert_str_eq(recsink_meta(m.rs, "file_compression"), compression);
	v = expected_meta(sample, "tracedat_version");
	if (v)
		cr_assert_str_eq(recsink_meta(m.rs, "format_version"), v);
	v = expected_meta(sample, "tracedat_compression");
	if (v)
		cr_assert_str_eq(recsink_meta(m.rs, "file_compression"), v);
	v = expected_meta(sample, "tracedat_cpus");
	if (v)
		cr_assert_str_eq(recsink_meta(m.rs, "nrcpus"), v);
	cr_assert_str_eq(recsink_meta(m.rs, "clock"), "mono");
	uname = expected_meta(sample, "tracedat_uname");
	if (uname) {
		char host[128], rel[128];
		cr_assert_str_eq(recsink_meta(m.rs, "uname"), uname);
		cr_assert_eq(sscanf(uname, "%*s %127s %127s", host, rel), 2);
		cr_assert_str_eq(recsink_meta(m.rs, "hostname"), host);
		cr_assert_str_eq(recsink_meta(m.rs, "osrelease"), rel);
	}
	v = expected_meta(sample, "tracedat_tracecmd_version");
	if (v) {
		snprintf(want, sizeof(want), "trace-cmd %s", v);
		cr_assert_str_eq(recsink_meta(m.rs, "tracer_version"), want);
	}
	cr_assert_str_eq(recsink_meta(m.rs, "kallsyms_source"), "capture");
	cr_assert_str_eq(recsink_meta(m.rs, "has_sched_waking"), "1");
	cr_assert_str_eq(recsink_meta(m.rs, "has_futex"), "1");
	/* one buffer, the top one, all imported */
	cr_assert_eq(m.rs->nbuffers, 1);
	cr_assert_str_eq(m.rs->buffers[0].name, "");
	cr_assert_str_eq(m.rs->buffers[0].clock, "mono");
	cr_assert_eq(m.rs->buffers[0].imported, 1);
	cr_assert_eq(m.rs->buffers[0].nevents, m.rs->nevents);
	v = expected_meta(sample, "tracedat_events_without_kernel_stack");
	if (v)
		cr_assert_eq(m.rs->nevents, strtoull(v, NULL, 10));
	imp_done(&m);
}

Test(trace_dat, meta_v7_zstd) { meta_test("bql-stacks", "7", "zstd"); }
Test(trace_dat, meta_v6) { meta_test("bql-v6", "6", "none"); }

Test(trace_dat, cpustats_not_reported_when_zero)
{
	struct imp m;

	/* expected_meta: tracedat_cpustat_overrun/dropped are 0 */
	imp_sample(&m, "bql-stacks", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_str_eq(expected_meta("bql-stacks", "tracedat_cpustat_overrun"),
			 "0");
	cr_assert_str_eq(expected_meta("bql-stacks", "tracedat_cpustat_dropped"),
			 "0");
	cr_assert_eq(m.rs->nlost, 0);
	imp_done(&m);
}

/* A ring buffer that overflowed: CPUSTAT overruns and in-buffer "missed
 * events" marks, exactly where trace-cmd report shows EVENTS DROPPED. */
Test(trace_dat, overrun_and_missed_events)
{
	struct imp m;
	char *p;
	FILE *f;
	char line[256], buf[64];
	int cpu;
	unsigned long long ov, cov, dr;
	size_t i, nmissed = 0, noverrun = 0, k = 0;

	imp_sample(&m, "overrun", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	check_counts(&m, "overrun", "expected_tracecmd.csv");
	for (i = 0; i < m.rs->nlost; i++) {
		if (strcmp(m.rs->lost[i].kind, "missed") == 0)
			nmissed++;
		else if (strcmp(m.rs->lost[i].kind, "overrun") == 0)
			noverrun++;
		else
			cr_assert_fail("unexpected kind %s", m.rs->lost[i].kind);
	}
	/* the in-buffer marks, in order */
	p = wc_test_sample("overrun", "expected_dropped.csv");
	f = fopen(p, "r");
	cr_assert_not_null(f);
	cr_assert(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		char cnt[32] = "";
		const struct rec_lost *l;

		cr_assert_geq(sscanf(line, "%d,%31[0-9]", &cpu, cnt), 1);
		while (k < m.rs->nlost &&
		       strcmp(m.rs->lost[k].kind, "missed") != 0)
			k++;
		cr_assert_lt(k, m.rs->nlost, "missing %s", line);
		l = &m.rs->lost[k++];
		cr_assert_eq(l->cpu, cpu);
		cr_assert_eq(l->count, cnt[0] ? strtoull(cnt, NULL, 10) : 0,
			     "%s", line);
		cr_assert_gt(l->ts, 0);
		cr_assert_leq(l->ts_from, l->ts);
		nmissed--;
	}
	cr_assert_eq(nmissed, 0, "more missed reports than trace-cmd shows");
	fclose(f);
	free(p);
	/* per-CPU statistics: one report per non-zero counter */
	p = wc_test_sample("overrun", "expected_cpustat.csv");
	f = fopen(p, "r");
	cr_assert_not_null(f);
	cr_assert(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		int found = 0;

		buf[0] = '\0';
		if (line[0] == ',')
			cr_assert_eq(sscanf(line, ",%d,%llu,%llu,%llu", &cpu, &ov,
					    &cov, &dr), 4);
		else
			cr_assert_eq(sscanf(line, "%63[^,],%d,%llu,%llu,%llu",
					    buf, &cpu, &ov, &cov, &dr), 5);
		cr_assert_eq(cov, 0);
		cr_assert_eq(dr, 0);
		if (!ov)
			continue;
		for (i = 0; i < m.rs->nlost; i++)
			if (strcmp(m.rs->lost[i].kind, "overrun") == 0 &&
			    m.rs->lost[i].cpu == cpu &&
			    m.rs->lost[i].count == ov)
				found++;
		cr_assert_eq(found, 1, "overrun %llu on CPU %d", ov, cpu);
		noverrun--;
	}
	cr_assert_eq(noverrun, 0);
	fclose(f);
	free(p);
	cr_assert(strstr(recsink_meta(m.rs, "warnings"), "lost events"));
	imp_done(&m);
}

/* ---- thread names ---------------------------------------------------------- */

Test(trace_dat, thread_names)
{
	struct imp m;

	imp_sample(&m, "bql-stacks", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert(recsink_has_comm(m.rs, -1, "CPU 0/KVM", -1));
	cr_assert(recsink_has_comm(m.rs, -1, "qemu-main", -1));
	cr_assert(recsink_has_comm(m.rs, -1, "worker 0", -1));
	/* the saved cmdlines are offered (undated) */
	cr_assert(recsink_has_comm(m.rs, -1, "CPU 0/KVM", WC_COMM_CMDLINES) ||
		  recsink_has_comm(m.rs, -1, "CPU 0/KVM", WC_COMM_RENAME));
	for (size_t i = 0; i < m.rs->ncomms; i++)
		if (m.rs->comms[i].src == WC_COMM_CMDLINES)
			cr_assert_eq(m.rs->comms[i].ts, 0);
	imp_done(&m);
}

/* task_rename events are the renames the threads did (threads.csv). */
Test(trace_dat, renames_match_threads_csv)
{
	struct imp m;
	char *p = wc_test_sample("bql-stacks", "threads.csv");
	FILE *f = fopen(p, "r");
	char line[256], comm[128];
	int tid, checked = 0;

	imp_sample(&m, "bql-stacks", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_not_null(f);
	cr_assert(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		const char *last = NULL;

		if (sscanf(line, "%d,%127[^,]", &tid, comm) != 2)
			continue;
		/* the last rename (exec renames too on 6.x) is the name
		 * bqlsim recorded */
		for (size_t i = 0; i < m.rs->nevents; i++) {
			const struct wc_event *e = &m.rs->events[i].ev;
			if (e->type == WC_EV_TASK_RENAME &&
			    e->u.rename.tid == tid)
				last = e->u.rename.newcomm;
		}
		cr_assert_not_null(last, "no task_rename for tid %d", tid);
		cr_assert_str_eq(last, comm);
		cr_assert(recsink_has_comm(m.rs, tid, comm, WC_COMM_RENAME));
		checked++;
	}
	fclose(f);
	free(p);
	cr_assert_gt(checked, 0);
	imp_done(&m);
}

/* ---- stacks ---------------------------------------------------------------- */

Test(trace_dat, stacks_symbolized)
{
	struct imp m;
	size_t i, switches = 0, with_schedule = 0;

	imp_sample(&m, "bql-stacks", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_str_eq(recsink_meta(m.rs, "has_stacks"), "1");
	cr_assert_not_null(m.sym.resolve);
	for (i = 0; i < m.rs->nevents && switches < 200; i++) {
		const struct rec_event *r = &m.rs->events[i];
		uint32_t f;
		int found = 0;

		if (r->ev.type != WC_EV_SCHED_SWITCH || !r->nframes)
			continue;
		switches++;
		for (f = 0; f < r->nframes; f++) {
			const struct wc_frame *fr = &m.rs->frames[r->frame_off + f];
			const char *sym = NULL, *dso = NULL;
			uint64_t so = 0, dof = 0;

			cr_assert_eq(fr->kernel, 1);
			cr_assert_eq(m.sym.resolve(m.sym.ctx, -1, fr->ip, 1, &sym,
						   &so, &dso, &dof), 0);
			cr_assert_not_null(sym, "frame %#" PRIx64 " unresolved",
					   fr->ip);
			cr_assert_str_eq(dso, "[kernel.kallsyms]");
			if (strcmp(sym, "__schedule") == 0)
				found = 1;
		}
		with_schedule += found;
	}
	cr_assert_eq(switches, 200);
	/* a context switch is always taken inside __schedule */
	cr_assert_eq(with_schedule, switches);
	imp_done(&m);
}

Test(trace_dat, no_stacks_without_T)
{
	struct imp m;

	imp_sample(&m, "glibc-nostacks", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_eq(recsink_count_stacks(m.rs, NULL, -1), 0);
	cr_assert_str_eq(recsink_meta(m.rs, "has_stacks"), "0");
	imp_done(&m);
}

/* ---- field decoding against trace-cmd's text -------------------------------- */

/* The first sched_switch and sys_enter_futex of bql-v6, decoded by
 * trace-cmd report (values copied from its output, see comments). */
Test(trace_dat, decoded_fields_sane)
{
	struct imp m;
	size_t i;
	int sw = 0, fx = 0;

	imp_sample(&m, "bql-v6", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	for (i = 0; i < m.rs->nevents; i++) {
		const struct wc_event *e = &m.rs->events[i].ev;
		if (e->type == WC_EV_SCHED_SWITCH) {
			/* the context of a switch is the task switched out */
			cr_assert_eq(e->tid, e->u.sw.prev_tid);
			cr_assert_leq(e->u.sw.prev_state, 0x1000);
			cr_assert_eq(e->cpu >= 0 && e->cpu < 2, 1);
			sw++;
		} else if (e->type == WC_EV_FUTEX_ENTER) {
			int cmd = e->u.futex_enter.op & WC_FUTEX_CMD_MASK;
			cr_assert_str_eq(e->u.futex_enter.syscall, "futex");
			cr_assert(cmd <= WC_FUTEX_LOCK_PI2, "cmd %d", cmd);
			cr_assert_neq(e->u.futex_enter.uaddr, 0);
			fx++;
		} else if (e->type == WC_EV_FUTEX_EXIT) {
			cr_assert(e->u.futex_exit.ret >= -4095);
		}
	}
	cr_assert_gt(sw, 0);
	cr_assert_gt(fx, 0);
	imp_done(&m);
}

/* ---- buffers ---------------------------------------------------------------- */

Test(trace_dat, multibuf_top_empty)
{
	struct imp m;
	const struct rec_buffer *top, *inst;

	imp_sample(&m, "multibuf", "capture.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	check_counts(&m, "multibuf", "capture.expected_tracecmd.csv");
	cr_assert_eq(m.rs->nbuffers, 2);
	top = recsink_buffer(m.rs, "");
	inst = recsink_buffer(m.rs, "inst");
	cr_assert_not_null(top);
	cr_assert_not_null(inst);
	cr_assert_eq(top->id, 0);
	cr_assert_eq(top->nevents, 0);
	cr_assert_eq(top->imported, 0);
	cr_assert_eq(inst->nevents, m.rs->nevents);
	cr_assert_eq(inst->imported, 1);
	for (size_t i = 0; i < m.rs->nevents; i++)
		cr_assert_eq(m.rs->events[i].ev.buffer, inst->id);
	imp_done(&m);
}

/* Events of both buffers, merged: exactly trace-cmd report's sequence. */
static void check_sequence(struct imp *m, const char *file, const char *only)
{
	char *p = wc_test_sample("multibuf", file);
	FILE *f = fopen(p, "r");
	char line[256], buf[64], ev[64];
	unsigned long long ts;
	int cpu, tid;
	size_t i = 0;

	cr_assert_not_null(f);
	cr_assert(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		const struct wc_event *e;
		const struct rec_buffer *b;

		buf[0] = '\0';
		if (line[0] == ',')
			cr_assert_eq(sscanf(line, ",%llu,%d,%d,%63[^\n]", &ts,
					    &cpu, &tid, ev), 4);
		else
			cr_assert_eq(sscanf(line, "%63[^,],%llu,%d,%d,%63[^\n]",
					    buf, &ts, &cpu, &tid, ev), 5);
		if (only && strcmp(buf, only) != 0)
			continue;
		cr_assert_lt(i, m->rs->nevents, "missing events from %s", line);
		e = &m->rs->events[i++].ev;
		b = recsink_buffer(m->rs, buf);
		cr_assert_not_null(b);
		cr_assert_eq(e->buffer, b->id, "event %zu buffer", i);
		cr_assert_eq(e->ts, ts, "event %zu ts", i);
		cr_assert_eq(e->cpu, cpu, "event %zu cpu", i);
		cr_assert_eq(e->tid, tid, "event %zu tid", i);
		cr_assert_str_eq(e->name, ev, "event %zu name", i);
	}
	cr_assert_eq(i, m->rs->nevents);
	fclose(f);
	free(p);
}

Test(trace_dat, multibuf_both_merged_in_time_order)
{
	struct imp m;

	imp_sample(&m, "multibuf", "capture2.trace.dat", NULL);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_eq(m.rs->nbuffers, 2);
	cr_assert_eq(recsink_buffer(m.rs, "")->imported, 1);
	cr_assert_eq(recsink_buffer(m.rs, "inst")->imported, 1);
	cr_assert_str_eq(recsink_buffer(m.rs, "inst")->clock, "mono");
	check_counts(&m, "multibuf", "capture2.expected_tracecmd.csv");
	check_sequence(&m, "capture2.expected_sequence.csv", NULL);
	imp_done(&m);
}

Test(trace_dat, buffer_option_selects_one)
{
	struct wc_import_options opt = { .buffer = "inst" };
	struct imp m;

	imp_sample(&m, "multibuf", "capture2.trace.dat", &opt);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_eq(m.rs->nbuffers, 2, "both buffers are still listed");
	cr_assert_eq(recsink_buffer(m.rs, "")->imported, 0);
	cr_assert_eq(recsink_buffer(m.rs, "")->nevents, 13);
	cr_assert_eq(recsink_buffer(m.rs, "inst")->imported, 1);
	check_sequence(&m, "capture2.expected_sequence.csv", "inst");
	imp_done(&m);

	opt.buffer = "top";
	imp_sample(&m, "multibuf", "capture2.trace.dat", &opt);
	cr_assert_eq(m.rc, 0, "%s", m.err.msg);
	cr_assert_eq(recsink_buffer(m.rs, "")->imported, 1);
	cr_assert_eq(recsink_buffer(m.rs, "inst")->imported, 0);
	check_sequence(&m, "capture2.expected_sequence.csv", "");
	imp_done(&m);

	opt.buffer = "nosuch";
	imp_sample(&m, "multibuf", "capture2.trace.dat", &opt);
	cr_assert_eq(m.rc, -WC_ENOTFOUND);
	cr_assert(strstr(m.err.msg, "nosuch") && strstr(m.err.msg, "inst"),
		  "%s", m.err.msg);
	cr_assert_eq(m.rs->nevents, 0);
	imp_done(&m);
}

/* ---- zlib ------------------------------------------------------------------- */

Test(trace_dat, zlib_v7_same_rows_as_source)
{
	struct imp a, b;

	imp_sample(&a, "multibuf", "capture2.trace.dat", NULL);
	imp_sample(&b, "multibuf", "capture2-zlib.trace.dat", NULL);
	cr_assert_eq(a.rc, 0, "%s", a.err.msg);
	cr_assert_eq(b.rc, 0, "%s", b.err.msg);
	cr_assert_str_eq(recsink_meta(a.rs, "file_compression"), "zstd");
	cr_assert_str_eq(recsink_meta(b.rs, "file_compression"), "zlib");
	cr_assert_str_eq(recsink_meta(b.rs, "format_version"), "7");
	cr_assert_eq(a.rs->nevents, b.rs->nevents);
	for (size_t i = 0; i < a.rs->nevents; i++) {
		const struct wc_event *x = &a.rs->events[i].ev;
		const struct wc_event *y = &b.rs->events[i].ev;
		cr_assert_eq(x->ts, y->ts);
		cr_assert_eq(x->tid, y->tid);
		cr_assert_eq(x->cpu, y->cpu);
		cr_assert_eq(x->buffer, y->buffer);
		cr_assert_str_eq(x->name, y->name);
	}
	check_sequence(&b, "capture2.expected_sequence.csv", NULL);
	imp_done(&a);
	imp_done(&b);
}

/* ---- broken files ------------------------------------------------------------- */

/* Copies the first LEN bytes of samples/SAMPLE/capture.trace.dat to
 * $WC_TMP/NAME; returns the path (caller frees). */
static char *truncated_copy(const char *sample, uint64_t len, const char *name)
{
	char *src = wc_test_sample(sample, "capture.trace.dat");
	char *dst = wc_test_tmpfile(name);
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	char buf[65536];
	uint64_t done = 0;

	cr_assert(in && out);
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) :
			      sizeof(buf);
		size_t n = fread(buf, 1, want, in);
		cr_assert_gt(n, 0);
		cr_assert_eq(fwrite(buf, 1, n, out), n);
		done += n;
	}
	fclose(in);
	fclose(out);
	free(src);
	return dst;
}

static uint64_t sample_size(const char *sample)
{
	char *p = wc_test_sample(sample, "capture.trace.dat");
	struct stat sb;

	cr_assert_eq(stat(p, &sb), 0);
	free(p);
	return (uint64_t)sb.st_size;
}

/* Offsets: initial format, early metadata, middle, 90%, last byte gone. */
static void truncation_test(const char *sample)
{
	uint64_t size = sample_size(sample);
	uint64_t cuts[] = { 5, 40, 300, size / 4, size / 2, size * 9 / 10,
			    size - 4097, size - 1 };
	size_t i;

	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char name[64];
		char *p;
		struct imp m;

		snprintf(name, sizeof(name), "trunc-%s-%zu.dat", sample, i);
		p = truncated_copy(sample, cuts[i], name);
		imp_run(&m, p, NULL);
		cr_assert(m.rc == -WC_ETRUNCATED || m.rc == -WC_EFORMAT,
			  "%s cut at %" PRIu64 ": rc %d (%s)", sample, cuts[i],
			  m.rc, m.err.msg);
		cr_assert_str_eq(m.err.file, p);
		cr_assert_neq(m.err.msg[0], '\0');
		cr_assert_eq(m.rs->nevents, 0, "no events without --salvage");
		imp_done(&m);
		unlink(p);
		free(p);
	}
}

Test(trace_dat, truncated_v6) { truncation_test("bql-v6"); }
Test(trace_dat, truncated_v7) { truncation_test("bql-stacks"); }

/* With --salvage, a file cut inside its CPU data yields the events before
 * the cut, then ETRUNCATED; everything delivered matches the full file. */
static void salvage_test(const char *sample, uint64_t cut)
{
	struct wc_import_options opt = { .salvage = 1 };
	struct imp full, m;
	char name[64];
	char *p;

	snprintf(name, sizeof(name), "salvage-%s.dat", sample);
	p = truncated_copy(sample, cut, name);
	size_t i, j = 0;

	imp_sample(&full, sample, "capture.trace.dat", NULL);
	cr_assert_eq(full.rc, 0);
	imp_run(&m, p, &opt);
	cr_assert_eq(m.rc, -WC_ETRUNCATED, "rc %d: %s", m.rc, m.err.msg);
	cr_assert(strstr(m.err.msg, "CPU"), "%s", m.err.msg);
	cr_assert_str_eq(recsink_meta(m.rs, "truncated"), "1");
	cr_assert_gt(m.rs->nevents, 0);
	cr_assert_lt(m.rs->nevents, full.rs->nevents);
	/* a subsequence of the full import */
	for (i = 0; i < m.rs->nevents; i++) {
		const struct wc_event *e = &m.rs->events[i].ev;
		while (j < full.rs->nevents &&
		       (full.rs->events[j].ev.ts != e->ts ||
			full.rs->events[j].ev.cpu != e->cpu))
			j++;
		cr_assert_lt(j, full.rs->nevents, "event %zu not in the full "
			     "import", i);
		cr_assert_str_eq(full.rs->events[j].ev.name, e->name);
		j++;
	}
	imp_done(&m);
	imp_done(&full);
	unlink(p);
	free(p);
}

Test(trace_dat, salvage_v6) { salvage_test("bql-v6", sample_size("bql-v6") - 100000); }

/* v7 keeps the options describing the CPU data in the last section, after
 * the data: a cut file cannot be salvaged, but must fail cleanly. */
Test(trace_dat, salvage_v7_cut_options)
{
	struct wc_import_options opt = { .salvage = 1 };
	uint64_t size = sample_size("bql-stacks");
	char *p = truncated_copy("bql-stacks", size - 100000, "salvage7.dat");
	struct imp m;

	imp_run(&m, p, &opt);
	cr_assert_eq(m.rc, -WC_ETRUNCATED, "rc %d: %s", m.rc, m.err.msg);
	cr_assert(strstr(m.err.msg, "section"), "%s", m.err.msg);
	cr_assert_eq(m.rs->nevents, 0);
	imp_done(&m);
	unlink(p);
	free(p);
}

/* Bytes overwritten all over a small file: an error or a success, never a
 * crash (ASan builds check memory safety). */
Test(trace_dat, corrupt_bytes_never_crash)
{
	char *src = wc_test_sample("multibuf", "capture2.trace.dat");
	char *dst = wc_test_tmpfile("corrupt.dat");
	FILE *f = fopen(src, "rb");
	unsigned char *data;
	long size, pos;
	int fails = 0, oks = 0;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = malloc((size_t)size);
	cr_assert_eq(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (pos = 0; pos < size; pos += 211) {
		static const unsigned char vals[] = { 0xff, 0x00 };
		for (size_t v = 0; v < sizeof(vals); v++) {
			unsigned char old = data[pos];
			struct imp m;
			FILE *o;

			if (old == vals[v])
				continue;
			data[pos] = vals[v];
			o = fopen(dst, "wb");
			cr_assert_eq(fwrite(data, 1, (size_t)size, o),
				     (size_t)size);
			fclose(o);
			data[pos] = old;
			imp_run(&m, dst, NULL);
			if (m.rc) {
				cr_assert_neq(m.err.msg[0], '\0');
				fails++;
			} else {
				oks++;
			}
			imp_done(&m);
		}
	}
	cr_assert_gt(fails, 0);
	cr_assert_gt(oks, 0);
	free(data);
	unlink(dst);
	free(dst);
	free(src);
}

Test(trace_dat, not_a_trace_dat)
{
	char *p = wc_test_sample("bql-stacks", "capture.perf.data");
	struct wc_input *in = NULL;
	struct wc_error err = WC_ERROR_INIT;

	cr_assert_eq(wc_input_open(p, &in, &err), 0);
	cr_assert_not(wc_importer_trace_dat.probe(in->head, in->head_len));
	wc_input_close(in);
	free(p);
}

/* ---- sink errors and interruption ---------------------------------------------- */

Test(trace_dat, sink_error_stops_import)
{
	char *p = wc_test_sample("bql-v6", "capture.trace.dat");
	struct wc_import_options opt = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct recsink *rs = recsink_new();
	struct wc_input *in = NULL;
	struct wc_symbolizer sym;
	struct wc_sink sink;
	void *st = NULL;

	recsink_sink(rs, &sink);
	rs->fail_after_events = 100;
	cr_assert_eq(wc_input_open(p, &in, &err), 0);
	cr_assert_eq(wc_importer_trace_dat.open(in, &opt, &st, &sym, &err), 0);
	cr_assert_eq(wc_importer_trace_dat.run(st, &sink, &err), -WC_EDB);
	cr_assert_eq(rs->nevents, 99);
	cr_assert(strstr(err.msg, "injected"));
	wc_importer_trace_dat.close(st);
	wc_input_close(in);
	recsink_free(rs);
	free(p);
}

Test(trace_dat, interrupted)
{
	volatile int stop = 1;
	struct wc_import_options opt = { .interrupted = &stop };
	struct imp m;

	imp_sample(&m, "bql-v6", "capture.trace.dat", &opt);
	cr_assert_eq(m.rc, -WC_EINTERRUPTED, "rc %d", m.rc);
	imp_done(&m);
}

/* ---- tep_events on hand-made formats ---------------------------------------------- */

static const char fmt_switch_uint[] =
	"name: sched_switch\nID: 300\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	"\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	"\tfield:unsigned int prev_state;\toffset:32;\tsize:4;\tsigned:0;\n"
	"\tfield:char next_comm[16];\toffset:36;\tsize:16;\tsigned:0;\n"
	"\tfield:pid_t next_pid;\toffset:52;\tsize:4;\tsigned:1;\n"
	"\tfield:int next_prio;\toffset:56;\tsize:4;\tsigned:1;\n\n"
	"print fmt: \"%d\", REC->prev_pid\n";

static const char fmt_futex_wait[] =
	"name: sys_enter_futex_wait\nID: 301\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
	"\tfield:void * uaddr;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:unsigned long val;\toffset:24;\tsize:8;\tsigned:0;\n"
	"\tfield:unsigned long mask;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\tfield:unsigned int flags;\toffset:40;\tsize:8;\tsigned:0;\n"
	"\tfield:struct __kernel_timespec * timeout;\toffset:48;\tsize:8;\tsigned:0;\n"
	"\tfield:clockid_t clockid;\toffset:56;\tsize:8;\tsigned:0;\n\n"
	"print fmt: \"%lx\", REC->uaddr\n";

static const char fmt_fork_dyn[] =
	"name: sched_process_fork\nID: 302\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n"
	"\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n"
	"\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n\n"
	"print fmt: \"%d\", REC->child_pid\n";

static const char fmt_kvm_exit[] =
	"name: kvm_exit\nID: 303\nformat:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	"\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned long guest_rip;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\tfield:unsigned int vcpu_id;\toffset:56;\tsize:4;\tsigned:0;\n\n"
	"print fmt: \"%u\", REC->exit_reason\n";

static void put(unsigned char *d, int off, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		d[off + i] = (unsigned char)(v >> (8 * i));	/* little endian */
}

Test(tep_events, synthetic_formats)
{
	struct tep_handle *tep = tep_alloc();
	struct wc_tep_events *te = NULL;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_event ev;
	unsigned char d[80];
	char why[128];

	cr_assert_not_null(tep);
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_long_size(tep, 8);
	cr_assert_eq(tep_parse_event(tep, fmt_switch_uint,
				     sizeof(fmt_switch_uint) - 1, "sched"), 0);
	cr_assert_eq(tep_parse_event(tep, fmt_futex_wait,
				     sizeof(fmt_futex_wait) - 1, "syscalls"), 0);
	cr_assert_eq(tep_parse_event(tep, fmt_fork_dyn,
				     sizeof(fmt_fork_dyn) - 1, "sched"), 0);
	cr_assert_eq(tep_parse_event(tep, fmt_kvm_exit,
				     sizeof(fmt_kvm_exit) - 1, "kvm"), 0);
	cr_assert_eq(wc_tep_events_new(tep, &te, &err), 0);

	/* sched_switch with a 4-byte unsigned prev_state and a comm that
	 * fills all 16 bytes (no NUL) */
	memset(d, 0, sizeof(d));
	put(d, 0, 300, 2);
	put(d, 4, 77, 4);
	memcpy(d + 8, "0123456789abcdef", 16);
	put(d, 24, 77, 4);
	put(d, 28, 120, 4);
	put(d, 32, 0x402, 4);
	memcpy(d + 36, "next", 5);
	put(d, 52, 0xffffffff, 4);	/* -1 */
	put(d, 56, 99, 4);
	cr_assert_eq(wc_tep_events_decode(te, d, 60, &ev, why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_eq(ev.type, WC_EV_SCHED_SWITCH);
	cr_assert_eq(ev.tid, 77);
	cr_assert_str_eq(ev.u.sw.prev_comm, "0123456789abcdef");
	cr_assert_eq(ev.u.sw.prev_state, 0x402);
	cr_assert_str_eq(ev.u.sw.next_comm, "next");
	cr_assert_eq(ev.u.sw.next_tid, -1);
	cr_assert_eq(ev.u.sw.next_prio, 99);
	/* a payload cut inside next_pid: fields outside read as 0 */
	cr_assert_eq(wc_tep_events_decode(te, d, 50, &ev, why, sizeof(why)), 0);
	cr_assert_eq(ev.u.sw.next_tid, 0);
	cr_assert_str_eq(ev.u.sw.next_comm, "next"[0] ? "next" : "");
	/* shorter than the common header */
	cr_assert_eq(wc_tep_events_decode(te, d, 3, &ev, why, sizeof(why)),
		     -WC_EFORMAT);
	/* unknown id */
	put(d, 0, 999, 2);
	cr_assert_eq(wc_tep_events_decode(te, d, 60, &ev, why, sizeof(why)),
		     -WC_EFORMAT);
	cr_assert(strstr(why, "999"));

	/* futex_wait(2): WAIT_BITSET | PRIVATE | CLOCK_REALTIME, val3 = mask */
	memset(d, 0, sizeof(d));
	put(d, 0, 301, 2);
	put(d, 4, 5, 4);
	put(d, 16, 0x7f0000001000ull, 8);
	put(d, 24, 2, 8);
	put(d, 32, 0xffffffff, 8);
	put(d, 40, 0x82, 8);		/* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */
	put(d, 48, 0, 8);
	put(d, 56, 0, 8);		/* CLOCK_REALTIME */
	cr_assert_eq(wc_tep_events_decode(te, d, 64, &ev, why, sizeof(why)), 0);
	cr_assert_eq(ev.type, WC_EV_FUTEX_ENTER);
	cr_assert_str_eq(ev.u.futex_enter.syscall, "futex_wait");
	cr_assert_eq(ev.u.futex_enter.op, WC_FUTEX_WAIT_BITSET |
		     WC_FUTEX_PRIVATE_FLAG | WC_FUTEX_CLOCK_REALTIME);
	cr_assert_eq(ev.u.futex_enter.uaddr, 0x7f0000001000ull);
	cr_assert_eq(ev.u.futex_enter.val, 2);
	cr_assert_eq(ev.u.futex_enter.val3, 0xffffffffu);

	/* fork with __data_loc comms, one pointing outside the payload */
	memset(d, 0, sizeof(d));
	put(d, 0, 302, 2);
	put(d, 4, 10, 4);
	put(d, 8, 24 | (6u << 16), 4);	/* "parent" at 24, len 6 */
	put(d, 12, 10, 4);
	put(d, 16, 200 | (8u << 16), 4);	/* outside */
	put(d, 20, 11, 4);
	memcpy(d + 24, "parent", 6);
	cr_assert_eq(wc_tep_events_decode(te, d, 32, &ev, why, sizeof(why)), 0);
	cr_assert_eq(ev.type, WC_EV_PROCESS_FORK);
	cr_assert_str_eq(ev.u.fork.parent_comm, "parent");
	cr_assert_str_eq(ev.u.fork.child_comm, "");
	cr_assert_eq(ev.u.fork.child_tid, 11);

	/* kvm_exit */
	memset(d, 0, sizeof(d));
	put(d, 0, 303, 2);
	put(d, 4, 42, 4);
	put(d, 8, 30, 4);
	put(d, 16, 0xfffff000, 8);
	put(d, 24, 1, 4);
	put(d, 56, 3, 4);
	cr_assert_eq(wc_tep_events_decode(te, d, 64, &ev, why, sizeof(why)), 0);
	cr_assert_eq(ev.type, WC_EV_KVM_EXIT);
	cr_assert_eq(ev.u.kvm.reason, 30);
	cr_assert_eq(ev.u.kvm.guest_rip, 0xfffff000u);
	cr_assert_str_eq(ev.u.kvm.isa, "VMX");
	cr_assert_eq(ev.u.kvm.vcpu_id, 3);

	cr_assert_eq(wc_tep_event_type_from_name("sys_exit_futex_waitv", NULL),
		     WC_EV_FUTEX_EXIT);
	cr_assert_eq(wc_tep_event_type_from_name("irq_handler_entry", NULL),
		     WC_EV_OTHER);
	wc_tep_events_free(te);
	tep_free(tep);
}
