/*
 * The step's mount points and mounts: the init layer (or, on a plain rootfs, created-then-removed
 * mount points), bind/cache/tmpfs/secret mounts, and Docker's masked /proc and /sys paths.
 *
 * Mount targets are resolved with openat2(RESOLVE_NO_SYMLINKS) below the rootfs and mounted
 * through /proc/self/fd/N: a symlink in the image (or in a host dir bound earlier) can never
 * redirect a mount onto the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define MAX_DEPTH 64
#define MAX_MADE 256

/* ---------- options ---------- */

static unsigned long parse_num(const char *what, const char *s, int base) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, base);
  if (!*s || *end || errno) die("bad %s \"%s\"", what, s);
  return v;
}

/* Targets arrive normalised from kiln; anything else is refused rather than guessed at. */
static void check_target(const char *dst) {
  if (dst[0] != '/' || dst[1] == '\0' || strchr(dst, '\n') || strstr(dst, "//") || dst[strlen(dst) - 1] == '/')
    die("bad mount target \"%s\"", dst);
  for (const char *p = dst + 1;;) {
    const char *end = strchrnul(p, '/');
    size_t len = (size_t)(end - p);
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) die("bad mount target \"%s\"", dst);
    if (!*end) break;
    p = end + 1;
  }
}

void parse_mount(struct user_mount *m, const char *type, const char *src, const char *dst, const char *opts) {
  memset(m, 0, sizeof *m);
  if (strcmp(type, "bind") == 0) m->type = MOUNT_BIND;
  else if (strcmp(type, "cache") == 0) m->type = MOUNT_CACHE;
  else if (strcmp(type, "tmpfs") == 0) m->type = MOUNT_TMPFS;
  else if (strcmp(type, "secret") == 0) m->type = MOUNT_SECRET;
  else if (strcmp(type, "volume") == 0) m->type = MOUNT_VOLUME;
  else if (strcmp(type, "ssh") == 0) m->type = MOUNT_SSH;
  else die("unknown mount type \"%s\"", type);
  check_target(dst);
  m->src = src;
  m->dst = dst;
  m->mode = m->type == MOUNT_SECRET ? 0400 : 0755;
  m->rw = m->type == MOUNT_CACHE || m->type == MOUNT_TMPFS || m->type == MOUNT_VOLUME;
  char buf[1024];
  if (strlen(opts) >= sizeof buf) die("mount options too long");
  strcpy(buf, opts);
  char *save = NULL;
  for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    char *v = strchr(o, '=');
    if (v) *v++ = '\0';
    if (strcmp(o, "ro") == 0 && !v) m->rw = 0;
    else if (strcmp(o, "rw") == 0 && !v) m->rw = 1;
    else if (strcmp(o, "size") == 0 && v) m->size = parse_num("size", v, 10);
    else if (strcmp(o, "uid") == 0 && v) m->uid = (uid_t)parse_num("uid", v, 10);
    else if (strcmp(o, "gid") == 0 && v) m->gid = (gid_t)parse_num("gid", v, 10);
    else if (strcmp(o, "mode") == 0 && v) m->mode = (mode_t)parse_num("mode", v, 8) & 07777;
    else if (strcmp(o, "sharing") == 0 && v) {
      if (strcmp(v, "shared") == 0) m->sharing = SHARING_SHARED;
      else if (strcmp(v, "private") == 0) m->sharing = SHARING_PRIVATE;
      else if (strcmp(v, "locked") == 0) m->sharing = SHARING_LOCKED;
      else die("bad sharing \"%s\"", v);
    } else die("unknown mount option \"%s\"", o);
  }
  if (m->type == MOUNT_BIND || m->type == MOUNT_VOLUME) {
    struct stat st;
    if (stat(src, &st) < 0) die("bind source %s: %s", src, strerror(errno));
    m->is_dir = S_ISDIR(st.st_mode);
  } else if (m->type == MOUNT_SSH) {
    struct stat st;
    if (stat(src, &st) < 0 || !S_ISSOCK(st.st_mode)) die("ssh agent socket %s: not a socket", src);
    m->is_dir = 0;
  } else {
    m->is_dir = m->type != MOUNT_SECRET;
  }
}

/* ---------- mount points ---------- */

struct made {
  char path[4096];
  int is_dir;
};
struct parent_times {
  char path[4096];
  struct timespec atime, mtime, after;
};
struct attr_fix {
  char path[4096];
  struct stat st;
};

/* Copy mode: what was created, in order, and the times of the directories it was created in. */
static struct made made[MAX_MADE];
static int n_made;
static struct parent_times parents[MAX_MADE];
static int n_parents;
/* Overlay mode: init-layer directories that must look like the lower directories they shadow. */
static struct attr_fix fixes[MAX_MADE];
static int n_fixes;

static void remember_parent(const char *path) {
  for (int i = 0; i < n_parents; i++)
    if (strcmp(parents[i].path, path) == 0) return;
  if (n_parents >= MAX_MADE) die("too many mount points");
  struct stat st;
  if (lstat(path, &st) < 0) die("stat %s: %s", path, strerror(errno));
  struct parent_times *p = &parents[n_parents++];
  snprintf(p->path, sizeof p->path, "%s", path);
  p->atime = st.st_atim;
  p->mtime = st.st_mtim;
}

static void add_fix(const char *path, const struct stat *st) {
  if (n_fixes >= MAX_MADE) die("too many mount points");
  snprintf(fixes[n_fixes].path, sizeof fixes[n_fixes].path, "%s", path);
  fixes[n_fixes++].st = *st;
}

/* Creates `path` (a dir, or an empty file); 1 when it was created here, 0 when it was there. */
static int create(const char *path, int is_dir) {
  if (is_dir) {
    if (mkdir(path, 0755) == 0) return 1;
    if (errno == EEXIST) return 0;
    die("mkdir %s: %s", path, strerror(errno));
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0) {
    close(fd);
    return 1;
  }
  if (errno == EEXIST) return 0;
  die("create %s: %s", path, strerror(errno));
}

/*
 * Makes the root-relative `rel` exist as seen from `lookup`. `strict` (mount targets) refuses
 * symlinks and non-directories on the way; otherwise an existing entry of any kind is kept.
 * With `init`, the missing part is created there, together with twins of the existing
 * directories above it; otherwise in `lookup` itself (`log`: remember it for removal).
 */
static int ensure_path(const char *lookup, const char *init, const char *rel, int want_dir, int strict, int log) {
  char buf[4096], path[4096], target[4096];
  struct stat above[MAX_DEPTH];
  int depth = 0, created = 0;
  if (strlen(rel) >= sizeof buf) die("path too long: %s", rel);
  strcpy(buf, rel);
  char *p = buf;
  for (;;) {
    char *slash = strchr(p, '/');
    int last = slash == NULL;
    if (!last) *slash = '\0';
    join(path, sizeof path, lookup, buf);
    struct stat st;
    if (!created && lstat(path, &st) == 0) {
      if (strict && S_ISLNK(st.st_mode)) die("mount target /%s: /%s is a symbolic link", rel, buf);
      if (last) return 0;
      if (!S_ISDIR(st.st_mode)) {
        if (strict) die("mount target /%s: /%s is not a directory", rel, buf);
        return 0;
      }
      if (depth >= MAX_DEPTH) die("mount target /%s is too deep", rel);
      above[depth++] = st;
    } else {
      if (!created && init) {
        /* The init layer shadows the directories above the new entry: same attributes. */
        struct stat root;
        if (lstat(lookup, &root) < 0) die("stat rootfs: %s", strerror(errno));
        if (create(init, 1)) add_fix(init, &root);
        char *q = buf;
        for (int i = 0; i < depth; i++) {
          char *s = strchr(q, '/');
          *s = '\0';
          join(target, sizeof target, init, buf);
          if (create(target, 1)) add_fix(target, &above[i]);
          *s = '/';
          q = s + 1;
        }
      } else if (!created && log) {
        char *cut = strrchr(buf, '/');
        if (cut) *cut = '\0';
        if (cut) join(target, sizeof target, lookup, buf);
        else snprintf(target, sizeof target, "%s", lookup);
        remember_parent(target);
        if (cut) *cut = '/';
      }
      created = 1;
      int is_dir = !last || want_dir;
      join(target, sizeof target, init ? init : lookup, buf);
      if (create(target, is_dir) && log) {
        if (n_made >= MAX_MADE) die("too many mount points");
        snprintf(made[n_made].path, sizeof made[n_made].path, "%s", target);
        made[n_made++].is_dir = is_dir;
      }
    }
    if (last) break;
    *slash = '/';
    p = slash + 1;
  }
  return 1;
}

int plan_mountpoints(const char *lookup, const char *init, const struct user_mount *ms, int n,
                     struct etc_plan *etc) {
  int used = 0, log = init == NULL;
  n_fixes = 0;
  const char *dirs[] = {"proc", "dev", "sys"};
  for (int i = 0; i < 3; i++) used |= ensure_path(lookup, init, dirs[i], 1, 0, log);
  char path[4096];
  struct stat st;
  memset(etc, 0, sizeof *etc);
  join(path, sizeof path, lookup, "etc");
  /* A rootfs without /etc (a scratch image with a static binary) gets one for the three files,
   * as runc makes their mount points; a /etc that is a link or a file stays as the image has it. */
  int etc_dir = lstat(path, &st) == 0 ? S_ISDIR(st.st_mode) : errno == ENOENT;
  if (etc_dir) {
    const char *files[] = {"etc/hosts", "etc/resolv.conf", "etc/hostname"};
    int *bind[] = {&etc->hosts, &etc->resolv, &etc->hostname};
    for (int i = 0; i < 3; i++) {
      join(path, sizeof path, lookup, files[i]);
      /* A symlink or directory stays as the image has it: mounting over it would follow the link. */
      if (lstat(path, &st) == 0) *bind[i] = S_ISREG(st.st_mode);
      else *bind[i] = 1, used |= ensure_path(lookup, init, files[i], 0, 0, log);
    }
  }
  for (int i = 0; i < n; i++) used |= ensure_path(lookup, init, ms[i].dst + 1, ms[i].is_dir, 1, log);
  /* Attributes last: creating entries inside a directory would change its mtime again. */
  for (int i = 0; i < n_fixes; i++) copy_attrs(fixes[i].path, &fixes[i].st);
  for (int i = 0; i < n_parents; i++) {
    if (lstat(parents[i].path, &st) < 0) die("stat %s: %s", parents[i].path, strerror(errno));
    parents[i].after = st.st_mtim;
  }
  return used && init != NULL;
}

void remove_mountpoints(void) {
  int unchanged[MAX_MADE];
  for (int i = 0; i < n_parents; i++) {
    struct stat st;
    unchanged[i] = lstat(parents[i].path, &st) == 0 && st.st_mtim.tv_sec == parents[i].after.tv_sec &&
                   st.st_mtim.tv_nsec == parents[i].after.tv_nsec;
  }
  /* Only what is still empty goes: the command may have written next to a mount point. */
  for (int i = n_made - 1; i >= 0; i--) {
    if (made[i].is_dir) rmdir(made[i].path);
    else unlink(made[i].path);
  }
  for (int i = 0; i < n_parents; i++) {
    if (!unchanged[i]) continue;
    struct timespec ts[2] = {parents[i].atime, parents[i].mtime};
    utimensat(AT_FDCWD, parents[i].path, ts, AT_SYMLINK_NOFOLLOW);
  }
}

/* ---------- the step's mounts ---------- */

/* Takes the cache instance's lock (held until the step's init exits) and creates the instance
 * with its uid/gid/mode, atomically, the first time. shared: a shared lock on instance 0;
 * locked: an exclusive lock on instance 0 (waits); private: the first instance nobody holds. */
static void prepare_cache(struct user_mount *m) {
  char lock[4096], tmp[4096];
  int n = 0;
  for (;; n++) {
    if (n >= 64) die("cache %s: no free private instance", m->src);
    snprintf(lock, sizeof lock, "%s/%d.lock", m->src, n);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) die("open %s: %s", lock, strerror(errno));
    int op = m->sharing == SHARING_SHARED ? LOCK_SH : LOCK_EX;
    if (m->sharing == SHARING_PRIVATE) op |= LOCK_NB;
    if (flock(fd, op) == 0) break; /* fd stays open: the lock lives as long as this process */
    if (errno == EWOULDBLOCK && m->sharing == SHARING_PRIVATE) {
      close(fd);
      continue;
    }
    die("lock %s: %s", lock, errno == EINTR ? "interrupted" : strerror(errno));
  }
  snprintf(m->host, sizeof m->host, "%s/%d", m->src, n);
  struct stat st;
  if (lstat(m->host, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) die("cache %s is not a directory", m->host);
    return;
  }
  /* A unique name: concurrent steps may both create the instance, and getpid() is the same
   * (1) in each step's PID namespace. */
  snprintf(tmp, sizeof tmp, "%s/.new-%d-XXXXXX", m->src, n);
  if (!mkdtemp(tmp)) die("mkdtemp %s: %s", tmp, strerror(errno));
  if (chown(tmp, m->uid, m->gid) < 0 || chmod(tmp, m->mode) < 0) die("set attributes of %s: %s", tmp, strerror(errno));
  if (rename(tmp, m->host) < 0) {
    int e = errno;
    rmdir(tmp);
    if (e != EEXIST && e != ENOTEMPTY) die("rename %s: %s", tmp, strerror(e));
  }
}

/* The secret lives on the private staging tmpfs with its own owner and mode; the host file is
 * never mounted (its mode and owner are the host's business). */
static void stage_secret(struct user_mount *m, const char *stage, int i) {
  char name[32];
  snprintf(name, sizeof name, "secret-%d", i);
  join(m->host, sizeof m->host, stage, name);
  int in = open(m->src, O_RDONLY | O_CLOEXEC);
  if (in < 0) die("secret %s: %s", m->src, strerror(errno));
  int out = open(m->host, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) die("create %s: %s", m->host, strerror(errno));
  char buf[8192];
  ssize_t r;
  while ((r = read(in, buf, sizeof buf)) > 0) {
    if (write(out, buf, (size_t)r) != r) die("write %s: %s", m->host, strerror(errno));
  }
  if (r < 0) die("read secret %s: %s", m->src, strerror(errno));
  if (fchown(out, m->uid, m->gid) < 0 || fchmod(out, m->mode) < 0) die("secret attributes: %s", strerror(errno));
  close(in);
  close(out);
}

void prepare_mounts(struct user_mount *ms, int n, const char *stage) {
  for (int i = 0; i < n; i++) {
    if (ms[i].type == MOUNT_CACHE) prepare_cache(&ms[i]);
    else if (ms[i].type == MOUNT_SECRET) stage_secret(&ms[i], stage, i);
    else snprintf(ms[i].host, sizeof ms[i].host, "%s", ms[i].src);
  }
}

/* The target below `rootfs`, no symlink followed, as an O_PATH fd. */
static int open_target(int rootfd, const char *dst) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
  int fd = (int)syscall(SYS_openat2, rootfd, dst + 1, &how, sizeof how);
  if (fd < 0) die("mount target %s: %s", dst, strerror(errno));
  return fd;
}

static void fd_path(char *out, size_t cap, int fd) { snprintf(out, cap, "/proc/self/fd/%d", fd); }

/* mount(2) onto `dst` below the rootfs, reached through an fd so no symlink can redirect it. */
static void mount_at(int rootfd, const char *src, const char *dst, const char *fstype, unsigned long flags,
                     const char *opts) {
  char t[64];
  int fd = open_target(rootfd, dst);
  fd_path(t, sizeof t, fd);
  xmount(src, t, fstype, flags, opts);
  close(fd);
}

/* Bind, then remount read-only keeping the flags the source mount has (the kernel refuses to
 * clear locked nosuid/nodev/noexec). The remount goes through a fresh fd: the old one still
 * names the directory under the new mount. */
static void bind_ro(int rootfd, const char *src, const char *dst, unsigned long extra) {
  mount_at(rootfd, src, dst, NULL, MS_BIND | MS_REC, NULL);
  struct statvfs sv;
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra;
  if (statvfs(src, &sv) == 0) {
    if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  }
  mount_at(rootfd, NULL, dst, NULL, flags, NULL);
}

/* bind,rw: the step may write, the host never sees it (BuildKit's throwaway overlay). A file
 * gets a private copy on the staging tmpfs instead. */
static void bind_rw(int rootfd, const struct user_mount *m, const char *stage, int i) {
  char dir[4096], upper[4096], work[4096], t[64], name[32];
  int fd = open_target(rootfd, m->dst);
  fd_path(t, sizeof t, fd);
  snprintf(name, sizeof name, "bind-%d", i);
  join(dir, sizeof dir, stage, name);
  if (!m->is_dir) {
    copy_file(m->host, dir);
    xmount(dir, t, NULL, MS_BIND, NULL);
    close(fd);
    return;
  }
  join(upper, sizeof upper, dir, "upper");
  join(work, sizeof work, dir, "work");
  if (mkdir(dir, 0700) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) die("mkdir %s: %s", dir, strerror(errno));
  struct stat st;
  if (stat(m->host, &st) == 0) copy_attrs(upper, &st);
  int src = open(m->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0) die("bind source %s: %s", m->host, strerror(errno));
  char opts[8400];
  snprintf(opts, sizeof opts, "lowerdir=/proc/self/fd/%d,upperdir=%s,workdir=%s", src, upper, work);
  if (mount("overlay", t, "overlay", 0, opts) < 0)
    die("bind,rw of %s needs overlayfs: %s", m->host, strerror(errno));
  close(src);
  close(fd);
}

void mount_user_mounts(const char *rootfs, const struct user_mount *ms, int n, const char *stage) {
  int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("open %s: %s", rootfs, strerror(errno));
  for (int i = 0; i < n; i++) {
    const struct user_mount *m = &ms[i];
    /* Nested in an earlier mount (a cache, a bound dir): the mount point is made there. */
    ensure_path(rootfs, NULL, m->dst + 1, m->is_dir, 1, 0);
    char opts[64];
    switch (m->type) {
    case MOUNT_BIND:
      if (m->rw) bind_rw(rootfd, m, stage, i);
      else bind_ro(rootfd, m->host, m->dst, 0);
      break;
    case MOUNT_VOLUME:
      if (!m->rw) {
        bind_ro(rootfd, m->host, m->dst, 0);
        break;
      }
      mount_at(rootfd, m->host, m->dst, NULL, MS_BIND | MS_REC, NULL);
      break;
    case MOUNT_CACHE:
      mount_at(rootfd, m->host, m->dst, NULL, MS_BIND, NULL);
      break;
    case MOUNT_TMPFS:
      if (m->size) snprintf(opts, sizeof opts, "mode=1777,size=%llu", m->size);
      else snprintf(opts, sizeof opts, "mode=1777");
      mount_at(rootfd, "tmpfs", m->dst, "tmpfs", MS_NOSUID | MS_NODEV, opts);
      break;
    case MOUNT_SECRET:
      bind_ro(rootfd, m->host, m->dst, MS_NOSUID | MS_NODEV | MS_NOEXEC);
      break;
    case MOUNT_SSH:
      /* The socket itself (kiln's per-step proxy, whose owner and mode kiln set): a read-only
       * bind would not stop connect(), and the step must be able to reach it. */
      mount_at(rootfd, m->host, m->dst, NULL, MS_BIND, NULL);
      break;
    }
  }
  close(rootfd);
}

/* ---------- masked paths ---------- */

/* Docker's defaults (moby oci/defaults.go): masked paths read as empty, the others read-only. */
static const char *const masked[] = {"proc/asound",   "proc/acpi",          "proc/kcore",     "proc/keys",
                                     "proc/latency_stats", "proc/timer_list", "proc/timer_stats",
                                     "proc/sched_debug",   "proc/scsi",       "sys/firmware",
                                     "sys/devices/virtual/powercap"};
static const char *const readonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};

void mask_paths(const char *rootfs) {
  char path[4096];
  struct stat st;
  for (size_t i = 0; i < sizeof masked / sizeof *masked; i++) {
    join(path, sizeof path, rootfs, masked[i]);
    if (lstat(path, &st) < 0) continue; /* not on this kernel */
    if (S_ISDIR(st.st_mode)) xmount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
    else xmount("/dev/null", path, NULL, MS_BIND, NULL);
  }
  for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++) {
    join(path, sizeof path, rootfs, readonly[i]);
    if (lstat(path, &st) < 0) continue;
    xmount(path, path, NULL, MS_BIND | MS_REC, NULL);
    xmount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }
}
