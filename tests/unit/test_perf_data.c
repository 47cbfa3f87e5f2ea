/*
 * test_perf_data.c - the perf.data importer on the recorded samples:
 * exact per-event and per-tid sample counts against `perf script`
 * (expected_perf.csv), thread names from COMM records against bqlsim's
 * threads.csv, metadata and record counts against `perf report`
 * (expected_meta.txt), time order, symbolized callchains against
 * `perf script --kallsyms` (expected_perf_stacks.txt), pipe mode (file
 * and stdin), and a zstd-compressed capture through the input layer.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "recording_sink.h"
#include "test_perf_data_util.h"

/* Counts, order and names of one sample directory. */
static void check_sample(const char *name)
{
	char path[1024], csv[1024];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	snprintf(csv, sizeof(csv), "%s/capture.perf.data", name);
	int rc = pt_import(pt_sample(path, sizeof(path), csv), NULL, &s, &err);
	cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
	snprintf(csv, sizeof(csv), "%s/expected_perf.csv", name);
	pt_check_counts(&s, pt_sample(path, sizeof(path), csv));
	cr_expect_eq(s.out_of_order, 0, "%s: %llu events out of time order", name,
		     (unsigned long long)s.out_of_order);
	cr_expect_eq(s.lost, 0, "%s: no LOST records in these captures", name);

	/* the last name each bqlsim thread had is the one in threads.csv */
	snprintf(csv, sizeof(csv), "%s/threads.csv", name);
	FILE *f = fopen(pt_sample(path, sizeof(path), csv), "r");
	cr_assert(f);
	char line[512];
	int n = 0;
	cr_assert(fgets(line, sizeof(line), f));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ','), *c2 = strrchr(line, ',');
		if (!c1 || c1 == c2)
			continue;
		*c1 = *c2 = 0;
		int32_t tid = (int32_t)strtol(line, NULL, 10);
		const char *got = pt_comm(&s, tid);
		cr_expect(got && !strcmp(got, c1 + 1), "%s: tid %d named '%s', want '%s'",
			  name, tid, got ? got : "(none)", c1 + 1);
		n++;
	}
	fclose(f);
	cr_expect_gt(n, 0);
	pt_sink_free(&s);
}

Test(perf_data, bql_stacks) { check_sample("bql-stacks"); }
Test(perf_data, bql_zstd) { check_sample("bql-zstd"); }
Test(perf_data, bql_v6) { check_sample("bql-v6"); }
Test(perf_data, glibc_nostacks) { check_sample("glibc-nostacks"); }
Test(perf_data, bql_hogs) { check_sample("bql-hogs"); }
Test(perf_data, bql_seed5) { check_sample("bql-seed5"); }
Test(perf_data, hostile_names) { check_sample("hostile-names"); }

/* Metadata and record counts against perf report (expected_meta.txt). */
static void check_meta(const char *name)
{
	char path[1024], rel[256], want[512];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	snprintf(rel, sizeof(rel), "%s/capture.perf.data", name);
	cr_assert_eq(pt_import(pt_sample(path, sizeof(path), rel), NULL, &s, &err), 0,
		     "%s", err.msg);
	snprintf(rel, sizeof(rel), "%s/expected_meta.txt", name);
	const char *meta = pt_sample(path, sizeof(path), rel);
	static const struct { const char *ours, *theirs; } same[] = {
		{ "hostname", "perf_hostname" },
		{ "osrelease", "perf_os_release" },
		{ "tracer_version", "perf_version" },
		{ "arch", "perf_arch" },
		{ "nrcpus", "perf_nrcpus_avail" },
		{ "nrcpus_online", "perf_nrcpus_online" },
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		cr_assert(pt_expected_meta(meta, same[i].theirs, want, sizeof(want)));
		const char *got = pt_meta(&s, same[i].ours);
		cr_expect(got && !strcmp(got, want), "%s: meta %s = '%s', want '%s'",
			  name, same[i].ours, got ? got : "(none)", want);
	}
	cr_expect_str_eq(pt_meta(&s, "format"), "perf.data");
	cr_expect_str_eq(pt_meta(&s, "format_version"), "1");
	cr_expect_str_eq(pt_meta(&s, "pipe_mode"), "0");
	/* perf_clockid=monotonic (1) */
	cr_assert(pt_expected_meta(meta, "perf_clockid", want, sizeof(want)));
	cr_expect(strstr(want, "monotonic (1)"));
	cr_expect_str_eq(pt_meta(&s, "clock"), "monotonic");
	cr_expect_str_eq(pt_meta(&s, "clockid"), "1");

	cr_assert(pt_expected_meta(meta, "perf_first_ns", want, sizeof(want)));
	cr_expect_eq(s.first_ts, strtoull(want, NULL, 10));
	cr_assert(pt_expected_meta(meta, "perf_last_ns", want, sizeof(want)));
	cr_expect_eq(s.last_ts, strtoull(want, NULL, 10));
	cr_assert(pt_expected_meta(meta, "perf_samples", want, sizeof(want)));
	cr_expect_eq(s.nevents, strtoull(want, NULL, 10));

	/* record counts of perf report -D */
	static const char *const types[] = {
		"SAMPLE", "LOST", "LOST_SAMPLES", "COMM", "FORK", "EXIT", "MMAP",
		"MMAP2", "COMPRESSED", "FINISHED_ROUND", "CPU_MAP",
		"FINISHED_INIT", "ID_INDEX", "THREAD_MAP",
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char key[128];
		snprintf(key, sizeof(key), "perf_records_%s", types[i]);
		if (!pt_expected_meta(meta, key, want, sizeof(want)))
			continue;
		snprintf(key, sizeof(key), "perf_record_count.%s", types[i]);
		const char *got = pt_meta(&s, key);
		cr_expect_str_eq(got ? got : "0", want, "%s: %s", name, key);
	}
	cr_assert(pt_expected_meta(meta, "perf_records_TOTAL", want, sizeof(want)));
	cr_expect_str_eq(pt_meta(&s, "perf_records"), want);
	cr_assert(pt_expected_meta(meta, "perf_compressed", want, sizeof(want)));
	if (!strncmp(want, "Zstd", 4))
		cr_expect_str_eq(pt_meta(&s, "file_compression"), "zstd");
	else
		cr_expect_null(pt_meta(&s, "file_compression"));
	pt_sink_free(&s);
}

Test(perf_data, meta_bql_stacks) { check_meta("bql-stacks"); }
Test(perf_data, meta_bql_zstd) { check_meta("bql-zstd"); }
Test(perf_data, meta_hostile_names) { check_meta("hostile-names"); }

/*
 * The first futex sleeps of vCPU 0 (CPU 0/KVM, tid 4368) symbolized with
 * the capture kernel's kallsyms: every frame of perf script's output is
 * there, kernel frames with perf's symbol (futex_do_wait / futex_wait /
 * do_futex on this kernel), user frames with the same libc offset (and
 * name when this machine's libc has the recorded build-id), unmapped
 * addresses left alone.
 */
Test(perf_data, stacks_symbolized)
{
	char path[1024], ks[1024];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.kallsyms = pt_sample(ks, sizeof(ks), "bql-stacks/kallsyms.zst");
	memset(&s, 0, sizeof(s));
	s.stack_tid = 4368;
	cr_assert_eq(pt_import(pt_sample(path, sizeof(path), "bql-stacks/capture.perf.data"),
			       &opt, &s, &err), 0, "%s", err.msg);
	char want_src[1100];
	snprintf(want_src, sizeof(want_src), "file:%s", ks);
	cr_expect_str_eq(pt_meta(&s, "kallsyms_source"), want_src);
	cr_expect_str_eq(pt_meta(&s, "has_stacks"), "1");
	cr_assert_gt(s.nstacks, 100);

	FILE *f = fopen(pt_sample(path, sizeof(path), "bql-stacks/expected_perf_stacks.txt"), "r");
	cr_assert(f);
	char line[1024];
	struct pt_stack *cur = NULL;
	uint32_t depth = 0;
	int blocks = 0, user_named = 0, futex_frames = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		unsigned tid;
		unsigned long long sec, nsec, ip;
		char sym[512];
		if (sscanf(line, " %u %llu.%llu: sched:sched_switch:", &tid, &sec, &nsec) == 3) {
			uint64_t ts = sec * 1000000000ULL + nsec;
			cur = NULL;
			for (size_t i = 0; i < s.nstacks; i++)
				if (s.stacks[i].ts == ts)
					cur = &s.stacks[i];
			cr_assert(cur, "no stack for the switch-out at %llu", (unsigned long long)ts);
			cr_expect_eq(tid, 4368);
			depth = 0;
			blocks++;
			continue;
		}
		if (!cur || sscanf(line, " %llx %511s", &ip, sym) != 2)
			continue;
		cr_assert_lt(depth, cur->n, "stack at %llu shorter than perf's",
			     (unsigned long long)cur->ts);
		const struct pt_frame *fr = &cur->f[depth++];
		if (fr->kernel) {
			cr_expect_eq(fr->ip, ip);
			cr_expect_str_eq(fr->symbol, sym, "frame %u at %llu", depth - 1,
					 (unsigned long long)cur->ts);
			cr_expect_str_eq(fr->dso, "[kernel.kallsyms]");
			if (!strcmp(sym, "futex_wait") || !strcmp(sym, "do_futex") ||
			    !strcmp(sym, "futex_do_wait") || !strcmp(sym, "futex_wait_queue"))
				futex_frames++;
		} else if (!strcmp(sym, "[unknown]")) {
			cr_expect_eq(fr->ip, ip);	/* not in any mapping */
			cr_expect_not(fr->has_symbol);
		} else {
			/* perf prints the DSO-relative address of mapped frames */
			cr_expect_eq(fr->dso_offset, ip, "frame %u: dso offset %llx, want %llx",
				     depth - 1, (unsigned long long)fr->dso_offset, ip);
			cr_expect(fr->has_dso && strstr(fr->dso, "libc.so.6"),
				  "frame %u dso '%s'", depth - 1, fr->dso);
			if (fr->has_symbol) {
				char base[512];
				snprintf(base, sizeof(base), "%s", sym);
				base[strcspn(base, "@")] = 0;	/* symbol versions */
				cr_expect_str_eq(fr->symbol, base);
				user_named++;
			}
		}
	}
	fclose(f);
	cr_expect_eq(blocks, 30);
	cr_expect_eq(futex_frames, 30 * 3);
	cr_log_info("user frames named through this machine's libc: %d", user_named);
	pt_sink_free(&s);
}

/* Without --kallsyms, stacks of another machine keep bare addresses. */
Test(perf_data, stacks_without_kallsyms)
{
	char path[1024];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	memset(&s, 0, sizeof(s));
	s.stack_tid = 4368;
	cr_assert_eq(pt_import(pt_sample(path, sizeof(path), "bql-stacks/capture.perf.data"),
			       NULL, &s, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pt_meta(&s, "kallsyms_source"), "none");
	cr_assert_gt(s.nstacks, 0);
	cr_expect(s.stacks[0].f[0].kernel);
	cr_expect_not(s.stacks[0].f[0].has_symbol);
	cr_expect_str_eq(s.stacks[0].f[0].dso, "[kernel.kallsyms]");
	cr_expect_eq(s.stacks[0].f[0].ip, 0xffffffff813a50f1ULL);
	pt_sink_free(&s);
}

Test(perf_data, pipe_mode_file)
{
	char path[1024], csv[1024];
	const char *names[] = { "pipe", "pipe-zstd" };
	for (int i = 0; i < 2; i++) {
		struct pt_sink s = { 0 };
		struct wc_error err = WC_ERROR_INIT;
		char rel[128];
		snprintf(rel, sizeof(rel), "pipe/%s.perf.data", names[i]);
		cr_assert_eq(pt_import(pt_sample(path, sizeof(path), rel), NULL, &s, &err),
			     0, "%s", err.msg);
		snprintf(rel, sizeof(rel), "pipe/expected_%s.csv", names[i]);
		pt_check_counts(&s, pt_sample(csv, sizeof(csv), rel));
		cr_expect_str_eq(pt_meta(&s, "pipe_mode"), "1");
		cr_expect_str_eq(pt_meta(&s, "clock"), "monotonic");
		cr_expect_eq(s.out_of_order, 0);
		cr_expect_gt(s.ncomms, 0);
		if (i == 1)
			cr_expect_str_eq(pt_meta(&s, "file_compression"), "zstd");
		pt_sink_free(&s);
	}
}

/* Pipe mode read from a real pipe on stdin ("-"). */
Test(perf_data, pipe_mode_stdin)
{
	char path[1024], csv[1024];
	size_t len;
	unsigned char *buf = pt_slurp(pt_sample(path, sizeof(path), "pipe/pipe.perf.data"), &len);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		close(fds[0]);
		size_t off = 0;
		while (off < len) {
			ssize_t k = write(fds[1], buf + off, len - off > 4000 ? 4000 : len - off);
			if (k <= 0)
				_exit(1);
			off += (size_t)k;
		}
		_exit(0);
	}
	close(fds[1]);
	cr_assert_neq(dup2(fds[0], 0), -1);
	close(fds[0]);
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	cr_assert_eq(pt_import("-", NULL, &s, &err), 0, "%s", err.msg);
	pt_check_counts(&s, pt_sample(csv, sizeof(csv), "pipe/expected_pipe.csv"));
	cr_expect_str_eq(pt_meta(&s, "pipe_mode"), "1");
	int status;
	waitpid(child, &status, 0);
	pt_sink_free(&s);
	free(buf);
}

/* capture.perf.data.zst: the input layer decompresses, counts unchanged. */
Test(perf_data, zstd_compressed_file)
{
	char path[1024], out[1024], csv[1024];
	size_t len;
	unsigned char *buf = pt_slurp(pt_sample(path, sizeof(path), "bql-v6/capture.perf.data"), &len);
	size_t cap = ZSTD_compressBound(len);
	unsigned char *z = malloc(cap);
	size_t zl = ZSTD_compress(z, cap, buf, len, 3);
	cr_assert(!ZSTD_isError(zl));
	pt_write(pt_tmp(out, sizeof(out), "capture.perf.data.zst"), z, zl);
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	cr_assert_eq(pt_import(out, NULL, &s, &err), 0, "%s", err.msg);
	pt_check_counts(&s, pt_sample(csv, sizeof(csv), "bql-v6/expected_perf.csv"));
	pt_sink_free(&s);
	free(buf);
	free(z);
}

/* Runs the importer on a sample with the shared recording sink. */
static int import_recsink(const char *rel, struct recsink *rs, struct wc_error *err)
{
	char path[1024];
	struct wc_input *in = NULL;
	struct wc_sink sink;
	struct wc_symbolizer sym;
	struct wc_import_options opt;
	void *state = NULL;
	memset(&opt, 0, sizeof(opt));
	recsink_sink(rs, &sink);
	int rc = wc_input_open(pt_sample(path, sizeof(path), rel), &in, err);
	if (rc)
		return rc;
	cr_assert_eq(wc_importer_find(in), &wc_importer_perf_data);
	rc = wc_importer_perf_data.open(in, &opt, &state, &sym, err);
	if (!rc)
		rc = wc_importer_perf_data.run(state, &sink, err);
	wc_importer_perf_data.close(state);
	wc_input_close(in);
	return rc;
}

/* Cross-check with the shared recording sink: types, names, buffer. */
Test(perf_data, recording_sink)
{
	struct recsink *rs = recsink_new();
	struct wc_error err = WC_ERROR_INIT;
	cr_assert_eq(import_recsink("glibc-nostacks/capture.perf.data", rs, &err), 0,
		     "%s", err.msg);
	cr_expect_not(rs->out_of_order);
	cr_expect_not(rs->buffer_after_event);
	cr_expect_eq(rs->nevents, 15810);
	cr_expect_eq(rs->type_count[WC_EV_OTHER], 0);
	cr_expect_eq(recsink_count(rs, "sched_switch", -1),
		     rs->type_count[WC_EV_SCHED_SWITCH]);
	cr_expect_eq(recsink_count(rs, "sys_enter_futex", -1),
		     rs->type_count[WC_EV_FUTEX_ENTER]);
	cr_expect_eq(recsink_count_stacks(rs, NULL, -1), 0);
	const struct rec_buffer *b = recsink_buffer(rs, "");
	cr_assert(b);
	cr_expect_eq(b->id, 0);
	cr_expect_str_eq(b->clock, "monotonic");
	cr_expect_eq(b->ncpus, 2);
	cr_expect(recsink_has_comm(rs, -1, "CPU 0/KVM", -1));
	cr_expect(recsink_has_comm(rs, -1, "qemu-main", -1));
	cr_expect(recsink_has_comm(rs, -1, "worker 0", -1));
	/* every event knows its process (perf samples carry pid and tid) */
	for (size_t i = 0; i < rs->nevents; i++) {
		const struct wc_event *ev = &rs->events[i].ev;
		if (ev->tid > 0)
			cr_assert_geq(ev->pid, 0, "event %zu (%s tid %d) without pid", i,
				      ev->name, ev->tid);
		cr_assert_geq(ev->cpu, 0);
	}
	recsink_free(rs);
}

/* A failing sink stops the import and its error comes back. */
Test(perf_data, sink_error_stops_import)
{
	struct recsink *rs = recsink_new();
	struct wc_error err = WC_ERROR_INIT;
	rs->fail_after_events = 1000;
	int rc = import_recsink("bql-zstd/capture.perf.data", rs, &err);
	cr_expect_eq(rc, -WC_EDB, "rc %d: %s", rc, err.msg);
	cr_expect(strstr(err.msg, "injected failure"), "%s", err.msg);
	cr_expect_eq(rs->nevents, 999);
	recsink_free(rs);
}

static uint64_t progress_calls, progress_last_bytes;

static void on_progress(void *ctx, uint64_t bytes, uint64_t events)
{
	cr_assert_geq(bytes, progress_last_bytes);
	progress_last_bytes = bytes;
	progress_calls++;
}

/* *opt->interrupted is polled: a set flag stops the import. */
Test(perf_data, interrupted)
{
	char path[1024];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	volatile int stop = 1;
	memset(&opt, 0, sizeof(opt));
	opt.interrupted = &stop;
	int rc = pt_import(pt_sample(path, sizeof(path), "bql-v6/capture.perf.data"), &opt,
			   &s, &err);
	cr_expect_eq(rc, -WC_EINTERRUPTED, "rc %d: %s", rc, err.msg);
	cr_expect_lt(s.nevents, 10667);
	pt_sink_free(&s);

	/* not set: runs to the end, reporting progress */
	stop = 0;
	opt.progress = on_progress;
	memset(&s, 0, sizeof(s));
	rc = pt_import(pt_sample(path, sizeof(path), "bql-stacks/capture.perf.data"), &opt,
		       &s, &err);
	cr_expect_eq(rc, 0, "%s", err.msg);
	cr_expect_eq(s.nevents, 23840);
	cr_expect_gt(progress_calls, 0);
	pt_sink_free(&s);
}

/* A --kallsyms file that cannot be read fails the import up front. */
Test(perf_data, bad_kallsyms_file)
{
	char path[1024];
	struct pt_sink s = { 0 };
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.kallsyms = "/nonexistent/kallsyms";
	int rc = pt_import(pt_sample(path, sizeof(path), "bql-stacks/capture.perf.data"), &opt,
			   &s, &err);
	cr_expect_neq(rc, 0);
	cr_expect_str_eq(err.file, "/nonexistent/kallsyms");
	cr_expect_eq(s.nevents, 0);
	pt_sink_free(&s);
}
