/*
 * zlib-convert.c - `trace-cmd convert --file-version 7 --compression zlib`
 * for a libtracecmd built without zlib (Debian 12's): registers the zlib
 * codec trace-cmd's zlib plugin uses (compress2 level 9 / uncompress, one
 * block at a time) and calls the same libtracecmd functions as
 * trace-cmd's convert command (tracecmd_open_head, tracecmd_copy,
 * tracecmd_output_close).  Used once to make multibuf/capture-zlib.dat.
 *
 *   cc -o /tmp/zlib-convert samples/multibuf/zlib-convert.c \
 *      $(pkg-config --cflags --libs libtracecmd zlib)
 *   /tmp/zlib-convert samples/multibuf/capture2.trace.dat \
 *      samples/multibuf/capture2-zlib.trace.dat
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <trace-cmd/trace-cmd.h>
#include <zlib.h>

struct tracecmd_output;
struct tracecmd_compression_proto {
	int weight;
	const char *name, *version;
	int (*compress)(void *, const void *, int, void *, int);
	int (*uncompress)(void *, const void *, int, void *, int);
	unsigned int (*compress_size)(void *, unsigned int);
	bool (*is_supported)(const char *, const char *);
	void *(*new_context)(void);
	void (*free_context)(void *);
};
int tracecmd_compress_proto_register(struct tracecmd_compression_proto *p);
struct tracecmd_output *tracecmd_copy(struct tracecmd_input *ih,
				      const char *file, int state,
				      int file_version, const char *compression);
void tracecmd_output_close(struct tracecmd_output *h);

static int zc(void *c, const void *in, int n, void *out, int m)
{
	uLongf o = (uLongf)m;
	(void)c;
	return compress2(out, &o, in, (uLong)n, 9) == Z_OK ? (int)o : -1;
}

static int zu(void *c, const void *in, int n, void *out, int m)
{
	uLongf o = (uLongf)m;
	(void)c;
	return uncompress(out, &o, in, (uLong)n) == Z_OK ? (int)o : -1;
}

static unsigned int zs(void *c, unsigned int n)
{
	(void)c;
	return (unsigned int)compressBound(n);
}

static bool zok(const char *name, const char *v)
{
	(void)v;
	return name && strcmp(name, "zlib") == 0;
}

int main(int argc, char **argv)
{
	static struct tracecmd_compression_proto p = {
		10, "zlib", NULL, zc, zu, zs, zok, NULL, NULL
	};
	struct tracecmd_input *ih;
	struct tracecmd_output *oh;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IN.dat OUT.dat\n", argv[0]);
		return 2;
	}
	p.version = zlibVersion();
	if (tracecmd_compress_proto_register(&p)) {
		fprintf(stderr, "cannot register zlib\n");
		return 1;
	}
	ih = tracecmd_open_head(argv[1], 0);
	if (!ih) {
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 1;
	}
	/* 11 = TRACECMD_FILE_CPU_FLYRECORD: headers, options and data */
	oh = tracecmd_copy(ih, argv[2], 11, 7, "zlib");
	if (!oh) {
		fprintf(stderr, "cannot write %s\n", argv[2]);
		return 1;
	}
	tracecmd_output_close(oh);
	tracecmd_close(ih);
	return 0;
}
