/*
 * util.c - growable buffer, hashing, number parsing, clocks, paths,
 * helper threads.
 * See include/waitchain/util.h for the contracts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "waitchain/util.h"

int wc_buf_reserve(struct wc_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX / 2 - b->len)
		return -WC_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -WC_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int wc_buf_add(struct wc_buf *b, const void *data, size_t n)
{
	if (wc_buf_reserve(b, n))
		return -WC_ENOMEM;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int wc_buf_addc(struct wc_buf *b, int c)
{
	if (b->len + 1 >= b->cap && wc_buf_reserve(b, 1))
		return -WC_ENOMEM;
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
	return 0;
}

int wc_buf_adds(struct wc_buf *b, const char *s)
{
	return s ? wc_buf_add(b, s, strlen(s)) : 0;
}

int wc_buf_vprintf(struct wc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -WC_ENOMEM;
	if (wc_buf_reserve(b, (size_t)n))
		return -WC_ENOMEM;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int wc_buf_printf(struct wc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = wc_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *wc_buf_str(const struct wc_buf *b)
{
	return b->data ? b->data : "";
}

void wc_buf_reset(struct wc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void wc_buf_free(struct wc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *wc_buf_detach(struct wc_buf *b)
{
	char *s = b->data ? b->data : strdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

uint64_t wc_hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ wc_mix64(seed);

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return wc_mix64(h);
}

/* --- interned strings ------------------------------------------------------- */

void wc_strset_free(struct wc_strset *s)
{
	for (size_t i = 0; i < s->nslots; i++)
		free(s->slots[i]);
	free(s->slots);
	free(s->hashes);
	memset(s, 0, sizeof(*s));
}

/* Doubles the table (64 slots at first): 0, or -1 on ENOMEM (S unchanged). */
static int strset_grow(struct wc_strset *s)
{
	size_t n = s->nslots ? s->nslots * 2 : 64;
	char **slots = calloc(n, sizeof(*slots));
	uint64_t *hashes = calloc(n, sizeof(*hashes));

	if (!slots || !hashes) {
		free(slots);
		free(hashes);
		return -1;
	}
	for (size_t i = 0; i < s->nslots; i++) {
		size_t j;

		if (!s->slots[i])
			continue;
		j = s->hashes[i] & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = s->slots[i];
		hashes[j] = s->hashes[i];
	}
	free(s->slots);
	free(s->hashes);
	s->slots = slots;
	s->hashes = hashes;
	s->nslots = n;
	return 0;
}

const char *wc_strset_intern(struct wc_strset *s, const char *str)
{
	uint64_t h = wc_hash_str(str);
	size_t i;

	if ((s->nused + 1) * 2 > s->nslots && strset_grow(s))
		return NULL;
	i = h & (s->nslots - 1);
	while (s->slots[i]) {
		if (s->hashes[i] == h && strcmp(s->slots[i], str) == 0)
			return s->slots[i];
		i = (i + 1) & (s->nslots - 1);
	}
	s->slots[i] = strdup(str);
	if (!s->slots[i])
		return NULL;
	s->hashes[i] = h;
	s->nused++;
	return s->slots[i];
}


int wc_parse_int64(const char *s, int64_t *out)
{
	int neg = 0;
	uint64_t v = 0;

	if (!s || !*s)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		const char *p = s + 2;

		if (!*p)
			return 0;
		for (; *p; p++) {
			int d;

			if (*p >= '0' && *p <= '9')
				d = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				d = *p - 'a' + 10;
			else if (*p >= 'A' && *p <= 'F')
				d = *p - 'A' + 10;
			else
				return 0;
			if (v >> 60)
				return 0;
			v = v << 4 | (uint64_t)d;
		}
		*out = (int64_t)v;
		return 1;
	}
	if (*s == '-') {
		neg = 1;
		s++;
		if (!*s)
			return 0;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return 0;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return 0;
		*out = (int64_t)v;
	}
	return 1;
}

uint64_t wc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void wc_utc_iso8601(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *wc_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int wc_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *wc_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

const char *wc_path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int wc_tmpfile_named(const char *why, struct wc_buf *path,
		     struct wc_error *err)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	wc_buf_reset(path);
	if (wc_buf_printf(path, "%s/waitchain-%s-XXXXXX", dir, why))
		return wc_err(err, WC_ENOMEM, NULL, "out of memory");
	fd = mkostemp(path->data, O_CLOEXEC);
	if (fd < 0)
		return wc_err(err, WC_EIO, dir,
			      "cannot create a temporary file for %s: %s",
			      why, strerror(errno));
	return fd;
}

int wc_tmpfile(const char *why, struct wc_error *err)
{
	struct wc_buf name = WC_BUF_INIT;
	int fd = wc_tmpfile_named(why, &name, err);

	if (fd >= 0)
		unlink(name.data);
	wc_buf_free(&name);
	return fd;
}

int wc_threads_allowed(long cpus)
{
	const char *env = getenv("WC_THREADS");

	if (env && *env)
		return atoi(env) > 1;
	return sysconf(_SC_NPROCESSORS_ONLN) >= cpus;
}

int wc_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ok;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ok = pthread_create(thread, NULL, fn, arg) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok ? 0 : -1;
}
