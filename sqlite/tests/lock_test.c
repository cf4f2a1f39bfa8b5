// SPDX-License-Identifier: MIT
/*
 * lock-test DIR: while libbpfchain-sqlite holds a database open (from
 * bcsql_open() to bcsql_close()), a writer cannot change it; after
 * bcsql_close() it can.  The writer is the real sqlite3 program, run
 * without a busy timeout, so it fails at once with "database is locked"
 * instead of waiting.  Needs no bpfchain kernel: the lock is SQLite's own
 * (a read transaction), taken before any chain runs.  Prints one line per
 * check and "lock-test: N checks, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include "bpfchain-sqlite.h"

static int checks, fails;

#define CHECK(cond, ...) do {							\
	checks++;								\
	if (cond) {								\
		printf("ok: ");							\
	} else {								\
		printf("FAIL: ");						\
		fails++;							\
	}									\
	printf(__VA_ARGS__);							\
	putchar('\n');								\
} while (0)

/* Run sqlite3 DB SQL; its exit status, its stderr in err. */
static int sqlite3_cli(const char *db, const char *sql, char *err, size_t len)
{
	char cmd[4096];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' '%s' 2>&1 >/dev/null", db, sql);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(err, 1, len - 1, p);
	err[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number of rows of t, through sqlite3. */
static int count_rows(const char *db)
{
	char cmd[4096];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'SELECT count(*) FROM t'", db);
	p = popen(cmd, "r");
	if (!p || fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

int main(int argc, char **argv)
{
	char db[4096], err[4096], msg[512];
	struct bcsql_db *d;
	struct bcsql_table *t;
	int rc, ret;

	if (argc != 2) {
		fprintf(stderr, "usage: lock-test DIR\n");
		return 2;
	}
	if (system("command -v sqlite3 > /dev/null")) {
		printf("Skipped: no sqlite3\n");
		return 77;
	}
	snprintf(db, sizeof(db), "%s/lock-test.db", argv[1]);
	unlink(db);
	rc = sqlite3_cli(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, 1);",
			 err, sizeof(err));
	CHECK(rc == 0, "sqlite3 made the database (exit %d %s)", rc, err);

	ret = bcsql_open(db, 0, &d, msg, sizeof(msg));
	CHECK(ret == 0, "bcsql_open: %d %s", ret, ret ? msg : "");
	if (ret)
		goto out;
	ret = bcsql_table(d, "t", &t);
	CHECK(ret == 0, "bcsql_table: %d", ret);

	rc = sqlite3_cli(db, "INSERT INTO t VALUES (2, 2);", err, sizeof(err));
	CHECK(rc != 0 && strstr(err, "database is locked"),
	      "a writer while the database is open: exit %d, \"%.*s\"", rc,
	      (int)strcspn(err, "\n"), err);
	rc = sqlite3_cli(db, "PRAGMA journal_mode = WAL;", err, sizeof(err));
	CHECK(rc != 0 && strstr(err, "database is locked"),
	      "switching it to WAL while it is open: exit %d, \"%.*s\"", rc,
	      (int)strcspn(err, "\n"), err);
	CHECK(count_rows(db) == 1, "a reader still can read it: %d row", count_rows(db));

	bcsql_close(d);
	rc = sqlite3_cli(db, "INSERT INTO t VALUES (2, 2);", err, sizeof(err));
	CHECK(rc == 0, "the writer after bcsql_close(): exit %d %s", rc, err);
	CHECK(count_rows(db) == 2, "and its row is there: %d rows", count_rows(db));
out:
	unlink(db);
	printf("lock-test: %d checks, %d failed\n", checks, fails);
	return fails ? 1 : 0;
}
