/*
 * Hardlinks many files of one unpacked layer into another being unpacked.
 *
 *   kiln-helper link-files --from DIR --to DIR
 *       Reads records on stdin, each six NUL-ended fields: a path relative to both dirs, then
 *       the mode (permission bits, octal), uid, gid, size and mtime (whole seconds) the file
 *       must have (decimal). For each record, in order, writes one byte to stdout: '1' when
 *       FROM/path is a regular file with exactly those attributes (and a whole-second mtime)
 *       and was hardlinked to TO/path, '0' otherwise (missing, different, link failed). Parent
 *       directories missing in TO are made (mode 0755, as tar does for implied parents: the
 *       caller's unpacking sets their attributes). A path that is absolute, has a "..", "." or
 *       empty component, or goes through a symlink on either side is refused ('0'), so nothing
 *       outside the two dirs is read or written.
 *
 * Why: a rebuild after one file of a 20,000-file COPY changed makes the new layer from links to
 * the last build's; one process doing the syscalls costs a fraction of a thread unpacking the
 * whole tar (and of Node's linkSync with a Stats object per file). Records come sorted by path,
 * so the parent directories of consecutive files are opened once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

enum { FIELDS = 6 };

/* The directory REL (relative, no leading or trailing slash, may be "") below BASE, opened
 * component by component without following symlinks; made when missing and MAKE. -1 on error. */
static int open_dir(int base, const char *rel, int make) {
  int fd = dup(base);
  if (fd < 0) return -1;
  char part[NAME_MAX + 1];
  for (const char *p = rel; *p;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
      close(fd);
      errno = EINVAL;
      return -1;
    }
    memcpy(part, p, n);
    part[n] = 0;
    int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && make) {
      if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST) {
        close(fd);
        return -1;
      }
      next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    close(fd);
    if (next < 0) return -1;
    fd = next;
    p += n;
    if (*p == '/') p++;
  }
  return fd;
}

/* Parent directory fds of the last record, reused while records share their parent. */
static struct {
  char rel[PATH_MAX + 1];
  int from, to;
} cur = {"", -1, -1};

static int parse_num(const char *s, int base, unsigned long long *out) {
  if (*s == 0) return -1;
  char *end;
  errno = 0;
  *out = strtoull(s, &end, base);
  return errno != 0 || *end != 0 ? -1 : 0;
}

static char link_one(int from_root, int to_root, char **f) {
  const char *rel = f[0];
  unsigned long long mode, uid, gid, size, mtime;
  if (rel[0] == 0 || unsafe_rel(rel) || parse_num(f[1], 8, &mode) < 0 || parse_num(f[2], 10, &uid) < 0 ||
      parse_num(f[3], 10, &gid) < 0 || parse_num(f[4], 10, &size) < 0 || parse_num(f[5], 10, &mtime) < 0)
    return '0';
  const char *slash = strrchr(rel, '/');
  const char *name = slash ? slash + 1 : rel;
  size_t dir_len = slash ? (size_t)(slash - rel) : 0;
  if (name[0] == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return '0';
  if (cur.from < 0 || strlen(cur.rel) != dir_len || strncmp(cur.rel, rel, dir_len) != 0) {
    if (cur.from >= 0) close(cur.from);
    if (cur.to >= 0) close(cur.to);
    memcpy(cur.rel, rel, dir_len);
    cur.rel[dir_len] = 0;
    cur.from = open_dir(from_root, cur.rel, 0);
    cur.to = cur.from < 0 ? -1 : open_dir(to_root, cur.rel, 1);
    if (cur.to < 0 && cur.from >= 0) {
      close(cur.from);
      cur.from = -1;
    }
  }
  if (cur.from < 0) return '0';
  struct stat st;
  if (fstatat(cur.from, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
      (unsigned long long)(st.st_mode & 07777) != mode || (unsigned long long)st.st_uid != uid ||
      (unsigned long long)st.st_gid != gid || (unsigned long long)st.st_size != size ||
      (unsigned long long)st.st_mtim.tv_sec != mtime || st.st_mtim.tv_nsec != 0)
    return '0';
  return linkat(cur.from, name, cur.to, name, 0) == 0 ? '1' : '0';
}

int cmd_link_files(int argc, char **argv) {
  if (argc != 4 || strcmp(argv[0], "--from") != 0 || strcmp(argv[2], "--to") != 0)
    die("usage: link-files --from DIR --to DIR");
  int from = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (from < 0) die("open %s: %s", argv[1], strerror(errno));
  int to = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (to < 0) die("open %s: %s", argv[3], strerror(errno));
  static char out_buf[1 << 16];
  setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
  /* One record's fields, back to back; a field too long fails the record. */
  static char buf[FIELDS * (PATH_MAX + 1)];
  char *fields[FIELDS];
  size_t len = 0;
  int n = 0, too_long = 0;
  fields[0] = buf;
  for (int c; (c = getchar_unlocked()) != EOF;) {
    if (len >= sizeof buf - 1) too_long = 1;
    else buf[len++] = (char)c;
    if (c != 0) continue;
    if (++n < FIELDS) {
      fields[n] = buf + len;
      continue;
    }
    if (putchar_unlocked(too_long ? '0' : link_one(from, to, fields)) == EOF) die("write: %s", strerror(errno));
    len = 0;
    n = 0;
    too_long = 0;
  }
  if (len != 0 || n != 0) die("record on stdin not ended by NUL");
  if (fflush(stdout) != 0) die("write: %s", strerror(errno));
  return 0;
}
