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
 * Note: the importer reads and decodes the CPU data in forked sandbox
 * children (crashes there become WC_EFORMAT), where libFuzzer sees
 * neither coverage nor crashes.  So every input the sandboxed import
 * accepts is imported again in process (opt.in_process): our decoding,
 * stream and merge code runs under the fuzzer's eyes, on inputs
 * libtracecmd is known to survive, and both imports must deliver the
 * same events (a hash of them), or the harness aborts.
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
	uint64_t hash;		/* of every event delivered, in order */
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
	x->hash = (x->hash ^ ev->ts) * 0x100000001b3ull;
	x->hash = (x->hash ^ (uint64_t)(ev->type | (uint64_t)(uint32_t)ev->tid << 8 |
					(uint64_t)(uint32_t)ev->cpu << 40)) *
		  0x100000001b3ull;
	x->hash = (x->hash ^ (ev->stack ? ev->stack->nframes + 1u : 0u) ^
		   (uint64_t)(uint32_t)ev->buffer << 32) * 0x100000001b3ull;
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

/*
 * Imports the file open on FD (SIZE bytes, DATA) into CTX's sink, in
 * forked children or IN_PROCESS; returns the importer's code.
 */
static int import_once(const uint8_t *data, size_t size, int fd,
		       int in_process, struct tdfz_ctx *ctx)
{
	struct wc_input in;
	struct wc_error err = WC_ERROR_INIT;
	struct wc_import_options opt;
	struct wc_sink sink = { .ctx = ctx, .meta = tdfz_meta, .buffer = tdfz_buffer,
				.comm = tdfz_comm, .lost = tdfz_lost,
				.event = tdfz_event };
	void *state = NULL;
	int rc;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	memset(&in, 0, sizeof(in));
	memset(&opt, 0, sizeof(opt));
	memset(ctx, 0, sizeof(*ctx));
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
	opt.in_process = in_process;
	rc = wc_importer_trace_dat.open(&in, &opt, &state, &ctx->sym, &err);
	if (rc == 0)
		rc = wc_importer_trace_dat.run(state, &sink, &err);
	wc_importer_trace_dat.close(state);
	return rc;
}

/* One input, imported from a memfd (twice if accepted); returns 0. */
int wc_fuzz_trace_dat_one(const uint8_t *data, size_t size)
{
	struct tdfz_ctx sandboxed, local;
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
	if (import_once(data, size, fd, 0, &sandboxed) == 0) {
		if (import_once(data, size, fd, 1, &local) != 0 ||
		    local.n != sandboxed.n || local.hash != sandboxed.hash)
			abort();	/* the two paths must agree */
	}
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
