/*
 * Extended attributes, which Node can neither read nor write.
 *
 *   kiln-helper xattrs --dir DIR
 *       Walks DIR (never following symlinks) and prints, for every extended attribute of every
 *       entry below DIR, one record: REL NUL NAME NUL LENGTH NUL VALUE, where REL is the path
 *       relative to DIR, LENGTH the value's byte count in decimal and VALUE its raw bytes. DIR's
 *       own attributes are not printed (layers do not carry the root). Names overlayfs keeps for
 *       itself (trusted.overlay.*, user.overlay.*) and security.selinux (a label of the host's
 *       policy) are skipped. One call covers a whole tree: a layer of 20,000 files costs one
 *       process, not 20,000.
 *
 *   kiln-helper tree-attrs --dir DIR
 *       The same walk, reporting what a changeset needs of an overlay upper dir in one process:
 *       "o" NUL REL NUL for every directory marked opaque (trusted.overlay.opaque=y, or
 *       user.overlay.opaque in a user namespace; REL "." for DIR itself), and "x" NUL followed by
 *       an xattrs record for every other attribute. A RUN step used to spawn the helper twice for
 *       these (opaque-dirs, then xattrs); each spawn of a large Node process costs milliseconds.
 *
 *   kiln-helper set-xattrs --dir DIR
 *       Reads records in the same format on stdin and sets each attribute on DIR/REL. Every
 *       parent of REL is opened without following symlinks and REL itself is never followed, so
 *       nothing outside DIR is touched; REL must be relative and free of "..". The same names as
 *       above are refused silently (skipped), since they would change how overlayfs reads a layer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "helper.h"

#define MAX_REL 65536
#define MAX_VALUE (64 * 1024)

static int skipped_name(const char *name) {
  return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 ||
         strcmp(name, "security.selinux") == 0;
}

/* What a walk reports: only xattrs records, or tagged records with opaque markers too. */
enum walk_mode { WALK_XATTRS, WALK_TREE_ATTRS };

/* tree-attrs: reports the directory open as FD (named REL) when it is marked opaque. */
static void print_opaque(int fd, const char *rel) {
  char v[2];
  if (fgetxattr(fd, opaque_xattr(), v, sizeof v) == 1 && v[0] == 'y') printf("o%c%s%c", 0, rel, 0);
}

/* Prints the attributes of NAME in the current directory (REL is how the caller names it). */
static void print_xattrs(const char *name, const char *rel, enum walk_mode mode) {
  static char list[MAX_VALUE], value[MAX_VALUE];
  ssize_t n = llistxattr(name, list, sizeof list);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENOENT) return;
    die("listxattr %s: %s", rel, strerror(errno));
  }
  for (ssize_t at = 0; at < n; at += (ssize_t)strlen(list + at) + 1) {
    const char *attr = list + at;
    if (skipped_name(attr)) continue;
    ssize_t len = lgetxattr(name, attr, value, sizeof value);
    /* Removed meanwhile, or not readable by us (trusted.* without CAP_SYS_ADMIN): not ours to copy. */
    if (len < 0 && (errno == ENODATA || errno == EPERM || errno == EACCES)) continue;
    if (len < 0) die("getxattr %s %s: %s", rel, attr, strerror(errno));
    if (mode == WALK_TREE_ATTRS) printf("x%c", 0);
    printf("%s%c%s%c%zd%c", rel, 0, attr, 0, len, 0);
    fwrite(value, 1, (size_t)len, stdout);
  }
}

/* Takes ownership of fd, an open directory named REL (length LEN, "" for the root). */
static void walk_xattrs(int fd, char *rel, size_t len, enum walk_mode mode) {
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir %s: %s", len ? rel : ".", strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t nlen = strlen(e->d_name);
    if (len + nlen + 2 > MAX_REL) die("path too long below %s", rel);
    size_t at = len;
    if (len) rel[at++] = '/';
    memcpy(rel + at, e->d_name, nlen + 1);
    /* l*xattr on a name relative to this directory: no open() of devices or fifos, no symlink followed. */
    if (fchdir(dirfd(d)) < 0) die("chdir %s: %s", len ? rel : ".", strerror(errno));
    print_xattrs(e->d_name, rel, mode);
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
      int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0 && mode == WALK_TREE_ATTRS) print_opaque(sub, rel);
      if (sub >= 0) walk_xattrs(sub, rel, at + nlen, mode);
    }
    rel[len] = '\0';
  }
  closedir(d);
}

static const char *dir_option(int argc, char **argv, const char *what) {
  if (argc != 2 || strcmp(argv[0], "--dir") != 0) die("usage: %s --dir DIR", what);
  return argv[1];
}

static int walk_tree(const char *dir, enum walk_mode mode) {
  static char rel[MAX_REL];
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", dir, strerror(errno));
  if (mode == WALK_TREE_ATTRS) print_opaque(fd, ".");
  rel[0] = '\0';
  walk_xattrs(fd, rel, 0, mode);
  return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_xattrs(int argc, char **argv) { return walk_tree(dir_option(argc, argv, "xattrs"), WALK_XATTRS); }

int cmd_tree_attrs(int argc, char **argv) {
  return walk_tree(dir_option(argc, argv, "tree-attrs"), WALK_TREE_ATTRS);
}

/* Reads one NUL-terminated field of at most CAP bytes; 0 at a clean end of input. */
static int read_field(char *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    int c = getchar();
    if (c == EOF) {
      if (n == 0) return 0;
      die("truncated record on stdin");
    }
    if (n + 1 >= cap) die("field too long on stdin");
    out[n++] = (char)c;
    if (c == 0) return 1;
  }
}

/* Opens the directory holding REL below root without following any symlink; *last gets REL's
 * final component ("." when REL names the root itself). */
static int open_parent_dir(int root, char *rel, const char **last) {
  if (rel[0] == '/') die("unsafe path \"%s\"", rel);
  int fd = dup(root);
  if (fd < 0) die("dup: %s", strerror(errno));
  *last = ".";
  char *save = NULL;
  for (char *comp = strtok_r(rel, "/", &save); comp;) {
    char *next = strtok_r(NULL, "/", &save);
    if (strcmp(comp, "..") == 0) die("unsafe path component \"..\"");
    if (!next) {
      *last = comp;
      break;
    }
    if (strcmp(comp, ".") != 0) {
      int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) die("open %s: %s", comp, strerror(errno));
      close(fd);
      fd = sub;
    }
    comp = next;
  }
  return fd;
}

int cmd_set_xattrs(int argc, char **argv) {
  const char *dir = dir_option(argc, argv, "set-xattrs");
  static char rel[MAX_REL], name[XATTR_NAME_MAX + 1], len_text[32], value[MAX_VALUE];
  int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("open %s: %s", dir, strerror(errno));
  while (read_field(rel, sizeof rel)) {
    if (!read_field(name, sizeof name) || !read_field(len_text, sizeof len_text)) die("truncated record");
    char *end;
    errno = 0;
    unsigned long len = strtoul(len_text, &end, 10);
    if (*end || errno || len > sizeof value) die("bad value length \"%s\"", len_text);
    if (fread(value, 1, len, stdin) != len) die("truncated value on stdin");
    if (skipped_name(name)) continue;
    const char *last;
    int parent = open_parent_dir(root, rel, &last);
    if (fchdir(parent) < 0) die("chdir: %s", strerror(errno));
    if (lsetxattr(last, name, value, len, 0) < 0) die("setxattr %s %s: %s", last, name, strerror(errno));
    close(parent);
  }
  return 0;
}
