/*
 * perf_symbols.c - the perf.data importer's symbolizer (struct
 * wc_symbolizer): names for callchain frames.
 *
 * Kernel frames: a kallsyms table ("ADDR TYPE NAME [\t[MODULE]]" lines,
 * text symbols only) sorted once by address, looked up by binary search.
 * Source, in order: --kallsyms FILE (may be .zst/.gz: read through
 * wc_input), the capture's own kallsyms (tracing data; perf writes it
 * empty), /proc/kallsyms when the capture's hostname and osrelease are
 * this machine's (uname) and WAITCHAIN_NO_PROC_KALLSYMS is not set (the
 * fuzz harness sets it: reading /proc/kallsyms takes ~0.3 s).  The choice
 * goes to meta kallsyms_source.
 *
 * User frames: the MMAP/MMAP2 records of each process (executable
 * mappings only; a new process shares its parent's maps until it execs)
 * give the DSO and the file offset; the DSO's ELF symbol table (.symtab,
 * else .dynsym; read with libelf, sorted once per DSO and cached) gives
 * the function, after translating the file offset to a virtual address
 * through the PT_LOAD program headers.  The binary is opened at its path,
 * under --symfs DIR when given, and only used when its GNU build-id
 * matches the one the capture recorded (BUILD_ID feature or MMAP2), if
 * any.  Unresolved frames keep their address (symbol NULL).
 *
 * Memory: per process a growable array of maps; per DSO one symbol array
 * and one name blob.  resolve() runs about once per distinct frame (the
 * sink deduplicates stacks through a bounded cache), so it may scan a
 * process's maps linearly.
 * Hostile input: kallsyms lines and ELF contents are parsed with bounds
 * checks (libelf for ELF); names are copied, never interpreted.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>

#include "perf_data.h"

#define KALLSYMS_MAX_BYTES (512U << 20)
#define PROC_PARENT_DEPTH 16

struct sym {
	uint64_t addr;
	uint64_t size;		/* 0 = unknown (kallsyms) */
	uint32_t name;		/* offset in the name blob */
	uint32_t module;	/* offset of "[module]" in the blob, 0 = none */
};

struct symtab {
	struct sym *syms;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
};

struct dso {
	char *path;
	unsigned char bid[20];
	uint8_t bid_size;	/* 0 = no expected build-id */
	int loaded;		/* symbols looked for */
	struct symtab tab;
	/* PT_LOAD segments for file offset -> vaddr */
	struct {
		uint64_t offset, filesz, vaddr;
	} seg[16];
	int nseg;
};

struct map {
	uint64_t start, end, pgoff;
	uint32_t dso;
};

struct proc {
	int32_t pid;
	int32_t parent;		/* -1 none */
	struct map *maps;
	size_t n, cap;
};

struct perf_symbols {
	struct perf_reader *r;
	int kernel_loaded;
	int proc_pending;	/* /proc/kallsyms chosen, not read yet */
	struct symtab kernel;
	char kernel_source[600];
	struct dso *dsos;
	size_t ndsos, dsos_cap;
	struct proc *procs;
	size_t nprocs, procs_cap;
	int32_t *proc_hash;	/* index+1 into procs, 0 empty */
	size_t hash_cap;
	int elf_ready;
	char pathbuf[4096];
};

/* --- symbol tables ------------------------------------------------------ */

static int tab_name(struct symtab *t, const char *s, size_t len, uint32_t *off)
{
	if (t->names_len + len + 1 > UINT32_MAX)
		return -WC_ELIMIT;
	if (t->names_cap - t->names_len < len + 1) {
		size_t ncap = t->names_cap ? t->names_cap * 2 : 65536;
		while (ncap - t->names_len < len + 2)
			ncap *= 2;
		char *nn = realloc(t->names, ncap);
		if (!nn)
			return -WC_ENOMEM;
		t->names = nn;
		t->names_cap = ncap;
		if (!t->names_len)
			t->names[t->names_len++] = 0;	/* offset 0 = "" */
	}
	*off = (uint32_t)t->names_len;
	memcpy(t->names + t->names_len, s, len);
	t->names[t->names_len + len] = 0;
	t->names_len += len + 1;
	return 0;
}

static int tab_add(struct symtab *t, uint64_t addr, uint64_t size,
		   const char *name, size_t len, uint32_t module)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		struct sym *ns = realloc(t->syms, ncap * sizeof(*ns));
		if (!ns)
			return -WC_ENOMEM;
		t->syms = ns;
		t->cap = ncap;
	}
	uint32_t off;
	int rc = tab_name(t, name, len, &off);
	if (rc)
		return rc;
	t->syms[t->n++] = (struct sym){ addr, size, off, module };
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sorts T by address (kallsyms is usually sorted already: checked first). */
static void tab_sort(struct symtab *t)
{
	size_t i = 1;
	while (i < t->n && t->syms[i - 1].addr <= t->syms[i].addr)
		i++;
	if (i < t->n)
		qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
}

/* The symbol containing ADDR (last start <= addr), or NULL. */
static const struct sym *tab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct sym *s = &t->syms[lo - 1];
	if (s->size && addr - s->addr >= s->size)
		return NULL;
	return s;
}

static void tab_free(struct symtab *t)
{
	free(t->syms);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

/* --- kallsyms ----------------------------------------------------------- */

/* Parses kallsyms text TEXT (LEN bytes) into S->kernel; text symbols only. */
static int parse_kallsyms(struct perf_symbols *s, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	uint32_t last_mod = 0;
	char last_mod_name[128] = "";
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		/* ADDR */
		uint64_t addr = 0;
		const char *q = p;
		int digits = 0;
		while (q < le && digits < 17) {
			int c = (unsigned char)*q, v;
			if (c >= '0' && c <= '9')
				v = c - '0';
			else if (c >= 'a' && c <= 'f')
				v = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v = c - 'A' + 10;
			else
				break;
			addr = addr << 4 | (uint64_t)v;
			q++;
			digits++;
		}
		if (digits && q + 3 < le && q[0] == ' ' && q[2] == ' ' &&
		    strchr("tTwW", q[1]) && q[1]) {
			const char *name = q + 3, *ne = name;
			while (ne < le && *ne != '\t' && *ne != ' ')
				ne++;
			uint32_t mod = 0;
			const char *mb = ne;
			while (mb < le && (*mb == '\t' || *mb == ' '))
				mb++;
			if (mb < le && *mb == '[') {
				const char *me = memchr(mb, ']', (size_t)(le - mb));
				size_t ml = me ? (size_t)(me - mb) + 1 : 0;
				if (ml && ml < sizeof(last_mod_name)) {
					if (strncmp(last_mod_name, mb, ml) ||
					    last_mod_name[ml]) {
						memcpy(last_mod_name, mb, ml);
						last_mod_name[ml] = 0;
						if ((rc = tab_name(&s->kernel, mb, ml, &last_mod)))
							return rc;
					}
					mod = last_mod;
				}
			}
			if (ne > name && addr &&
			    (rc = tab_add(&s->kernel, addr, 0, name, (size_t)(ne - name), mod)))
				return rc;
		}
		p = nl ? nl + 1 : end;
	}
	tab_sort(&s->kernel);
	return 0;
}

/* Reads all of PATH through wc_input (decompressing .zst/.gz).  *out is
 * malloc'ed and NUL-terminated; caller frees. */
static int read_all(struct perf_symbols *s, const char *path, char **out,
		    size_t *len)
{
	struct perf_reader *r = s->r;
	struct wc_input *in = NULL;
	char *buf = NULL;
	size_t used = 0, cap = 0;
	int rc = wc_input_open(path, &in, r->err);
	if (rc)
		return rc;
	for (;;) {
		if (cap - used < 65536) {
			size_t ncap = cap ? cap * 2 : 1U << 20;
			if (ncap > KALLSYMS_MAX_BYTES + 65536) {
				rc = wc_err(r->err, WC_ELIMIT, path,
					    "kallsyms larger than %u bytes",
					    KALLSYMS_MAX_BYTES);
				goto out;
			}
			char *nb = realloc(buf, ncap);
			if (!nb) {
				rc = wc_err(r->err, WC_ENOMEM, path, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t k = wc_input_read(in, buf + used, cap - used - 1, r->err);
		if (k < 0) {
			rc = (int)k;
			goto out;
		}
		if (!k)
			break;
		used += (size_t)k;
	}
	buf[used] = 0;
	*out = buf;
	*len = used;
	buf = NULL;
out:
	free(buf);
	wc_input_close(in);
	return rc;
}

/* 1 if /proc/kallsyms shows real addresses (root, kptr_restrict). */
static int proc_kallsyms_usable(void)
{
	char line[256];
	FILE *f = fopen("/proc/kallsyms", "r");
	int ok = 0;
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		ok = strtoull(line, NULL, 16) != 0;
	fclose(f);
	return ok;
}

/* Loads /proc/kallsyms chosen by perf_symbols_load_kernel(); failures
 * leave kernel frames unnamed. */
static void load_proc_kallsyms(struct perf_symbols *s)
{
	struct wc_error e = WC_ERROR_INIT;
	struct wc_error *keep = s->r->err;
	char *text = NULL;
	size_t len = 0;
	s->proc_pending = 0;
	s->r->err = &e;
	if (!read_all(s, "/proc/kallsyms", &text, &len))
		parse_kallsyms(s, text, len);
	s->r->err = keep;
	free(text);
}

int perf_symbols_load_kernel(struct perf_symbols *s)
{
	struct perf_reader *r = s->r;
	char *text = NULL;
	size_t len = 0;
	int rc = 0;

	if (s->kernel_loaded)
		return 0;
	s->kernel_loaded = 1;
	snprintf(s->kernel_source, sizeof(s->kernel_source), "none");
	if (!r->has_callchain) {
		/* no stacks: nothing to symbolize */
	} else if (r->opt->kallsyms) {
		if ((rc = read_all(s, r->opt->kallsyms, &text, &len)))
			return rc;
		snprintf(s->kernel_source, sizeof(s->kernel_source), "file:%s",
			 r->opt->kallsyms);
	} else if (r->capture_kallsyms && r->capture_kallsyms[0]) {
		if ((rc = parse_kallsyms(s, r->capture_kallsyms,
					 strlen(r->capture_kallsyms))))
			goto nomem;
		snprintf(s->kernel_source, sizeof(s->kernel_source), "capture");
	} else if (r->has_callchain && r->hostname && r->osrelease &&
		   !getenv("WAITCHAIN_NO_PROC_KALLSYMS")) {
		struct utsname u;
		if (!uname(&u) && !strcmp(u.nodename, r->hostname) &&
		    !strcmp(u.release, r->osrelease) && proc_kallsyms_usable()) {
			/* this machine's kernel: read it at the first kernel
			 * frame (it is slow to generate) */
			s->proc_pending = 1;
			snprintf(s->kernel_source, sizeof(s->kernel_source),
				 "/proc/kallsyms");
		}
	}
	if (text) {
		rc = parse_kallsyms(s, text, len);
		free(text);
		if (rc)
			goto nomem;
		if (!s->kernel.n)	/* e.g. /proc/kallsyms read without root */
			snprintf(s->kernel_source, sizeof(s->kernel_source), "none");
	}
	return perf_meta_set(r, "kallsyms_source", s->kernel_source);
nomem:
	return wc_err(r->err, -rc, r->path, "kallsyms: out of memory or too many symbols");
}

/* --- processes and maps ------------------------------------------------- */

static struct proc *proc_find(struct perf_symbols *s, int32_t pid)
{
	if (!s->hash_cap)
		return NULL;
	size_t mask = s->hash_cap - 1;
	for (size_t i = ((uint32_t)pid * 2654435761U) & mask;; i = (i + 1) & mask) {
		int32_t v = s->proc_hash[i];
		if (!v)
			return NULL;
		if (s->procs[v - 1].pid == pid)
			return &s->procs[v - 1];
	}
}

static struct proc *proc_get(struct perf_symbols *s, int32_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (p)
		return p;
	if (s->nprocs >= INT32_MAX - 1)
		return NULL;
	if ((s->nprocs + 1) * 2 > s->hash_cap) {
		size_t ncap = s->hash_cap ? s->hash_cap * 2 : 256;
		int32_t *nh = calloc(ncap, sizeof(*nh));
		if (!nh)
			return NULL;
		for (size_t k = 0; k < s->nprocs; k++) {
			size_t i = ((uint32_t)s->procs[k].pid * 2654435761U) & (ncap - 1);
			while (nh[i])
				i = (i + 1) & (ncap - 1);
			nh[i] = (int32_t)k + 1;
		}
		free(s->proc_hash);
		s->proc_hash = nh;
		s->hash_cap = ncap;
	}
	if (s->nprocs == s->procs_cap) {
		size_t ncap = s->procs_cap ? s->procs_cap * 2 : 64;
		struct proc *np = realloc(s->procs, ncap * sizeof(*np));
		if (!np)
			return NULL;
		s->procs = np;
		s->procs_cap = ncap;
	}
	p = &s->procs[s->nprocs];
	*p = (struct proc){ pid, -1, NULL, 0, 0 };
	size_t i = ((uint32_t)pid * 2654435761U) & (s->hash_cap - 1);
	while (s->proc_hash[i])
		i = (i + 1) & (s->hash_cap - 1);
	s->proc_hash[i] = (int32_t)++s->nprocs;
	return p;
}

/* DSO index for PATH (+ expected build-id), created on first sight. */
static int dso_get(struct perf_symbols *s, const char *path,
		   const unsigned char *bid, size_t bid_size, uint32_t *out)
{
	for (size_t i = s->ndsos; i-- > 0;) {
		if (!strcmp(s->dsos[i].path, path)) {
			*out = (uint32_t)i;
			if (bid_size && !s->dsos[i].bid_size) {
				memcpy(s->dsos[i].bid, bid, bid_size);
				s->dsos[i].bid_size = (uint8_t)bid_size;
			}
			return 0;
		}
	}
	if (s->ndsos == s->dsos_cap) {
		size_t ncap = s->dsos_cap ? s->dsos_cap * 2 : 64;
		struct dso *nd = realloc(s->dsos, ncap * sizeof(*nd));
		if (!nd)
			return -WC_ENOMEM;
		s->dsos = nd;
		s->dsos_cap = ncap;
	}
	struct dso *d = &s->dsos[s->ndsos];
	memset(d, 0, sizeof(*d));
	d->path = strdup(path);
	if (!d->path)
		return -WC_ENOMEM;
	if (bid_size) {
		memcpy(d->bid, bid, bid_size);
		d->bid_size = (uint8_t)bid_size;
	} else {
		/* the BUILD_ID feature, when the capture has one */
		const struct perf_reader *r = s->r;
		for (size_t i = 0; i < r->nbuildids; i++) {
			if (!strcmp(r->buildids[i].path, path)) {
				memcpy(d->bid, r->buildids[i].id, 20);
				d->bid_size = r->buildids[i].size;
				break;
			}
		}
	}
	*out = (uint32_t)s->ndsos++;
	return 0;
}

int perf_symbols_mmap(struct perf_symbols *s, int32_t pid, uint64_t start,
		      uint64_t len, uint64_t pgoff, const char *filename,
		      const unsigned char *buildid, size_t buildid_size)
{
	if (pid == -1 || !len || start + len < start)
		return 0;	/* kernel maps: kallsyms covers them */
	struct proc *p = proc_get(s, pid);
	uint32_t dso;
	int rc;
	if (!p)
		goto nomem;
	if ((rc = dso_get(s, filename, buildid, buildid_size, &dso)))
		goto nomem;
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 16;
		struct map *nm = realloc(p->maps, ncap * sizeof(*nm));
		if (!nm)
			goto nomem;
		p->maps = nm;
		p->cap = ncap;
	}
	p->maps[p->n++] = (struct map){ start, start + len, pgoff, dso };
	return 0;
nomem:
	return wc_err(s->r->err, WC_ENOMEM, s->r->path, "out of memory (maps)");
}

int perf_symbols_fork(struct perf_symbols *s, int32_t child, int32_t parent)
{
	struct proc *p = proc_get(s, child);
	if (!p)
		return wc_err(s->r->err, WC_ENOMEM, s->r->path, "out of memory (maps)");
	if (child != parent) {
		p->parent = parent;
		p->n = 0;	/* a reused pid: the old process's maps are gone */
	}
	return 0;
}

void perf_symbols_exec(struct perf_symbols *s, int32_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (p) {
		p->n = 0;
		p->parent = -1;
	}
}

/* --- ELF ---------------------------------------------------------------- */

/* Loads D's symbols and PT_LOAD segments, once; a missing or mismatching
 * binary leaves the table empty. */
static void dso_load(struct perf_symbols *s, struct dso *d)
{
	d->loaded = 1;
	if (d->path[0] != '/')
		return;		/* [vdso], //anon, [heap]... */
	if (!s->elf_ready) {
		elf_version(EV_CURRENT);
		s->elf_ready = 1;
	}
	const char *symfs = s->r->opt->symfs;
	if (symfs && *symfs)
		snprintf(s->pathbuf, sizeof(s->pathbuf), "%s%s", symfs, d->path);
	else
		snprintf(s->pathbuf, sizeof(s->pathbuf), "%s", d->path);
	/* the path comes from the capture: never block on a FIFO or a
	 * device, read regular files only */
	int fd = open(s->pathbuf, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	struct stat st;
	Elf *elf = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto out;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	if (d->bid_size) {
		const void *bid = NULL;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &bid);
		if (n != d->bid_size || memcmp(bid, d->bid, (size_t)n))
			goto out;	/* another build of that path */
	}
	size_t nph = 0;
	if (elf_getphdrnum(elf, &nph))
		goto out;
	for (size_t i = 0; i < nph && d->nseg < 16; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			d->seg[d->nseg].offset = ph.p_offset;
			d->seg[d->nseg].filesz = ph.p_filesz;
			d->seg[d->nseg].vaddr = ph.p_vaddr;
			d->nseg++;
		}
	}
	/* .symtab if present, else .dynsym */
	for (int want = SHT_SYMTAB; want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)want ||
			    !sh.sh_entsize)
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			if (!data)
				continue;
			size_t n = sh.sh_size / sh.sh_entsize;
			for (size_t i = 0; i < n; i++) {
				GElf_Sym sym;
				if (!gelf_getsym(data, (int)i, &sym))
					break;
				int t = GELF_ST_TYPE(sym.st_info);
				if ((t != STT_FUNC && t != STT_GNU_IFUNC) ||
				    sym.st_shndx == SHN_UNDEF || !sym.st_value)
					continue;
				const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (!name || !*name)
					continue;
				if (tab_add(&d->tab, sym.st_value, sym.st_size, name,
					    strlen(name), 0))
					goto out;
			}
		}
		if (d->tab.n)
			break;
	}
	tab_sort(&d->tab);
out:
	if (elf)
		elf_end(elf);
	close(fd);
}

/* --- resolve ------------------------------------------------------------ */

int perf_symbols_resolve(void *ctx, int32_t pid, uint64_t ip, int kernel,
			 const char **symbol, uint64_t *symbol_offset,
			 const char **dso, uint64_t *dso_offset)
{
	struct perf_symbols *s = ctx;
	*symbol = NULL;
	*symbol_offset = 0;
	*dso = NULL;
	*dso_offset = 0;
	if (kernel) {
		*dso = "[kernel.kallsyms]";
		*dso_offset = ip;
		if (s->proc_pending)
			load_proc_kallsyms(s);
		const struct sym *k = tab_find(&s->kernel, ip);
		if (k) {
			*symbol = s->kernel.names + k->name;
			*symbol_offset = ip - k->addr;
			if (k->module)
				*dso = s->kernel.names + k->module;
		}
		return 0;
	}
	struct proc *p = proc_find(s, pid);
	for (int depth = 0; p && depth < PROC_PARENT_DEPTH; depth++) {
		for (size_t i = p->n; i-- > 0;) {
			const struct map *m = &p->maps[i];
			if (ip < m->start || ip >= m->end)
				continue;
			struct dso *d = &s->dsos[m->dso];
			uint64_t off = ip - m->start + m->pgoff;
			*dso = d->path;
			*dso_offset = off;
			if (!d->loaded)
				dso_load(s, d);
			uint64_t vaddr = off;
			for (int k = 0; k < d->nseg; k++) {
				if (off >= d->seg[k].offset &&
				    off - d->seg[k].offset < d->seg[k].filesz) {
					vaddr = off - d->seg[k].offset + d->seg[k].vaddr;
					break;
				}
			}
			const struct sym *sy = tab_find(&d->tab, vaddr);
			if (sy) {
				*symbol = d->tab.names + sy->name;
				*symbol_offset = vaddr - sy->addr;
			}
			return 0;
		}
		p = p->parent >= 0 && p->parent != p->pid ? proc_find(s, p->parent) : NULL;
	}
	return 0;
}

/* --- lifetime ----------------------------------------------------------- */

struct perf_symbols *perf_symbols_new(struct perf_reader *r)
{
	struct perf_symbols *s = calloc(1, sizeof(*s));
	if (s)
		s->r = r;
	return s;
}

void perf_symbols_free(struct perf_symbols *s)
{
	if (!s)
		return;
	tab_free(&s->kernel);
	for (size_t i = 0; i < s->ndsos; i++) {
		free(s->dsos[i].path);
		tab_free(&s->dsos[i].tab);
	}
	free(s->dsos);
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].maps);
	free(s->procs);
	free(s->proc_hash);
	free(s);
}
