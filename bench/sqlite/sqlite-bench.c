// SPDX-License-Identifier: MIT
/*
 * sqlite-bench: random rowid lookups on an SQLite database, timed, in one of
 * four ways (bench/sqlite/README.md has the method):
 *
 *   sqlite      the SQLite library: "SELECT * FROM t WHERE rowid = ?"
 *               prepared once, default settings (its page cache, buffered
 *               reads through the kernel's page cache)
 *   pread       a user-space traversal: libbpfchain-sqlite's requests, each
 *               chain's program (its C source compiled for the host, the
 *               same page parsing as the kernel runs) driven by progs'
 *               chain emulator, one O_DIRECT pread(2) per page
 *   chain       IORING_OP_BPF_CHAIN through libbpfchain-sqlite, O_DIRECT,
 *               -q lookups in flight on an interrupt-driven ring
 *   chain-poll  the same on an IOPOLL ring (the NVMe poll queues)
 *
 * pread and the chains keep the top -c levels of the table's b-tree in
 * memory (bcsql_cache()) and read the rest; every mode decodes every
 * column of the row it finds.
 *
 *   sqlite-bench -m MODE [-c LEVELS] [-q DEPTH] [-w WARMUP] [-t WINDOW]
 *                [-k EVERY] [-M MARKS -i ID] DB TABLE
 *   sqlite-bench -H
 *
 * Lookups run for WARMUP s (not counted), then for WINDOW s, the measured
 * window, which "ID start" and "ID end" lines in the file MARKS bracket
 * (bench/host-monitor answers them with the CPU time of the guest's vCPUs).
 * Keys are uniform over 1..max(rowid), from a seed made from ID, so that
 * runs with other IDs look up other keys (the same keys again would find
 * the previous run's pages in the kernel's page cache).  Every EVERY-th
 * lookup of the window (at most 2,000) is checked afterwards against a
 * fresh sqlite3 connection's answer, column by column and byte for byte:
 * one mismatch and the program exits 1.  Output: one CSV row (-H prints
 * the header instead):
 *
 *   mode,cache,inflight,lookups,window_s,lookups_per_s,mean_us,p50_us,
 *   p99_us,rusage_us_per_lookup,stat_us_per_lookup,reads_per_lookup,
 *   pages_per_lookup,found,checked,id
 *
 * rusage: this process's user + system time (getrusage); stat: every guest
 * CPU's non-idle time (/proc/stat, sampled by the tick, so it misses
 * interrupt handlers that run while a CPU idles); reads: reads completed by
 * the NVMe namespaces (/proc/diskstats); pages: pages the chains read per
 * lookup (pread, chain modes; 0 for sqlite).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <liburing.h>
#include <sqlite3.h>
#include "bpfchain-sqlite.h"
#include "emu.h"

long bpfchain_sqlite_rowid(struct bpf_io_chain *ctx);

enum mode { M_SQLITE, M_PREAD, M_CHAIN, M_CHAIN_POLL };
static const char *const mode_names[] = { "sqlite", "pread", "chain", "chain-poll" };

#define MAX_CHECKS 2000
#define MAX_DEPTH 64

static struct {
	enum mode mode;
	unsigned int cache, depth, every;
	double warmup, window;
	const char *marks, *id, *path, *table;
} o = { .depth = 1, .every = 50, .warmup = 3, .window = 10, .id = "0" };

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "sqlite-bench: %s: %s\n", what, msg);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ keys */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static int64_t max_rowid;

/* the seed of the keys: FNV-1a of the run's ID */
static void seed(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	rng ^= h;
	if (!rng)
		rng = 1;
}

static int64_t next_key(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (int64_t)((rng * 0x2545f4914f6cdd1dULL) % (uint64_t)max_rowid) + 1;
}

/* ------------------------------------------------------------ rows */

/*
 * A row, serialised the same way from either library (type byte, then an
 * int64 or a double, or a length and the bytes), for the checks; a lookup
 * that finds no row serialises to nothing.
 */
struct ser {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct ser *s, const void *p, size_t n)
{
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			die("realloc", strerror(ENOMEM));
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
}

static void put_value(struct ser *s, int type, int64_t i, double r, const void *p, size_t n)
{
	unsigned char t = type;
	uint32_t len = n;

	put(s, &t, 1);
	if (type == BCSQL_INTEGER)
		put(s, &i, sizeof(i));
	else if (type == BCSQL_REAL)
		put(s, &r, sizeof(r));
	else if (type != BCSQL_NULL) {
		put(s, &len, sizeof(len));
		put(s, p, n);
	}
}

/* what every mode computes from each column it reads, so none skips one */
static uint64_t sum;

static void consume(int type, int64_t i, double r, const unsigned char *p, size_t n)
{
	sum += type + (uint64_t)i + (uint64_t)r + n + (n ? p[0] + p[n - 1] : 0);
}

struct check {
	int64_t rowid;
	struct ser row;
};
static struct check checks[MAX_CHECKS];
static unsigned int nchecks;

/* the row of a lookup: consumed, and serialised into ser when it is checked */
static int bcsql_row(void *arg, const struct bcsql_row *row)
{
	struct ser *s = arg;

	for (int c = 0; c < row->ncols; c++) {
		const struct bcsql_value *v = &row->cols[c];

		consume(v->type, v->i, v->r, v->p, v->n);
		if (s)
			put_value(s, v->type, v->i, v->r, v->p, v->n);
	}
	return 0;
}

/* the current row of a stepped statement, as bcsql_row() does */
static void sqlite_row(sqlite3_stmt *st, struct ser *s)
{
	int n = sqlite3_column_count(st);

	for (int c = 0; c < n; c++) {
		int t = sqlite3_column_type(st, c), type = BCSQL_NULL;
		const unsigned char *p = NULL;
		int64_t i = 0;
		double r = 0;
		size_t len = 0;

		switch (t) {
		case SQLITE_INTEGER:
			type = BCSQL_INTEGER;
			i = sqlite3_column_int64(st, c);
			break;
		case SQLITE_FLOAT:
			type = BCSQL_REAL;
			r = sqlite3_column_double(st, c);
			break;
		case SQLITE_TEXT:
			type = BCSQL_TEXT;
			p = sqlite3_column_text(st, c);
			len = sqlite3_column_bytes(st, c);
			break;
		case SQLITE_BLOB:
			type = BCSQL_BLOB;
			p = sqlite3_column_blob(st, c);
			len = sqlite3_column_bytes(st, c);
			break;
		}
		consume(type, i, r, p, len);
		if (s)
			put_value(s, type, i, r, p, len);
	}
}

static sqlite3_stmt *prepare(sqlite3 *db)
{
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" WHERE rowid = ?", o.table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("sqlite3_prepare_v2", sqlite3_errmsg(db));
	return st;
}

/* One lookup through SQLite: its row consumed (and serialised into s); the rows found. */
static int sqlite_lookup(sqlite3 *db, sqlite3_stmt *st, int64_t rowid, struct ser *s)
{
	int rc, rows = 0;

	sqlite3_bind_int64(st, 1, rowid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite_row(st, s);
		rows++;
	}
	if (rc != SQLITE_DONE)
		die("sqlite3_step", sqlite3_errmsg(db));
	sqlite3_reset(st);
	return rows;
}

/* ------------------------------------------------------------ counters */

struct counters {
	double t, rusage_s, stat_s;
	uint64_t reads;
};

static uint64_t nvme_reads(void)
{
	unsigned int major, minor;
	unsigned long long rd;
	char name[64], line[512];
	uint64_t total = 0;
	FILE *f = fopen("/proc/diskstats", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %63s %llu", &major, &minor, name, &rd) == 4 &&
		    !strncmp(name, "nvme", 4) && !strchr(name + 4, 'p'))
			total += rd;
	fclose(f);
	return total;
}

/* non-idle time of every CPU (/proc/stat's first line), in s */
static double stat_busy(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / sysconf(_SC_CLK_TCK);
}

static void mark(const char *phase)
{
	FILE *f;

	if (!o.marks)
		return;
	f = fopen(o.marks, "a");
	if (!f)
		die(o.marks, strerror(errno));
	fprintf(f, "%s %s\n", o.id, phase);
	fclose(f);
}

static void snap(struct counters *c)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	c->rusage_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	c->stat_s = stat_busy();
	c->reads = nvme_reads();
	c->t = now();
}

/* ------------------------------------------------------------ the window */

static struct {
	double start, end;		/* monotonic, s */
	int in;				/* 0 warming up, 1 measuring, 2 done */
	struct counters c0, c1;
	double *lat;			/* µs, lookups completed in the window */
	size_t nlat, caplat;
	uint64_t pages, found, issued;	/* in the window */
} w;

/* Called before each lookup is issued: 0 to stop issuing. */
static int tick(void)
{
	double t = now();

	if (w.in == 0 && t >= w.start) {
		mark("start");
		snap(&w.c0);
		w.in = 1;
	}
	if (w.in == 1 && t >= w.end) {
		snap(&w.c1);
		mark("end");
		w.in = 2;
	}
	return w.in < 2;
}

/* A lookup issued at t0 (while measuring: in_window) is done. */
static void done(double t0, int in_window, unsigned int pages, int found)
{
	if (!in_window || w.in != 1)
		return;
	if (w.nlat == w.caplat) {
		w.caplat = w.caplat ? 2 * w.caplat : 65536;
		w.lat = realloc(w.lat, w.caplat * sizeof(*w.lat));
		if (!w.lat)
			die("realloc", strerror(ENOMEM));
	}
	w.lat[w.nlat++] = (now() - t0) * 1e6;
	w.pages += pages;
	w.found += found;
}

/* The checked lookup's slot, or NULL: every o.every-th lookup issued in the window. */
static struct ser *check_slot(int64_t rowid)
{
	if (w.in != 1 || w.issued++ % o.every || nchecks == MAX_CHECKS)
		return NULL;
	checks[nchecks].rowid = rowid;
	return &checks[nchecks++].row;
}

/* ------------------------------------------------------------ modes */

static void run_sqlite(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	if (sqlite3_open_v2(o.path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(o.path, sqlite3_errmsg(db));
	st = prepare(db);
	while (tick()) {
		int64_t key = next_key();
		struct ser *s = check_slot(key);
		int in = w.in == 1;
		double t0 = now();
		int rows = sqlite_lookup(db, st, key, s);

		done(t0, in, 0, rows > 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static struct bcsql_db *db;
static struct bcsql_table *tbl;

static void open_bcsql(void)
{
	char err[256];
	int ret;

	ret = bcsql_open(o.path, BCSQL_O_DIRECT, &db, err, sizeof(err));
	if (ret)
		die("bcsql_open", err);
	ret = bcsql_table(db, o.table, &tbl);
	if (!ret && o.cache)
		ret = bcsql_cache(tbl, NULL, o.cache);
	if (ret)
		die("libbpfchain-sqlite", bcsql_strerror(ret));
}

/* set when a lookup's row is delivered */
static int delivered;
static int count_row(void *arg, const struct bcsql_row *row)
{
	delivered = 1;
	return bcsql_row(arg, row);
}

static void run_pread(void)
{
	struct bcsql_req r;
	int ret;

	emu_init();
	if (bcsql_req_init(db, &r))
		die("bcsql_req_init", strerror(ENOMEM));
	while (tick()) {
		int64_t key = next_key();
		struct ser *s = check_slot(key);
		int in = w.in == 1;
		double t0 = now();
		unsigned int hops;

		delivered = 0;
		bcsql_req_rowid(tbl, &r, key);
		do {
			int res = emu_chain(bpfchain_sqlite_rowid, bcsql_fd(db), r.offset,
					    bcsql_page_size(db), &r.scratch, r.scratch_len, &hops);

			memcpy(r.page, emu_block, bcsql_page_size(db));
			ret = bcsql_complete(&r, res, count_row, s);
		} while (ret == 1);
		if (ret < 0)
			die("lookup", bcsql_strerror(ret));
		done(t0, in, r.pages, delivered);
	}
	bcsql_req_free(&r);
}

/* as fio's io_uring engine sets up its ring (fio-engine/uring.c) */
static void ring_init(struct io_uring *ring, unsigned int flags)
{
	static const unsigned int tries[] = {
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
			IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	int ret = -EINVAL;

	for (unsigned int i = 0; i < sizeof(tries) / sizeof(tries[0]) && ret == -EINVAL; i++)
		ret = io_uring_queue_init(2 * MAX_DEPTH, ring, flags | tries[i]);
	if (ret)
		die("io_uring_queue_init", strerror(-ret));
}

static void run_chain(int poll)
{
	struct slot {
		struct bcsql_req r;
		struct ser *s;
		double t0;
		int in, busy, found;
	} slots[MAX_DEPTH];
	unsigned int inflight = 0;
	struct io_uring ring;
	int ret, issuing = 1;

	ring_init(&ring, poll ? IORING_SETUP_IOPOLL : 0);
	ret = bcsql_register_progs(db, &ring, 1U << BCSQL_PROG_ROWID);
	if (ret)
		die("bcsql_register_progs", bcsql_strerror(ret));
	memset(slots, 0, sizeof(slots));
	for (unsigned int k = 0; k < o.depth; k++)
		if (bcsql_req_init(db, &slots[k].r))
			die("bcsql_req_init", strerror(ENOMEM));
	while (inflight || issuing) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		for (unsigned int k = 0; issuing && k < o.depth; k++) {
			struct slot *sl = &slots[k];
			struct io_uring_sqe *sqe;
			int64_t key;

			if (sl->busy)
				continue;
			if (!tick()) {
				issuing = 0;
				break;
			}
			key = next_key();
			sl->s = check_slot(key);
			sl->in = w.in == 1;
			sl->found = 0;
			sl->busy = 1;
			sl->t0 = now();
			bcsql_req_rowid(tbl, &sl->r, key);
			sqe = io_uring_get_sqe(&ring);
			bcsql_prep(&sl->r, sqe, 0);
			io_uring_sqe_set_data64(sqe, k);
			inflight++;
		}
		if (!inflight)
			break;
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			die("io_uring_submit_and_wait", strerror(-ret));
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct slot *sl = &slots[cqe->user_data];

			seen++;
			delivered = 0;
			ret = bcsql_complete(&sl->r, cqe->res, count_row, sl->s);
			sl->found |= delivered;
			if (ret < 0)
				die("lookup", bcsql_strerror(ret));
			if (ret == 1) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

				bcsql_prep(&sl->r, sqe, 0);
				io_uring_sqe_set_data64(sqe, cqe->user_data);
				continue;
			}
			done(sl->t0, sl->in, sl->r.pages, sl->found);
			sl->busy = 0;
			inflight--;
		}
		io_uring_cq_advance(&ring, seen);
	}
	for (unsigned int k = 0; k < o.depth; k++)
		bcsql_req_free(&slots[k].r);
	io_uring_queue_exit(&ring);
}

/* ------------------------------------------------------------ checks */

/* Each checked lookup against a fresh sqlite3 connection's answer: the number that differ. */
static unsigned int verify(void)
{
	unsigned int bad = 0;
	sqlite3_stmt *st;
	sqlite3 *ref;

	if (sqlite3_open_v2(o.path, &ref, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(o.path, sqlite3_errmsg(ref));
	st = prepare(ref);
	for (unsigned int i = 0; i < nchecks; i++) {
		struct ser want = { 0 };

		sqlite_lookup(ref, st, checks[i].rowid, &want);
		if (want.n != checks[i].row.n || memcmp(want.p, checks[i].row.p, want.n)) {
			if (bad++ < 5)
				fprintf(stderr, "sqlite-bench: %s: rowid %" PRId64
					": not sqlite3's row (%zu bytes serialised, sqlite3's %zu)\n",
					mode_names[o.mode], checks[i].rowid, checks[i].row.n, want.n);
		}
		free(want.p);
	}
	sqlite3_finalize(st);
	sqlite3_close(ref);
	return bad;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double p)
{
	size_t i;

	if (!w.nlat)
		return 0;
	i = (size_t)(p * (w.nlat - 1) + 0.5);
	return w.lat[i];
}

static void usage(void)
{
	fprintf(stderr, "usage: sqlite-bench -m sqlite|pread|chain|chain-poll [-c LEVELS] [-q DEPTH]\n"
		"                    [-w WARMUP] [-t WINDOW] [-k EVERY] [-M MARKS -i ID] DB TABLE\n"
		"       sqlite-bench -H\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char header[] =
		"mode,cache,inflight,lookups,window_s,lookups_per_s,mean_us,p50_us,p99_us,"
		"rusage_us_per_lookup,stat_us_per_lookup,reads_per_lookup,pages_per_lookup,"
		"found,checked,id\n";
	int c, m = -1;
	unsigned int bad;
	double secs, mean = 0, n;
	sqlite3_stmt *st;
	sqlite3 *sq;

	while ((c = getopt(argc, argv, "m:c:q:w:t:k:M:i:H")) != -1) {
		switch (c) {
		case 'm':
			for (int i = 0; i < 4; i++)
				if (!strcmp(optarg, mode_names[i]))
					m = i;
			break;
		case 'c': o.cache = atoi(optarg); break;
		case 'q': o.depth = atoi(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 't': o.window = atof(optarg); break;
		case 'k': o.every = atoi(optarg); break;
		case 'M': o.marks = optarg; break;
		case 'i': o.id = optarg; break;
		case 'H': fputs(header, stdout); return 0;
		default: usage();
		}
	}
	if (m < 0 || argc - optind != 2 || !o.depth || o.depth > MAX_DEPTH || !o.every ||
	    o.window <= 0 || (m != M_CHAIN && m != M_CHAIN_POLL && o.depth != 1) ||
	    (m == M_SQLITE && o.cache))
		usage();
	o.mode = m;
	seed(o.id);
	o.path = argv[optind];
	o.table = argv[optind + 1];

	/* the keys: 1..max(rowid) */
	if (sqlite3_open_v2(o.path, &sq, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(o.path, sqlite3_errmsg(sq));
	{
		char sql[256];

		snprintf(sql, sizeof(sql), "SELECT max(rowid) FROM \"%s\"", o.table);
		if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
			die("max(rowid)", sqlite3_errmsg(sq));
		max_rowid = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(sq);
	}
	if (max_rowid < 1)
		die(o.table, "no rows");

	if (o.mode != M_SQLITE)
		open_bcsql();
	w.start = now() + o.warmup;
	w.end = w.start + o.window;
	switch (o.mode) {
	case M_SQLITE: run_sqlite(); break;
	case M_PREAD: run_pread(); break;
	case M_CHAIN: run_chain(0); break;
	case M_CHAIN_POLL: run_chain(1); break;
	}
	if (w.in != 2)
		die("window", "never ended");
	/* the checks' own test: SQLITE_BENCH_CORRUPT=1 changes a checked row */
	if (getenv("SQLITE_BENCH_CORRUPT") && nchecks && checks[0].row.n)
		checks[0].row.p[checks[0].row.n - 1] ^= 1;
	bad = verify();
	if (db)
		bcsql_close(db);

	secs = w.c1.t - w.c0.t;
	n = w.nlat ? w.nlat : 1;
	for (size_t i = 0; i < w.nlat; i++)
		mean += w.lat[i];
	mean /= n;
	qsort(w.lat, w.nlat, sizeof(*w.lat), cmp_double);
	printf("%s,%u,%u,%zu,%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.3f,%.3f,%" PRIu64 ",%u,%s\n",
	       mode_names[o.mode], o.cache, o.depth, w.nlat, secs, w.nlat / secs, mean,
	       percentile(0.50), percentile(0.99), (w.c1.rusage_s - w.c0.rusage_s) * 1e6 / n,
	       (w.c1.stat_s - w.c0.stat_s) * 1e6 / n, (double)(w.c1.reads - w.c0.reads) / n,
	       (double)w.pages / n, w.found, nchecks, o.id);
	fprintf(stderr, "sqlite-bench: %s: %u of %u checked lookups equal to sqlite3's (sum %" PRIx64 ")\n",
		mode_names[o.mode], nchecks - bad, nchecks, sum);
	return bad ? 1 : 0;
}
