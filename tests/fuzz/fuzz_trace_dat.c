/*
 * fuzz_trace_dat.c - libFuzzer harness for the trace.dat importer
 * (importers/trace_dat.c: structural checker, libtracecmd, libtraceevent
 * payload decoding).
 *
 * Each input is written to a memfd and imported as a seekable file into a
 * null sink that only checks the sink contract (events in time order,
 * stacks of sane depth, strings NUL-terminated).  The last input byte's
 * low bit selects --salvage, so both the strict path and the salvage path
 * (padded copy of a truncated file) are exercised.  Error returns are
 * expected; any crash, hang, leak or sanitizer report is a bug.
 *
 * Note: the importer runs libtracecmd's first pass in a forked sandbox
 * child (crashes there become WC_EFORMAT); the in-process open and the
 * event pass that follow are what this harness can catch crashing.
 *
 * Build: cmake -DWC_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 *   tools/fuzz.sh fuzz_trace_dat 600
 * Replay without libFuzzer: compiled into tests/unit/test_fuzz_regressions.c
 * with -DWC_FUZZ_REPLAY (then only wc_fuzz_trace_dat_one() is defined).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "waitchain/importer.h"

int wc_fuzz_trace_dat_one(const uint8_t *data, size_t size);

struct tdfz_ctx {
	struct wc_symbolizer sym;
	uint64_t last_ts;
	uint64_t n;
};

static int tdfz_meta(void *c, const char *k, const char *v, struct wc_error *e)
{
	return (k && v && strlen(k) + strlen(v) < (1u << 30)) ? 0 : -1;
}

static int tdfz_buffer(void *c, const struct wc_buffer_info *b,
		       struct wc_error *e)
{
	return b->name ? 0 : -1;
}

static int tdfz_comm(void *c, uint64_t ts, int32_t tid, int32_t pid,
		     const char *comm, enum wc_comm_source s, struct wc_error *e)
{
	return strlen(comm) < 4096 ? 0 : -1;
}

static int tdfz_lost(void *c, int32_t cpu, uint64_t a, uint64_t b, uint64_t n,
		     const char *k, struct wc_error *e)
{
	return k ? 0 : -1;
}

static int tdfz_event(void *c, const struct wc_event *ev, struct wc_error *e)
{
	struct tdfz_ctx *x = c;

	if (x->n++ && ev->ts < x->last_ts)
		abort();	/* the ordering contract of event.h */
	x->last_ts = ev->ts;
	if (ev->name)
		(void)strlen(ev->name);
	if (ev->stack) {
		if (ev->stack->nframes > 4096)
			abort();
		for (uint32_t i = 0; i < ev->stack->nframes && x->sym.resolve; i++) {
			const char *sym = NULL, *dso = NULL;
			uint64_t so, doff;

			x->sym.resolve(x->sym.ctx, ev->pid, ev->stack->frames[i].ip,
				       ev->stack->frames[i].kernel, &sym, &so,
				       &dso, &doff);
			if (sym)
				(void)strlen(sym);
			if (dso)
				(void)strlen(dso);
		}
	}
	return 0;
}

/* One input, imported once from a memfd; always returns 0. */
int wc_fuzz_trace_dat_one(const uint8_t *data, size_t size)
{
	struct wc_input in;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	struct tdfz_ctx ctx;
	struct wc_sink sink = { &ctx, tdfz_meta, tdfz_buffer, tdfz_comm,
				tdfz_lost, tdfz_event };
	void *state = NULL;
	size_t off = 0;
	int fd;

	if (!wc_importer_trace_dat.probe(data, size < WC_INPUT_HEAD ? size : WC_INPUT_HEAD))
		return 0;
	fd = memfd_create("fuzz-tdat", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t k = write(fd, data + off, size - off);

		if (k <= 0)
			goto out;
		off += (size_t)k;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		goto out;
	memset(&in, 0, sizeof(in));
	memset(&opt, 0, sizeof(opt));
	memset(&ctx, 0, sizeof(ctx));
	in.path = "fuzz.trace.dat";
	in.fd = fd;
	in.seekable = 1;
	in.size = size;
	in.source_size = size;
	in.compression = "none";
	in.head_len = size < WC_INPUT_HEAD ? size : WC_INPUT_HEAD;
	memcpy(in.head, data, in.head_len);
	in.head_pos = in.head_len;
	opt.salvage = size ? (data[size - 1] & 1) : 0;
	/* a file that makes libtracecmd loop is reported after this long,
	 * well inside tools/fuzz.sh's -timeout=30 */
	opt.library_timeout = 5;
	if (wc_importer_trace_dat.open(&in, &opt, &state, &ctx.sym, &err) == 0)
		wc_importer_trace_dat.run(state, &sink, &err);
	wc_importer_trace_dat.close(state);
out:
	close(fd);
	return 0;
}

#ifndef WC_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return wc_fuzz_trace_dat_one(data, size);
}
#endif
