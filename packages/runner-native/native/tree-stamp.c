/*
 * One stamp of what a build read of a directory tree, to tell cheaply whether any of it changed.
 *
 *   kiln-helper tree-stamp --dir DIR
 *       Reads items on stdin, each ended by NUL, each a letter and a path relative to DIR:
 *         S<path>  lstat of that path alone;
 *         W<path>  lstat of the path and, when it is a directory, of everything below it, names
 *                  in byte order, depth first;
 *         P<path>  a directory that walks stat but do not descend into (its contents were not
 *                  read: excluded by .dockerignore).
 *       Writes, for S and W items in their input order, one record per path stamped: the path
 *       (relative to DIR), NUL, then eleven little-endian u64: errno (0 when lstat succeeded),
 *       st_mode, uid, gid, size, inode, device, mtime seconds, mtime nanoseconds, ctime seconds,
 *       ctime nanoseconds (the fields after an error are 0). Then a trailer of three u64: the
 *       latest mtime or ctime seen, seconds and nanoseconds, and how many paths had a ctime in
 *       whole seconds (a file system that keeps no sub-second times, or a rare coincidence).
 *       An absolute path or one with a ".." component is refused (exit 2).
 *
 * Why: a cached rebuild that COPYs 20,000 context files re-checked each of them in Node (a walk,
 * a stat per file, a digest lookup per file); the caller hashes this output and compares it with
 * the stamp of the build that computed the COPY's digest. Any change to a file (content,
 * metadata, replacement) moves its ctime; any entry added, removed or renamed in a directory
 * moves the directory's mtime. The trailer lets the caller refuse a stamp taken so soon after a
 * change that a second change could share its timestamps.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

enum { FIELDS = 11 };

static char out_buf[1 << 16];
static int root_fd;
static char **prunes;
static size_t prune_count;
static uint64_t latest_sec, latest_nsec, whole_seconds;

static int unsafe_rel(const char *rel) {
  if (rel[0] == '/') return 1;
  for (const char *p = rel; *p;) {
    if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == 0)) return 1;
    const char *slash = strchr(p, '/');
    if (!slash) break;
    p = slash + 1;
  }
  return 0;
}

static void note_time(const struct timespec *t) {
  uint64_t s = (uint64_t)t->tv_sec, ns = (uint64_t)t->tv_nsec;
  if (s > latest_sec || (s == latest_sec && ns > latest_nsec)) {
    latest_sec = s;
    latest_nsec = ns;
  }
}

static void put(const void *p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n) die("write: %s", strerror(errno));
}

/*
 * Writes the record of REL ("" is DIR itself), statted as NAME relative to AT (a directory fd),
 * and returns 1 when it is a directory.
 */
static int stamp_at(int at, const char *name, const char *rel, struct stat *st) {
  uint64_t rec[FIELDS] = {0};
  int is_dir = 0;
  if (fstatat(at, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
    rec[0] = (uint64_t)errno;
  } else {
    rec[1] = st->st_mode;
    rec[2] = st->st_uid;
    rec[3] = st->st_gid;
    rec[4] = (uint64_t)st->st_size;
    rec[5] = (uint64_t)st->st_ino;
    rec[6] = (uint64_t)st->st_dev;
    rec[7] = (uint64_t)st->st_mtim.tv_sec;
    rec[8] = (uint64_t)st->st_mtim.tv_nsec;
    rec[9] = (uint64_t)st->st_ctim.tv_sec;
    rec[10] = (uint64_t)st->st_ctim.tv_nsec;
    note_time(&st->st_mtim);
    note_time(&st->st_ctim);
    if (st->st_ctim.tv_nsec == 0) whole_seconds++;
    is_dir = S_ISDIR(st->st_mode);
  }
  put(rel, strlen(rel) + 1);
  put(rec, sizeof rec);
  return is_dir;
}

static int stamp_one(const char *rel, struct stat *st) {
  return stamp_at(root_fd, rel[0] ? rel : ".", rel, st);
}

static int pruned(const char *rel) {
  for (size_t i = 0; i < prune_count; i++)
    if (strcmp(prunes[i], rel) == 0) return 1;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Stamps everything below the directory REL (its own record is written), names sorted, each
 * statted relative to the directory's fd (one path component to resolve, not the whole path).
 */
static void walk(char *rel, size_t len) {
  int fd = openat(root_fd, len ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    /* Out of descriptors (a very deep tree): no stamp rather than one that skipped a subtree. */
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) die("open %s: %s", rel, strerror(errno));
    /* Gone or replaced since its stat: record that, the stamp then differs from any earlier one. */
    uint64_t rec[FIELDS] = {(uint64_t)errno};
    put(rel, len);
    put("/", 2);
    put(rec, sizeof rec);
    return;
  }
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir %s: %s", rel, strerror(errno));
  char **names = NULL;
  size_t count = 0, cap = 0;
  for (struct dirent *e; (errno = 0, e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, cap * sizeof *names);
      if (!names) die("out of memory");
    }
    names[count] = strdup(e->d_name);
    if (!names[count]) die("out of memory");
    count++;
  }
  if (errno != 0) die("readdir %s: %s", rel, strerror(errno));
  qsort(names, count, sizeof *names, by_name);
  for (size_t i = 0; i < count; i++) {
    size_t n = strlen(names[i]);
    size_t at = len ? len + 1 : 0;
    if (at + n >= PATH_MAX) die("path too long below %s", rel);
    if (len) rel[len] = '/';
    memcpy(rel + at, names[i], n + 1);
    struct stat st;
    if (stamp_at(dirfd(d), names[i], rel, &st) && !pruned(rel)) walk(rel, at + n);
    rel[len] = 0;
    free(names[i]);
  }
  free(names);
  closedir(d);
}

int cmd_tree_stamp(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[0], "--dir") != 0) die("usage: tree-stamp --dir DIR");
  root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) die("open %s: %s", argv[1], strerror(errno));
  setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);

  /* All items first: prunes may follow the walks they apply to. */
  char **items = NULL;
  size_t count = 0, cap = 0;
  char *line = NULL;
  size_t line_cap = 0;
  for (ssize_t n; (n = getdelim(&line, &line_cap, 0, stdin)) > 0;) {
    if (line[n - 1] != 0) die("item on stdin not ended by NUL");
    if (n < 2 || (line[0] != 'S' && line[0] != 'W' && line[0] != 'P')) die("bad item: %s", line);
    if (unsafe_rel(line + 1)) die("path leaves the directory: %s", line + 1);
    if ((size_t)n - 1 >= PATH_MAX) die("path too long: %s", line + 1);
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      items = realloc(items, cap * sizeof *items);
      if (!items) die("out of memory");
    }
    items[count] = strdup(line);
    if (!items[count]) die("out of memory");
    if (line[0] == 'P') prune_count++;
    count++;
  }
  free(line);
  prunes = calloc(prune_count + 1, sizeof *prunes);
  if (!prunes) die("out of memory");
  prune_count = 0;
  for (size_t i = 0; i < count; i++)
    if (items[i][0] == 'P') prunes[prune_count++] = items[i] + 1;

  static char rel[PATH_MAX];
  for (size_t i = 0; i < count; i++) {
    if (items[i][0] == 'P') continue;
    size_t len = strlen(items[i] + 1);
    memcpy(rel, items[i] + 1, len + 1);
    struct stat st;
    if (stamp_one(rel, &st) && items[i][0] == 'W' && !pruned(rel)) walk(rel, len);
  }
  uint64_t trailer[3] = {latest_sec, latest_nsec, whole_seconds};
  put(trailer, sizeof trailer);
  if (fflush(stdout) != 0) die("write: %s", strerror(errno));
  return 0;
}
