/*
 * kiln-helper: the few Linux operations Node cannot do by itself.
 *
 *   kiln-helper run --lower DIR... --upper DIR --work DIR [--cwd PATH] [--user U[:G]]
 *                   [--hostname NAME] [--network host|none] [--env K=V]... -- ARGV...
 *       Runs ARGV as PID 1's only child in fresh mount/PID/UTS/IPC (and, for "none", network)
 *       namespaces on an overlay of the lower dirs (the LAST --lower is the top-most layer).
 *       Exit status: the command's (128+N when killed by signal N), 127 when the program is not
 *       found, 126 when it cannot be executed, 125 when the sandbox could not be set up.
 *       When fd 3 is open it is a status channel: "ready\n" once the sandbox is set up, or
 *       "error: <message>\n" when setup failed. It is never inherited by the command.
 *
 *       Mount points the rootfs lacks (/proc, /dev, /sys, /etc/hosts, /etc/resolv.conf) are
 *       created in an extra top-most lower dir on a private tmpfs ("init layer", as Docker does),
 *       never in the upper dir, so the upper dir holds exactly what the command changed.
 *       All mounts live in a private mount namespace: nothing stays mounted on the host, even
 *       when the helper is killed with SIGKILL.
 *
 *   kiln-helper whiteouts --dir DIR [--mknod REL]... [--opaque REL]... [--device T:MAJ:MIN:REL]...
 *       Creates overlay whiteouts (char device 0/0) and opaque markers (trusted.overlay.opaque=y)
 *       inside DIR; --device creates a device node (T is c or b) or a fifo (T is p, MAJ/MIN 0)
 *       with mode 0600. REL must be relative and free of ".."; symlinks are never followed.
 *
 *   kiln-helper opaque-dirs --dir DIR
 *       Prints, NUL-separated, the relative paths ("." for DIR itself) of the directories under
 *       DIR that carry trusted.overlay.opaque=y. Symlinks are never followed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 125
#define MAX_LIST 4096
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int status_fd = -1;

/* Reports a setup failure on the status channel (or stderr) and exits 125. */
static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (status_fd >= 0) dprintf(status_fd, "error: %s\n", msg);
  else dprintf(2, "kiln-helper: %s\n", msg);
  _exit(EXIT_SETUP);
}

static void usage(const char *what) { die("usage: %s", what); }

/* a + "/" + b into out, or a setup error when it does not fit. */
static void join(char *out, size_t cap, const char *a, const char *b) {
  if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap) die("path too long: %s/%s", a, b);
}

/* ---------- argument lists ---------- */

struct list {
  const char *items[MAX_LIST];
  int n;
};

static void push(struct list *l, const char *s) {
  if (l->n >= MAX_LIST) die("too many arguments");
  l->items[l->n++] = s;
}

/* ---------- safe relative paths (whiteouts, opaque-dirs) ---------- */

/* Rejects absolute paths and ".." components: REL must stay inside the directory it names. */
static void check_rel(const char *rel) {
  if (rel[0] == '\0' || rel[0] == '/') die("unsafe path \"%s\"", rel);
  const char *p = rel;
  while (*p) {
    const char *end = strchrnul(p, '/');
    if (end - p == 2 && p[0] == '.' && p[1] == '.') die("unsafe path \"%s\"", rel);
    p = *end ? end + 1 : end;
  }
}

/* Opens the parent directory of REL below dirfd without following any symlink; *last gets the
 * final component (NULL when REL names dirfd itself, e.g. "."). */
static int open_parent(int dirfd, const char *rel, char *buf, size_t bufsz, const char **last) {
  check_rel(rel);
  if (strlen(rel) >= bufsz) die("path too long");
  strcpy(buf, rel);
  int fd = dup(dirfd);
  if (fd < 0) die("dup: %s", strerror(errno));
  char *save = NULL;
  char *comp = strtok_r(buf, "/", &save);
  *last = NULL;
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    if (strcmp(comp, ".") == 0) {
      comp = next;
      continue;
    }
    if (!next) {
      *last = comp;
      break;
    }
    int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) die("open %s (in %s): %s", comp, rel, strerror(errno));
    close(fd);
    fd = sub;
    comp = next;
  }
  return fd;
}

static int open_dir_arg(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", dir, strerror(errno));
  return fd;
}

static void make_node(int root, const char *rel, mode_t type, dev_t dev) {
  char buf[4096];
  const char *last;
  int fd = open_parent(root, rel, buf, sizeof buf, &last);
  if (!last) die("cannot create a node at \"%s\"", rel);
  if (mknodat(fd, last, type | 0600, dev) < 0) die("mknod %s: %s", rel, strerror(errno));
  close(fd);
}

static void make_opaque(int root, const char *rel) {
  char buf[4096];
  const char *last;
  int parent = open_parent(root, rel, buf, sizeof buf, &last);
  int fd = last ? openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : dup(parent);
  if (fd < 0) die("open %s: %s", rel, strerror(errno));
  if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0) die("setxattr %s: %s", rel, strerror(errno));
  close(fd);
  close(parent);
}

/* "T:MAJ:MIN:REL" → device node or fifo; REL comes last so it may contain ':'. */
static void make_device(int root, const char *spec) {
  char type;
  unsigned maj, min;
  int used = 0;
  if (sscanf(spec, "%c:%u:%u:%n", &type, &maj, &min, &used) != 3 || used == 0) die("bad --device \"%s\"", spec);
  mode_t fmt = type == 'c' ? S_IFCHR : type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : 0;
  if (!fmt) die("bad device type in \"%s\"", spec);
  make_node(root, spec + used, fmt, makedev(maj, min));
}

static int cmd_whiteouts(int argc, char **argv) {
  const char *dir = NULL;
  struct list mknods = {0}, opaques = {0}, devices = {0};
  for (int i = 0; i < argc; i++) {
    if (i + 1 >= argc) usage("whiteouts --dir DIR [--mknod REL]... [--opaque REL]... [--device T:MAJ:MIN:REL]...");
    if (strcmp(argv[i], "--dir") == 0) dir = argv[++i];
    else if (strcmp(argv[i], "--mknod") == 0) push(&mknods, argv[++i]);
    else if (strcmp(argv[i], "--opaque") == 0) push(&opaques, argv[++i]);
    else if (strcmp(argv[i], "--device") == 0) push(&devices, argv[++i]);
    else die("unknown option %s", argv[i]);
  }
  if (!dir) usage("whiteouts --dir DIR ...");
  int root = open_dir_arg(dir);
  for (int i = 0; i < mknods.n; i++) make_node(root, mknods.items[i], S_IFCHR, makedev(0, 0));
  for (int i = 0; i < devices.n; i++) make_device(root, devices.items[i]);
  for (int i = 0; i < opaques.n; i++) make_opaque(root, opaques.items[i]);
  return 0;
}

/* ---------- opaque-dirs ---------- */

static void print_rel(const char *rel) { fwrite(rel, 1, strlen(rel) + 1, stdout); }

static void walk_opaque(int fd, char *rel, size_t len, size_t cap) {
  char v[2];
  ssize_t n = fgetxattr(fd, OPAQUE_XATTR, v, sizeof v);
  if (n == 1 && v[0] == 'y') print_rel(len ? rel : ".");
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir %s: %s", len ? rel : ".", strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue; /* not a directory (DT_UNKNOWN) or a symlink */
    size_t nlen = strlen(e->d_name);
    if (len + nlen + 2 > cap) die("path too long below %s", rel);
    size_t at = len;
    if (len) rel[at++] = '/';
    memcpy(rel + at, e->d_name, nlen + 1);
    walk_opaque(sub, rel, at + nlen, cap);
    rel[len] = '\0';
  }
  closedir(d);
}

static int cmd_opaque_dirs(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[0], "--dir") != 0) usage("opaque-dirs --dir DIR");
  static char rel[65536];
  rel[0] = '\0';
  walk_opaque(open_dir_arg(argv[1]), rel, 0, sizeof rel);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* ---------- run: options ---------- */

struct run_opts {
  struct list lowers, env;
  const char *upper, *work, *cwd, *user, *hostname;
  int net_none;
  char **argv;
};

static void parse_run(int argc, char **argv, struct run_opts *o) {
  o->cwd = "/";
  o->hostname = "kiln";
  int i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (i + 1 >= argc) usage("run --lower DIR... --upper DIR --work DIR [...] -- ARGV...");
    const char *k = argv[i], *v = argv[++i];
    if (strcmp(k, "--lower") == 0) push(&o->lowers, v);
    else if (strcmp(k, "--upper") == 0) o->upper = v;
    else if (strcmp(k, "--work") == 0) o->work = v;
    else if (strcmp(k, "--cwd") == 0) o->cwd = v;
    else if (strcmp(k, "--user") == 0) o->user = v;
    else if (strcmp(k, "--hostname") == 0) o->hostname = v;
    else if (strcmp(k, "--env") == 0) push(&o->env, v);
    else if (strcmp(k, "--network") == 0) {
      if (strcmp(v, "none") == 0) o->net_none = 1;
      else if (strcmp(v, "host") != 0) die("--network must be host or none");
    } else die("unknown option %s", k);
  }
  if (i >= argc || i + 1 >= argc) die("missing -- ARGV");
  if (!o->lowers.n || !o->upper || !o->work) die("--lower, --upper and --work are required");
  if (o->cwd[0] != '/') die("--cwd must be absolute");
  o->argv = argv + i + 1;
}

/* ---------- run: filesystem ---------- */

static void xmount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) < 0) die("mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

static void touch(const char *path, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) die("create %s: %s", path, strerror(errno));
  close(fd);
}

static void copy_file(const char *from, const char *to) {
  char buf[8192];
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("create %s: %s", to, strerror(errno));
  int in = open(from, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  /* A host without the file gives the step an empty one, as Docker does. */
  while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0) {
    if (write(out, buf, n) != n) die("write %s: %s", to, strerror(errno));
  }
  if (in >= 0) close(in);
  close(out);
}

/* Builds the overlay lowerdir option: the helper's --lower order is bottom → top, overlay wants
 * top-most first. Paths are /proc/self/fd/N so layer paths need no escaping and stay short. */
static void lowerdir_option(char *buf, size_t cap, const char *init, const int *fds, int n, const char *extra) {
  size_t len = 0;
  buf[0] = '\0';
  if (init) len += snprintf(buf + len, cap - len, "%s:", init);
  for (int i = n - 1; i >= 0 && len < cap; i--) len += snprintf(buf + len, cap - len, "/proc/self/fd/%d:", fds[i]);
  if (extra && len < cap) len += snprintf(buf + len, cap - len, "%s:", extra);
  if (len >= cap) die("too many layers for one overlay mount");
  buf[len - 1] = '\0';
}

struct probe {
  struct stat root, etc;
  int missing_proc, missing_dev, missing_sys, has_etc, missing_hosts, missing_resolv, bind_hosts, bind_resolv;
};

static int exists(const char *path, struct stat *st) { return lstat(path, st) == 0; }

/* Looks at the merged lower layers (read-only) to see which mount points are missing. */
static void probe_rootfs(const char *probe_dir, const char *lowerdir, struct probe *p) {
  char opts[8192], path[4096];
  struct stat st;
  if ((size_t)snprintf(opts, sizeof opts, "lowerdir=%s", lowerdir) >= sizeof opts) die("too many layers");
  xmount("overlay", probe_dir, "overlay", MS_RDONLY, opts);
  if (lstat(probe_dir, &p->root) < 0) die("stat rootfs: %s", strerror(errno));
#define PROBE(name, field)                \
  join(path, sizeof path, probe_dir, name); \
  p->field = !exists(path, &st);
  PROBE("proc", missing_proc);
  PROBE("dev", missing_dev);
  PROBE("sys", missing_sys);
#undef PROBE
  join(path, sizeof path, probe_dir, "etc");
  p->has_etc = exists(path, &p->etc) && S_ISDIR(p->etc.st_mode);
  if (p->has_etc) {
    join(path, sizeof path, probe_dir, "etc/hosts");
    p->missing_hosts = !exists(path, &st);
    /* A symlink or directory stays as the image has it: mounting over it would follow the link. */
    p->bind_hosts = p->missing_hosts || S_ISREG(st.st_mode);
    join(path, sizeof path, probe_dir, "etc/resolv.conf");
    p->missing_resolv = !exists(path, &st);
    p->bind_resolv = p->missing_resolv || S_ISREG(st.st_mode);
  }
  if (umount2(probe_dir, MNT_DETACH) < 0) die("umount probe: %s", strerror(errno));
}

static void copy_attrs(const char *path, const struct stat *st) {
  if (lchown(path, st->st_uid, st->st_gid) < 0 || chmod(path, st->st_mode & 07777) < 0)
    die("set attributes of %s: %s", path, strerror(errno));
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0) die("utimes %s: %s", path, strerror(errno));
}

/* Creates the init layer: only what is missing, with the attributes of the directories it
 * shadows copied from the merged view, so a later copy-up into the upper dir is faithful. */
static int build_init_layer(const char *init, const struct probe *p) {
  int need = p->missing_proc || p->missing_dev || p->missing_sys || p->missing_hosts || p->missing_resolv;
  if (!need) return 0;
  char path[4096];
  if (mkdir(init, 0755) < 0) die("mkdir %s: %s", init, strerror(errno));
  const char *dirs[] = {"proc", "dev", "sys"};
  const int missing[] = {p->missing_proc, p->missing_dev, p->missing_sys};
  for (int i = 0; i < 3; i++) {
    join(path, sizeof path, init, dirs[i]);
    if (missing[i] && mkdir(path, 0755) < 0) die("mkdir %s: %s", path, strerror(errno));
  }
  if (p->missing_hosts || p->missing_resolv) {
    join(path, sizeof path, init, "etc");
    if (mkdir(path, 0755) < 0) die("mkdir %s: %s", path, strerror(errno));
    join(path, sizeof path, init, "etc/hosts");
    if (p->missing_hosts) touch(path, 0644);
    join(path, sizeof path, init, "etc/resolv.conf");
    if (p->missing_resolv) touch(path, 0644);
    join(path, sizeof path, init, "etc");
    copy_attrs(path, &p->etc);
  }
  copy_attrs(init, &p->root);
  return 1;
}

static void bind_file(const char *src, const char *dst, int required) {
  if (access(src, F_OK) < 0 && !required) return;
  touch(dst, 0644);
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0 && required) die("bind %s: %s", src, strerror(errno));
}

static void mount_dev(const char *rootfs) {
  char dev[4096], path[4096];
  join(dev, sizeof dev, rootfs, "dev");
  xmount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    char src[64];
    snprintf(src, sizeof src, "/dev/%s", nodes[i]);
    join(path, sizeof path, dev, nodes[i]);
    bind_file(src, path, i < 2);
  }
  join(path, sizeof path, dev, "pts");
  mkdir(path, 0755);
  xmount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  join(path, sizeof path, dev, "shm");
  mkdir(path, 01777);
  xmount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  const char *links[][2] = {{"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    join(path, sizeof path, dev, links[i][1]);
    if (symlink(links[i][0], path) < 0) die("symlink %s: %s", path, strerror(errno));
  }
}

static void mount_sys(const char *rootfs) {
  char path[4096];
  join(path, sizeof path, rootfs, "sys");
  unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount("sysfs", path, "sysfs", fl, NULL) == 0) return;
  /* Some sandboxes refuse a fresh sysfs; a read-only view of the host's is the fallback. */
  xmount("/sys", path, NULL, MS_BIND | MS_REC, NULL);
  xmount(NULL, path, NULL, MS_BIND | MS_REMOUNT | fl, NULL);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("lo flags: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("lo up: %s", strerror(errno));
  close(s);
}

/* Mounts the rootfs under `stage` (a private tmpfs) and pivots into it. */
static void setup_rootfs(const struct run_opts *o) {
  int n = o->lowers.n, fds[MAX_LIST];
  for (int i = 0; i < n; i++) fds[i] = open_dir_arg(o->lowers.items[i]);
  int upper = open_dir_arg(o->upper), work = open_dir_arg(o->work);

  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private: %s", strerror(errno));
  /* The staging tmpfs hides the work dir in this namespace only; the overlay reaches the real
   * work dir through its file descriptor, and the host never sees a staging directory. */
  const char *stage = o->work;
  xmount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700");
  char rootfs[4096], init[4096], probe[4096], empty[4096], hosts[4096], resolv[4096];
  join(rootfs, sizeof rootfs, stage, "rootfs");
  join(init, sizeof init, stage, "init");
  join(probe, sizeof probe, stage, "probe");
  join(empty, sizeof empty, stage, "empty");
  join(hosts, sizeof hosts, stage, "hosts");
  join(resolv, sizeof resolv, stage, "resolv.conf");
  if (mkdir(rootfs, 0755) < 0 || mkdir(probe, 0755) < 0 || mkdir(empty, 0755) < 0) die("mkdir: %s", strerror(errno));
  copy_file("/etc/hosts", hosts);
  copy_file("/etc/resolv.conf", resolv);

  static char lowerdir[8192], opts[12288];
  struct probe p;
  memset(&p, 0, sizeof p);
  /* A lower-only overlay needs two layers; the empty dir makes that true even for one. */
  lowerdir_option(lowerdir, sizeof lowerdir, NULL, fds, n, empty);
  probe_rootfs(probe, lowerdir, &p);
  int with_init = build_init_layer(init, &p);

  lowerdir_option(lowerdir, sizeof lowerdir, with_init ? init : NULL, fds, n, NULL);
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", lowerdir, upper, work);
  size_t base = strlen(opts);
  /* These keep the upper dir a plain changeset (no redirects, metacopy stubs or index). */
  snprintf(opts + base, sizeof opts - base, ",index=off,redirect_dir=off,metacopy=off");
  if (mount("overlay", rootfs, "overlay", 0, opts) < 0) {
    if (errno != EINVAL) die("mount overlay: %s", strerror(errno));
    opts[base] = '\0';
    xmount("overlay", rootfs, "overlay", 0, opts);
  }
  for (int i = 0; i < n; i++) close(fds[i]);
  close(upper);
  close(work);

  char path[4096];
  join(path, sizeof path, rootfs, "proc");
  xmount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_dev(rootfs);
  mount_sys(rootfs);
  if (p.has_etc && p.bind_hosts) {
    join(path, sizeof path, rootfs, "etc/hosts");
    xmount(hosts, path, NULL, MS_BIND, NULL);
  }
  if (p.has_etc && p.bind_resolv) {
    join(path, sizeof path, rootfs, "etc/resolv.conf");
    xmount(resolv, path, NULL, MS_BIND, NULL);
  }

  if (chdir(rootfs) < 0) die("chdir rootfs: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
  /* The old root is stacked on "."; detaching it leaves only the container's mounts. */
  if (umount2(".", MNT_DETACH) < 0) die("detach old root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
}

/* mkdir -p as root, so WORKDIR exists before the user switch. */
static void make_dirs(const char *path) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) die("cwd too long");
  strcpy(buf, path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", buf, strerror(errno));
      if (!c) break;
      *p = c;
    }
  }
}

/* ---------- run: user ---------- */

struct ident {
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  int ngroups;
  char home[1024];
};

static int parse_id(const char *s, unsigned long *out) {
  char *end;
  if (!*s) return 0;
  errno = 0;
  *out = strtoul(s, &end, 10);
  return *end == '\0' && errno == 0;
}

/* Resolves USER[:GROUP] from the rootfs's own /etc/passwd and /etc/group (never host NSS). */
static void resolve_user(const char *spec, struct ident *id) {
  memset(id, 0, sizeof *id);
  strcpy(id->home, "/");
  char user[256], *group = NULL;
  if (!spec || !*spec) spec = "0";
  snprintf(user, sizeof user, "%s", spec);
  char *colon = strchr(user, ':');
  if (colon) {
    *colon = '\0';
    group = colon + 1;
  }
  unsigned long num;
  int by_number = parse_id(user, &num);
  char name[256] = "";
  int found = 0;
  FILE *f = fopen("/etc/passwd", "re");
  if (f) {
    struct passwd *pw;
    while ((pw = fgetpwent(f))) {
      if (by_number ? pw->pw_uid == (uid_t)num : strcmp(pw->pw_name, user) == 0) {
        id->uid = pw->pw_uid;
        id->gid = pw->pw_gid;
        snprintf(name, sizeof name, "%s", pw->pw_name);
        snprintf(id->home, sizeof id->home, "%s", pw->pw_dir);
        found = 1;
        break;
      }
    }
    fclose(f);
  }
  if (!found && !by_number) die("unable to find user %s: no matching entries in passwd file", user);
  if (!found) id->uid = (uid_t)num;

  int group_found = !group;
  int by_gid = group && parse_id(group, &num);
  if (by_gid) {
    id->gid = (gid_t)num;
    group_found = 1;
  }
  id->groups[id->ngroups++] = id->gid;
  f = fopen("/etc/group", "re");
  if (f) {
    struct group *gr;
    while ((gr = fgetgrent(f))) {
      if (group && !by_gid && strcmp(gr->gr_name, group) == 0) {
        id->gid = gr->gr_gid;
        id->groups[0] = gr->gr_gid;
        group_found = 1;
      }
      for (char **m = gr->gr_mem; *name && m && *m; m++) {
        if (strcmp(*m, name) == 0 && id->ngroups < 256) id->groups[id->ngroups++] = gr->gr_gid;
      }
    }
    fclose(f);
  }
  if (!group_found) die("unable to find group %s: no matching entries in group file", group);
}

/* ---------- run: privileges ---------- */

static unsigned long long default_caps(void) {
  const int caps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,     CAP_FOWNER,     CAP_MKNOD,
                      CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,     CAP_SETFCAP,    CAP_SETPCAP,
                      CAP_NET_BIND_SERVICE,         CAP_SYS_CHROOT, CAP_KILL,       CAP_AUDIT_WRITE};
  unsigned long long set = 0;
  for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) set |= 1ULL << caps[i];
  return set;
}

/* Limits this process (and what it execs) to Docker's default capability set. */
static void drop_caps(void) {
  unsigned long long keep = default_caps();
  for (int c = 0; c < 64; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("drop capability %d: %s", c, strerror(errno));
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (unsigned)keep;
  data[1].effective = data[1].permitted = (unsigned)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset: %s", strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
}

/* ---------- run: the command ---------- */

static const char *env_get(char **env, const char *key) {
  size_t n = strlen(key);
  for (; *env; env++)
    if (strncmp(*env, key, n) == 0 && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

/* PATH search with the step's PATH (not the helper's); 127 when absent, 126 when not runnable. */
static void exec_command(char **argv, char **env) {
  const char *prog = argv[0];
  if (strchr(prog, '/')) {
    execve(prog, argv, env);
    int e = errno;
    dprintf(2, "exec: %s: %s\n", prog, e == ENOENT || e == ENOTDIR ? "not found" : strerror(e));
    _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
  }
  const char *path = env_get(env, "PATH");
  if (!path) path = DEFAULT_PATH;
  int denied = 0;
  char full[4096];
  for (const char *p = path;;) {
    const char *end = strchrnul(p, ':');
    int len = (int)(end - p);
    snprintf(full, sizeof full, "%.*s%s%s", len, p, len ? "/" : "", prog);
    execve(full, argv, env);
    if (errno == EACCES) denied = 1;
    else if (errno != ENOENT && errno != ENOTDIR) {
      dprintf(2, "exec: %s: %s\n", full, strerror(errno));
      _exit(126);
    }
    if (!*end) break;
    p = end + 1;
  }
  dprintf(2, "exec: %s: %s\n", prog, denied ? "permission denied" : "not found");
  _exit(denied ? 126 : 127);
}

static char **build_env(const struct run_opts *o, const struct ident *id) {
  static char *env[MAX_LIST + 3];
  static char path_var[] = "PATH=" DEFAULT_PATH;
  static char home_var[1100];
  int n = 0;
  for (int i = 0; i < o->env.n && n < MAX_LIST; i++) env[n++] = (char *)o->env.items[i];
  env[n] = NULL;
  /* Docker's defaults when the image does not say otherwise. */
  if (!env_get(env, "PATH")) env[n++] = path_var;
  if (!env_get(env, "HOME")) {
    snprintf(home_var, sizeof home_var, "HOME=%s", id->home);
    env[n++] = home_var;
  }
  env[n] = NULL;
  return env;
}

static volatile sig_atomic_t target_pid = 0, pending_sig = 0;

static void forward(int sig) {
  if (target_pid > 0) kill(target_pid, sig);
  else pending_sig = sig;
}

static void install_forwarding(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

static int status_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

/* PID 1 of the new PID namespace: sets up the sandbox, runs the command, reaps every orphan,
 * and exits with the command's status (which makes the kernel kill whatever is left). */
static void container_init(const struct run_opts *o) {
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->net_none ? CLONE_NEWNET : 0);
  if (unshare(flags) < 0) die("unshare: %s", strerror(errno));
  umask(022); /* Docker's, so file modes do not depend on who started kiln */
  if (o->net_none) loopback_up();
  if (sethostname(o->hostname, strlen(o->hostname)) < 0) die("sethostname: %s", strerror(errno));
  setup_rootfs(o);
  struct ident id;
  resolve_user(o->user, &id);
  make_dirs(o->cwd);
  char **env = build_env(o, &id);
  drop_caps();

  install_forwarding();
  if (status_fd >= 0) {
    dprintf(status_fd, "ready\n");
    close(status_fd);
    status_fd = -1;
  }
  pid_t cmd = fork();
  if (cmd < 0) die("fork: %s", strerror(errno));
  if (cmd == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &dfl, NULL);
    if (setgroups(id.ngroups, id.groups) < 0 || setgid(id.gid) < 0 || setuid(id.uid) < 0) {
      dprintf(2, "kiln-helper: switch to user %s: %s\n", o->user ? o->user : "0", strerror(errno));
      _exit(EXIT_SETUP);
    }
    if (chdir(o->cwd) < 0) {
      dprintf(2, "kiln-helper: chdir %s: %s\n", o->cwd, strerror(errno));
      _exit(EXIT_SETUP);
    }
    exec_command(o->argv, env);
  }
  target_pid = cmd;
  if (pending_sig) kill(cmd, pending_sig);
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) _exit(EXIT_SETUP);
    if (r == cmd) _exit(status_code(st));
  }
}

static int cmd_run(int argc, char **argv) {
  struct run_opts o;
  memset(&o, 0, sizeof o);
  parse_run(argc, argv, &o);
  /* If kiln itself dies (even by SIGKILL), the helper and so the whole container go with it;
     the getppid() check closes the race with a parent that died before prctl. */
  pid_t kiln_pid = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != kiln_pid) _exit(137);
  if (unshare(CLONE_NEWPID) < 0) die("unshare pid namespace: %s", strerror(errno));
  install_forwarding();
  pid_t init = fork();
  if (init < 0) die("fork: %s", strerror(errno));
  if (init == 0) {
    /* If the helper is killed (SIGKILL on abort), the whole container goes with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    container_init(&o);
  }
  target_pid = init;
  if (pending_sig) kill(init, pending_sig);
  if (status_fd >= 0) close(status_fd);
  status_fd = -1;
  for (;;) {
    int st;
    pid_t r = waitpid(init, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("wait: %s", strerror(errno));
    return status_code(st);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) usage("kiln-helper run|whiteouts|opaque-dirs ...");
  if (strcmp(argv[1], "run") == 0 && fcntl(3, F_GETFD) >= 0) {
    status_fd = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  if (strcmp(argv[1], "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (strcmp(argv[1], "whiteouts") == 0) return cmd_whiteouts(argc - 2, argv + 2);
  if (strcmp(argv[1], "opaque-dirs") == 0) return cmd_opaque_dirs(argc - 2, argv + 2);
  usage("kiln-helper run|whiteouts|opaque-dirs ...");
}
