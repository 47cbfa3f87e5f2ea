/*
 * fuzz_perf_data.c - libFuzzer harness for the perf.data importer.
 *
 * Each input is imported twice through a memfd: once as a seekable file
 * (mmap transport, file-mode header and feature sections) and once as a
 * pipe (stream transport: wc_input_read), with --salvage on the second
 * pass so the salvage flush is exercised too.  The sink resolves every
 * stack frame through the importer's symbolizer (kallsyms table, MMAP
 * maps, ELF loading of the paths the input names) and checks that events
 * arrive in time order.  Any crash, hang, leak or sanitizer report is a
 * bug; error returns are expected.
 *
 * Build: cmake -DWC_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 *   fuzz_perf_data tests/fuzz/corpus/perf_data -max_len=262144
 * Regression inputs live in tests/fuzz/regressions/perf_data/ and are
 * replayed by tests/unit/test_perf_data_fuzz.c (which includes this file
 * with WC_FUZZ_NO_MAIN to call wc_fuzz_perf_data_one()).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "waitchain/importer.h"

struct fuzz_ctx {
	struct wc_symbolizer sym;
	uint64_t last_ts;
	uint64_t n;
};

static int fz_meta(void *c, const char *k, const char *v, struct wc_error *e)
{
	return (k && v) ? 0 : -1;
}

static int fz_buffer(void *c, const struct wc_buffer_info *b, struct wc_error *e)
{
	return 0;
}

static int fz_comm(void *c, uint64_t ts, int32_t tid, int32_t pid,
		   const char *comm, enum wc_comm_source s, struct wc_error *e)
{
	return strlen(comm) < 4096 ? 0 : -1;
}

static int fz_lost(void *c, int32_t cpu, uint64_t a, uint64_t b, uint64_t n,
		   const char *k, struct wc_error *e)
{
	return 0;
}

static int fz_event(void *c, const struct wc_event *ev, struct wc_error *e)
{
	struct fuzz_ctx *x = c;
	if (x->n++ && ev->ts < x->last_ts)
		abort();	/* the ordering contract */
	x->last_ts = ev->ts;
	if (ev->stack && x->sym.resolve) {
		if (ev->stack->nframes > 1024)
			abort();
		for (uint32_t i = 0; i < ev->stack->nframes; i++) {
			const char *sym = NULL, *dso = NULL;
			uint64_t so, doff;
			x->sym.resolve(x->sym.ctx, ev->pid, ev->stack->frames[i].ip,
				       ev->stack->frames[i].kernel, &sym, &so, &dso,
				       &doff);
			if (sym)
				(void)strlen(sym);
			if (dso)
				(void)strlen(dso);
		}
	}
	return 0;
}

static void run_once(int fd, const uint8_t *data, size_t size, int seekable)
{
	struct wc_input in;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	struct fuzz_ctx ctx;
	struct wc_sink sink = { .ctx = &ctx, .meta = fz_meta, .buffer = fz_buffer,
				.comm = fz_comm, .lost = fz_lost, .event = fz_event };
	void *state = NULL;

	memset(&in, 0, sizeof(in));
	memset(&opt, 0, sizeof(opt));
	memset(&ctx, 0, sizeof(ctx));
	in.path = "fuzz";
	in.fd = fd;
	in.seekable = seekable;
	in.size = seekable ? size : 0;
	in.source_size = size;
	in.compression = "none";
	in.head_len = size < WC_INPUT_HEAD ? size : WC_INPUT_HEAD;
	memcpy(in.head, data, in.head_len);
	in.head_pos = seekable ? in.head_len : 0;
	if (lseek(fd, seekable ? 0 : (off_t)in.head_len, SEEK_SET) < 0)
		return;
	opt.salvage = !seekable;
	if (!wc_importer_perf_data.probe(in.head, in.head_len))
		return;
	if (wc_importer_perf_data.open(&in, &opt, &state, &ctx.sym, &err) == 0)
		wc_importer_perf_data.run(state, &sink, &err);
	wc_importer_perf_data.close(state);
}

/* One input through both transports. */
int wc_fuzz_perf_data_one(const uint8_t *data, size_t size)
{
	/* inputs recorded on this machine would read /proc/kallsyms (slow) */
	setenv("WAITCHAIN_NO_PROC_KALLSYMS", "1", 1);
	int fd = memfd_create("fuzz-perf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t off = 0;
	while (off < size) {
		ssize_t k = write(fd, data + off, size - off);
		if (k <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)k;
	}
	run_once(fd, data, size, 1);
	run_once(fd, data, size, 0);
	close(fd);
	return 0;
}

#ifndef WC_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return wc_fuzz_perf_data_one(data, size);
}
#endif
