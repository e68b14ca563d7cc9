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
#include <pthread.h>
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

static void note_time(uint64_t s, uint64_t ns) {
  if (s > latest_sec || (s == latest_sec && ns > latest_nsec)) {
    latest_sec = s;
    latest_nsec = ns;
  }
}

static void put(const void *p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n) die("write: %s", strerror(errno));
}

/* One path to stamp, in output order; `done` once its record holds an lstat (or its errno). */
struct entry {
  char *rel;
  int done;
  uint64_t rec[FIELDS];
};
static struct entry *entries;
static size_t entry_count, entry_cap;

static struct entry *add_entry(const char *rel, size_t len) {
  if (entry_count == entry_cap) {
    entry_cap = entry_cap ? entry_cap * 2 : 1024;
    entries = realloc(entries, entry_cap * sizeof *entries);
    if (!entries) die("out of memory");
  }
  struct entry *e = &entries[entry_count++];
  memset(e, 0, sizeof *e);
  e->rel = malloc(len + 1);
  if (!e->rel) die("out of memory");
  memcpy(e->rel, rel, len);
  e->rel[len] = 0;
  return e;
}

/* Fills E's record from an lstat of its path (relative to DIR; "" is DIR itself). */
static void stat_entry(struct entry *e) {
  struct stat st;
  if (fstatat(root_fd, e->rel[0] ? e->rel : ".", &st, AT_SYMLINK_NOFOLLOW) < 0) {
    e->rec[0] = (uint64_t)errno;
  } else {
    e->rec[1] = st.st_mode;
    e->rec[2] = st.st_uid;
    e->rec[3] = st.st_gid;
    e->rec[4] = (uint64_t)st.st_size;
    e->rec[5] = (uint64_t)st.st_ino;
    e->rec[6] = (uint64_t)st.st_dev;
    e->rec[7] = (uint64_t)st.st_mtim.tv_sec;
    e->rec[8] = (uint64_t)st.st_mtim.tv_nsec;
    e->rec[9] = (uint64_t)st.st_ctim.tv_sec;
    e->rec[10] = (uint64_t)st.st_ctim.tv_nsec;
  }
  e->done = 1;
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
 * Lists everything below the directory REL (already listed itself), names sorted, depth first.
 * Where to descend comes from readdir's file types (an lstat where it gives none); the lstats
 * themselves are left to stat_all, which spreads them over threads.
 */
static void list_below(char *rel, size_t len) {
  int fd = openat(root_fd, len ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    /* Out of descriptors or memory: no stamp rather than one that skipped a subtree. */
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) die("open %s: %s", rel, strerror(errno));
    /* Gone or replaced since it was listed: record that, the stamp then differs from any earlier one. */
    struct entry *e = add_entry(rel, len);
    char *marked = realloc(e->rel, len + 2);
    if (!marked) die("out of memory");
    marked[len] = '/';
    marked[len + 1] = 0;
    e->rel = marked;
    e->rec[0] = (uint64_t)errno;
    e->done = 1;
    return;
  }
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir %s: %s", rel, strerror(errno));
  struct child {
    char *name;
    unsigned char type;
  } *children = NULL;
  size_t count = 0, cap = 0;
  for (struct dirent *de; (errno = 0, de = readdir(d)) != NULL;) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      children = realloc(children, cap * sizeof *children);
      if (!children) die("out of memory");
    }
    children[count].name = strdup(de->d_name);
    if (!children[count].name) die("out of memory");
    children[count].type = de->d_type;
    count++;
  }
  if (errno != 0) die("readdir %s: %s", rel, strerror(errno));
  closedir(d);
  qsort(children, count, sizeof *children, by_name);
  for (size_t i = 0; i < count; i++) {
    size_t n = strlen(children[i].name);
    size_t at = len ? len + 1 : 0;
    if (at + n >= PATH_MAX) die("path too long below %s", rel);
    if (len) rel[len] = '/';
    memcpy(rel + at, children[i].name, n + 1);
    struct entry *e = add_entry(rel, at + n);
    int is_dir = children[i].type == DT_DIR;
    if (children[i].type == DT_UNKNOWN) {
      stat_entry(e);
      is_dir = e->rec[0] == 0 && S_ISDIR(e->rec[1]);
    }
    if (is_dir && !pruned(rel)) list_below(rel, at + n);
    rel[len] = 0;
    free(children[i].name);
  }
  free(children);
}

/* Threads stat interleaved runs of this many entries (neighbours share directories). */
enum { RUN = 256, MAX_THREADS = 4, THREAD_MIN_ENTRIES = 2048 };
static size_t thread_total;

static void *stat_share(void *arg) {
  size_t k = (size_t)(uintptr_t)arg;
  for (size_t start = k * RUN; start < entry_count; start += thread_total * RUN)
    for (size_t i = start; i < start + RUN && i < entry_count; i++)
      if (!entries[i].done) stat_entry(&entries[i]);
  return NULL;
}

/* The lstat of every listed entry not statted yet, on up to MAX_THREADS threads. */
static void stat_all(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  thread_total = entry_count < THREAD_MIN_ENTRIES || cpus < 2 ? 1 : (size_t)(cpus < MAX_THREADS ? cpus : MAX_THREADS);
  pthread_t threads[MAX_THREADS];
  size_t started = 0;
  for (size_t k = 1; k < thread_total; k++) {
    if (pthread_create(&threads[started], NULL, stat_share, (void *)(uintptr_t)k) != 0) break;
    started++;
  }
  /* Shares of threads that could not start are done here, after this thread's own. */
  for (size_t k = 0; k < thread_total; k++)
    if (k == 0 || k > started) stat_share((void *)(uintptr_t)k);
  for (size_t k = 0; k < started; k++) pthread_join(threads[k], NULL);
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
    struct entry *e = add_entry(rel, len);
    if (items[i][0] != 'W') continue;
    /* A walked path's own type decides whether to list below it. */
    stat_entry(e);
    if (e->rec[0] == 0 && S_ISDIR(e->rec[1]) && !pruned(rel)) list_below(rel, len);
  }
  stat_all();
  for (size_t i = 0; i < entry_count; i++) {
    const struct entry *e = &entries[i];
    put(e->rel, strlen(e->rel) + 1);
    put(e->rec, sizeof e->rec);
    if (e->rec[0] != 0 || (e->rel[0] != 0 && e->rel[strlen(e->rel) - 1] == '/')) continue;
    note_time(e->rec[7], e->rec[8]);
    note_time(e->rec[9], e->rec[10]);
    if (e->rec[10] == 0) whole_seconds++;
  }
  uint64_t trailer[3] = {latest_sec, latest_nsec, whole_seconds};
  put(trailer, sizeof trailer);
  if (fflush(stdout) != 0) die("write: %s", strerror(errno));
  return 0;
}
