/*
 * bqlsim - a small stand-in for a virtual machine monitor whose vCPU threads
 * contend on one global mutex, written to produce real perf / ftrace captures
 * with a known answer.
 *
 * Threads (names as a QEMU with debug-threads=on would show them):
 *   "CPU n/KVM"  vCPU threads: run guest code (spin), then exit to the VMM and
 *                take the global mutex for a short emulation step.
 *   "qemu-main"  main loop: sleeps in poll, then takes the global mutex for a
 *                long I/O completion; now and then, while holding it, it also
 *                takes the block-layer mutex.
 *   "worker n"   I/O workers: take the block-layer mutex and sleep inside it
 *                (simulated disk I/O), so the main loop waits on them while it
 *                holds the global mutex: a holder chain of depth 2.
 *   "hog n"      optional CPU hogs that preempt lock holders.
 *
 * The mutexes follow glibc's protocol (a contended unlock wakes one waiter
 * with FUTEX_WAKE; waiters sleep in FUTEX_WAIT on the lock word), except that
 * the lock word holds the owner's tid, so every waiter knows exactly which
 * thread held the lock when it went to sleep. With -l glibc, plain
 * pthread mutexes are used instead and waits.csv stays empty.
 *
 * Ground truth is written at exit, timestamps in CLOCK_MONOTONIC nanoseconds
 * (record with perf -k CLOCK_MONOTONIC or trace-cmd -C mono to compare):
 *   locks.csv    lock,uaddr           address of each mutex's futex word
 *   threads.csv  tid,comm,role
 *   holds.csv    tid,lock,request_ns,acquire_ns,release_ns
 *                one row per acquisition; request_ns is taken just before
 *                locking, acquire_ns just after, release_ns just before
 *                unlocking.
 *   waits.csv    tid,lock,owner_tid,wait_ns
 *                one row per FUTEX_WAIT call: who owned the lock at the
 *                instant the waiter decided to sleep; wait_ns is taken just
 *                before the system call.
 *
 * With -N FILE, the thread names come from FILE instead: one name per line,
 * applied in creation order (vCPUs first, then the main loop, the workers,
 * the hogs); each name is truncated to 15 bytes (the kernel's limit), only
 * the line feed ending a line is removed (any other byte, control characters
 * included, is kept), and threads beyond the last line keep their default
 * names. Used to record hostile thread names; threads.csv holds the names as
 * given (no quoting), roles are unchanged.
 *
 * Usage: bqlsim [-v vcpus] [-w workers] [-g hogs] [-d duration_ms]
 *               [-s seed] [-l tagged|glibc] [-o outdir] [-N namefile]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { LOCK_GLOBAL, LOCK_BLOCK, NLOCKS };
static const char *lock_name[NLOCKS] = { "global", "block" };
#define WAITERS 0x80000000u

static int use_glibc;
static pthread_mutex_t mutexes[NLOCKS] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
};
static _Atomic uint32_t words[NLOCKS];	/* 0, or owner tid | WAITERS */

struct hold {
	int lock;
	uint64_t request_ns, acquire_ns, release_ns;
};

struct wait {
	int lock, owner;
	uint64_t wait_ns;
};

struct thread {
	pthread_t handle;
	char comm[16];
	const char *role;
	int tid;
	unsigned seed;
	struct hold *holds;
	size_t nholds, cap;
	struct wait *waits;
	size_t nwaits, wcap;
};

static volatile int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
}

/* Uniform in [lo, hi] microseconds, as nanoseconds. */
static uint64_t pick_us(struct thread *t, unsigned lo, unsigned hi)
{
	return 1000ull * (lo + rand_r(&t->seed) % (hi - lo + 1));
}

static void *grow(void *p, size_t *cap, size_t size)
{
	*cap = *cap ? 2 * *cap : 4096;
	p = realloc(p, *cap * size);
	if (!p) {
		perror("realloc");
		exit(1);
	}
	return p;
}

static void note_wait(struct thread *t, int lock, uint32_t word)
{
	if (t->nwaits == t->wcap)
		t->waits = grow(t->waits, &t->wcap, sizeof(*t->waits));
	t->waits[t->nwaits++] = (struct wait){
		.lock = lock, .owner = (int)(word & ~WAITERS), .wait_ns = now_ns()
	};
}

/* glibc's lll_lock, with the owner's tid in the word instead of 1 or 2. */
static void tagged_lock(struct thread *t, int lock)
{
	_Atomic uint32_t *w = &words[lock];
	uint32_t v = 0;

	if (atomic_compare_exchange_strong(w, &v, (uint32_t)t->tid))
		return;
	for (;;) {
		v = atomic_load(w);
		if (v == 0) {
			if (atomic_compare_exchange_strong(w, &v, t->tid | WAITERS))
				return;
			continue;
		}
		if (!(v & WAITERS)) {
			if (!atomic_compare_exchange_strong(w, &v, v | WAITERS))
				continue;
			v |= WAITERS;
		}
		note_wait(t, lock, v);
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
	}
}

static void tagged_unlock(int lock)
{
	if (atomic_exchange(&words[lock], 0) & WAITERS)
		syscall(SYS_futex, &words[lock], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Returns the index of the new hold: t->holds may move when it grows. */
static size_t take(struct thread *t, int lock)
{
	struct hold *h;

	if (t->nholds == t->cap)
		t->holds = grow(t->holds, &t->cap, sizeof(*t->holds));
	h = &t->holds[t->nholds];
	h->lock = lock;
	h->release_ns = 0;
	h->request_ns = now_ns();
	if (use_glibc)
		pthread_mutex_lock(&mutexes[lock]);
	else
		tagged_lock(t, lock);
	h->acquire_ns = now_ns();
	return t->nholds++;
}

static void give(struct thread *t, size_t i)
{
	struct hold *h = &t->holds[i];

	h->release_ns = now_ns();
	if (use_glibc)
		pthread_mutex_unlock(&mutexes[h->lock]);
	else
		tagged_unlock(h->lock);
}

static void *vcpu(void *arg)
{
	struct thread *t = arg;

	while (!stop) {
		spin_ns(pick_us(t, 10, 60));		/* guest code */
		size_t h = take(t, LOCK_GLOBAL);	/* exit to the VMM */
		spin_ns(pick_us(t, 2, 15));		/* device emulation */
		give(t, h);
	}
	return NULL;
}

static void *mainloop(void *arg)
{
	struct thread *t = arg;

	while (!stop) {
		usleep(pick_us(t, 100, 400) / 1000);	/* poll */
		size_t g = take(t, LOCK_GLOBAL);
		spin_ns(pick_us(t, 50, 300));		/* I/O completion */
		if (rand_r(&t->seed) % 4 == 0) {	/* flush through block layer */
			size_t b = take(t, LOCK_BLOCK);
			spin_ns(pick_us(t, 10, 50));
			give(t, b);
		}
		give(t, g);
	}
	return NULL;
}

static void *worker(void *arg)
{
	struct thread *t = arg;

	while (!stop) {
		usleep(pick_us(t, 200, 800) / 1000);
		size_t b = take(t, LOCK_BLOCK);
		usleep(pick_us(t, 100, 500) / 1000);	/* disk I/O under the lock */
		give(t, b);
	}
	return NULL;
}

static void *hog(void *arg)
{
	(void)arg;
	while (!stop)
		spin_ns(1000000);
	return NULL;
}

struct start {
	struct thread *t;
	void *(*fn)(void *);
	pthread_barrier_t *ready;
};

static void *trampoline(void *arg)
{
	struct start s = *(struct start *)arg;

	s.t->tid = (int)syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), s.t->comm);
	pthread_barrier_wait(s.ready);
	return s.fn(s.t);
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

/* Overrides th[0..n-1].comm with the lines of path, in order. */
static void read_names(const char *path, struct thread *th, int n)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	if (!f) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < n && fgets(line, sizeof(line), f); i++) {
		size_t len = strcspn(line, "\n");

		if (len > sizeof(th[i].comm) - 1)
			len = sizeof(th[i].comm) - 1;
		memcpy(th[i].comm, line, len);
		th[i].comm[len] = 0;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	int nvcpu = 3, nworker = 1, nhog = 0, duration_ms = 2000, opt;
	unsigned seed = 1;
	const char *outdir = ".", *namefile = NULL;

	while ((opt = getopt(argc, argv, "v:w:g:d:s:l:o:N:")) != -1) {
		switch (opt) {
		case 'v': nvcpu = atoi(optarg); break;
		case 'w': nworker = atoi(optarg); break;
		case 'g': nhog = atoi(optarg); break;
		case 'd': duration_ms = atoi(optarg); break;
		case 's': seed = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': use_glibc = !strcmp(optarg, "glibc"); break;
		case 'o': outdir = optarg; break;
		case 'N': namefile = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-v vcpus] [-w workers] [-g hogs] "
				"[-d duration_ms] [-s seed] [-l tagged|glibc] "
				"[-o outdir] [-N namefile]\n", argv[0]);
			return 2;
		}
	}

	int n = nvcpu + 1 + nworker + nhog;
	struct thread *th = calloc(n, sizeof(*th));
	struct start *st = calloc(n, sizeof(*st));
	pthread_barrier_t ready;

	pthread_barrier_init(&ready, NULL, n + 1);
	for (int i = 0; i < n; i++) {
		struct thread *t = &th[i];

		t->seed = seed * 7919u + i;
		st[i] = (struct start){ .t = t, .ready = &ready };
		if (i < nvcpu) {
			snprintf(t->comm, sizeof(t->comm), "CPU %hhu/KVM", (unsigned char)i);
			t->role = "vcpu";
			st[i].fn = vcpu;
		} else if (i == nvcpu) {
			snprintf(t->comm, sizeof(t->comm), "qemu-main");
			t->role = "main";
			st[i].fn = mainloop;
		} else if (i < nvcpu + 1 + nworker) {
			snprintf(t->comm, sizeof(t->comm), "worker %d", i - nvcpu - 1);
			t->role = "worker";
			st[i].fn = worker;
		} else {
			snprintf(t->comm, sizeof(t->comm), "hog %d", i - nvcpu - 1 - nworker);
			t->role = "hog";
			st[i].fn = hog;
		}
	}
	if (namefile)
		read_names(namefile, th, n);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&th[i].handle, NULL, trampoline, &st[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_barrier_wait(&ready);
	usleep((useconds_t)duration_ms * 1000);
	stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i].handle, NULL);

	FILE *f = open_out(outdir, "locks.csv");
	fprintf(f, "lock,uaddr\n");
	for (int l = 0; l < NLOCKS; l++)
		fprintf(f, "%s,0x%llx\n", lock_name[l], (unsigned long long)
			(use_glibc ? (uintptr_t)&mutexes[l] : (uintptr_t)&words[l]));
	fclose(f);

	f = open_out(outdir, "threads.csv");
	fprintf(f, "tid,comm,role\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "%d,%s,%s\n", th[i].tid, th[i].comm, th[i].role);
	fprintf(f, "%d,%s,process\n", (int)getpid(), "bqlsim");
	fclose(f);

	f = open_out(outdir, "holds.csv");
	fprintf(f, "tid,lock,request_ns,acquire_ns,release_ns\n");
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < th[i].nholds; k++) {
			struct hold *h = &th[i].holds[k];

			if (!h->release_ns)
				continue;
			fprintf(f, "%d,%s,%llu,%llu,%llu\n", th[i].tid,
				lock_name[h->lock],
				(unsigned long long)h->request_ns,
				(unsigned long long)h->acquire_ns,
				(unsigned long long)h->release_ns);
		}
	fclose(f);

	f = open_out(outdir, "waits.csv");
	fprintf(f, "tid,lock,owner_tid,wait_ns\n");
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < th[i].nwaits; k++) {
			struct wait *w = &th[i].waits[k];

			fprintf(f, "%d,%s,%d,%llu\n", th[i].tid, lock_name[w->lock],
				w->owner, (unsigned long long)w->wait_ns);
		}
	fclose(f);

	for (int i = 0; i < n; i++) {
		free(th[i].holds);
		free(th[i].waits);
	}
	free(th);
	free(st);
	return 0;
}
