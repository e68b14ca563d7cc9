/*
 * kiln-helper: the few Linux operations Node cannot do by itself.
 *
 *   kiln-helper run (--lower DIR... --upper DIR | --rootfs DIR) --work DIR [--cwd PATH]
 *                   [--user U[:G]] [--hostname NAME] [--network host|none] [--env K=V]...
 *                   [--mount TYPE SRC DST OPTS]... [--rlimit NAME SOFT HARD]... [--tty]
 *                   [--limit memory|pids|cpu VALUE]... -- ARGV...
 *       Runs ARGV as PID 1's only child in fresh mount/PID/UTS/IPC (and, for "none", network)
 *       namespaces on an overlay of the lower dirs (the LAST --lower is the top-most layer), or
 *       on the plain directory --rootfs (copy snapshots, for hosts without overlayfs).
 *       Exit status: the command's (128+N when killed by signal N), 127 when the program is not
 *       found, 126 when it cannot be executed, 125 when the sandbox could not be set up.
 *       When fd 3 is open it is a status channel: "ready\n" once the sandbox is set up, or
 *       "error: <message>\n" when setup failed. It is never inherited by the command.
 *
 *       The spec stays argv, not JSON: every value is its own argv element (a --mount is four
 *       of them: TYPE bind|cache|tmpfs|secret, SRC host path or "-", DST absolute target, OPTS
 *       a comma list of ro rw size= uid= gid= mode= sharing=), so paths need no escaping and
 *       the helper needs no parser; OPTS never holds a path. TYPE volume binds a host path as
 *       is (writes reach the host), for `kiln run -v`.
 *
 *       --tty gives the command a pseudo-terminal of the container's devpts as its controlling
 *       terminal (stdin, stdout and stderr); PID 1 relays the helper's stdin to it and its
 *       output to the helper's stdout, and copies the size of the helper's terminal to it on
 *       SIGWINCH (which the helper forwards). See run-tty.c. --ro-network-files mounts
 *       /etc/hosts and /etc/resolv.conf read-only (build steps, as BuildKit). --add-host NAME
 *       IP adds a line to the step's /etc/hosts (`build --add-host`).
 *
 *       Mount points the rootfs lacks (/proc, /dev, /sys, /etc/hosts, /etc/resolv.conf,
 *       /etc/hostname, every --mount target) are created in an extra top-most lower dir on a
 *       private tmpfs ("init layer", as Docker does), never in the upper dir, so the upper dir
 *       holds exactly what the command changed. With --rootfs they are created in the rootfs
 *       and removed (parent times restored) when the step ends. All mounts live in a private
 *       mount namespace: nothing stays mounted on the host, even when the helper is killed.
 *       /proc and /sys get Docker's masked and read-only paths. --rlimit never raises a limit
 *       above the current hard limit (that needs CAP_SYS_RESOURCE): it is clamped.
 *
 *       --limit puts the step in a cgroup of its own (run-cgroup.c): memory in bytes (no swap),
 *       pids (processes of the command), cpu in thousandths of a core. When the kernel's OOM
 *       killer killed a process of the step, the status channel gets "oom-kill\n" after "ready".
 *
 *   kiln-helper probe-cgroups
 *       Prints which cgroup controllers --limit can use, and why not for the others.
 *
 *   kiln-helper whiteouts --dir DIR [--mknod REL]... [--opaque REL]... [--device T:MAJ:MIN:REL]...
 *       Creates overlay whiteouts (char device 0/0) and opaque markers (trusted.overlay.opaque=y)
 *       inside DIR; --device creates a device node (T is c or b) or a fifo (T is p, MAJ/MIN 0)
 *       with mode 0600. REL must be relative and free of ".."; symlinks are never followed.
 *
 *   kiln-helper probe-overlay --dir DIR
 *       Exits 0 when an overlay with an upper dir mounts below DIR (in a private namespace).
 *
 *   kiln-helper opaque-dirs --dir DIR
 *       Prints, NUL-separated, the relative paths ("." for DIR itself) of the directories under
 *       DIR that carry trusted.overlay.opaque=y. Symlinks are never followed.
 *
 *   kiln-helper userns [--uid-map I:O:N]... [--gid-map I:O:N]... -- ARGV...
 *       Runs ARGV as root of a new user namespace (rootless mode; see userns.c). Inside one,
 *       every command above uses user.overlay.opaque instead of trusted.overlay.opaque and
 *       mounts overlays with `userxattr`.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define MAX_LIST 4096
/* user.overlay.opaque inside a user namespace (rootless mode), where trusted.* is out of reach. */
#define OPAQUE_XATTR opaque_xattr()
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int status_fd = -1;
/* Set while the outer process owns mount points it created in a plain rootfs (copy mode). */
static void (*cleanup_on_die)(void);

/* Reports a setup failure on the status channel (or stderr) and exits 125. */
void die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cleanup_on_die) cleanup_on_die();
  cgroup_remove();
  if (status_fd >= 0) dprintf(status_fd, "error: %s\n", msg);
  else dprintf(2, "kiln-helper: %s\n", msg);
  _exit(EXIT_SETUP);
}

static void usage(const char *what) { die("usage: %s", what); }

void join(char *out, size_t cap, const char *a, const char *b) {
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

struct rlimit_opt {
  int resource;
  rlim_t soft, hard;
};

struct run_opts {
  struct list lowers, env;
  /* --add-host NAME IP pairs, flattened: name, ip, name, ip... */
  struct list extra_hosts;
  const char *upper, *work, *rootfs, *cwd, *user, *hostname;
  int net_none, tty, ro_network_files;
  struct user_mount mounts[MAX_MOUNTS];
  int n_mounts;
  struct rlimit_opt rlimits[RLIM_NLIMITS];
  int n_rlimits;
  struct step_limits limits;
  char **argv;
};

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {{"as", RLIMIT_AS},           {"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},
                    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
                    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
                    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
                    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING},
                    {"stack", RLIMIT_STACK}};

static rlim_t parse_rlim(const char *s) {
  if (strcmp(s, "unlimited") == 0) return RLIM_INFINITY;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || errno) die("bad rlimit value \"%s\"", s);
  return (rlim_t)v;
}

static void parse_rlimit(struct run_opts *o, const char *name, const char *soft, const char *hard) {
  for (size_t i = 0; i < sizeof rlimit_names / sizeof *rlimit_names; i++) {
    if (strcmp(rlimit_names[i].name, name) != 0) continue;
    if (o->n_rlimits >= RLIM_NLIMITS) die("too many --rlimit");
    struct rlimit_opt *r = &o->rlimits[o->n_rlimits++];
    r->resource = rlimit_names[i].resource;
    r->soft = parse_rlim(soft);
    r->hard = parse_rlim(hard);
    if (r->soft > r->hard) die("rlimit %s: soft limit above hard limit", name);
    return;
  }
  die("unknown rlimit \"%s\"", name);
}

#define RUN_USAGE                                                                                  \
  "run (--lower DIR... --upper DIR | --rootfs DIR) --work DIR [--mount TYPE SRC DST OPTS]... "      \
  "[--rlimit NAME SOFT HARD]... [--add-host NAME IP]... [--tty] [--ro-network-files] [...] -- ARGV..."

/* How many values follow a `run` option (flags have none). */
static int run_option_arity(const char *k) {
  if (strcmp(k, "--mount") == 0) return 4;
  if (strcmp(k, "--rlimit") == 0) return 3;
  if (strcmp(k, "--limit") == 0 || strcmp(k, "--add-host") == 0) return 2;
  if (strcmp(k, "--tty") == 0 || strcmp(k, "--ro-network-files") == 0) return 0;
  return 1;
}

static void parse_run(int argc, char **argv, struct run_opts *o) {
  o->cwd = "/";
  o->hostname = "kiln";
  int i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *k = argv[i];
    /* Each value is its own argv element: paths need no quoting and no parser is needed. */
    int arity = run_option_arity(k);
    if (i + arity >= argc) usage(RUN_USAGE);
    char **v = argv + i + 1;
    i += arity;
    if (strcmp(k, "--lower") == 0) push(&o->lowers, v[0]);
    else if (strcmp(k, "--upper") == 0) o->upper = v[0];
    else if (strcmp(k, "--rootfs") == 0) o->rootfs = v[0];
    else if (strcmp(k, "--work") == 0) o->work = v[0];
    else if (strcmp(k, "--cwd") == 0) o->cwd = v[0];
    else if (strcmp(k, "--user") == 0) o->user = v[0];
    else if (strcmp(k, "--hostname") == 0) o->hostname = v[0];
    else if (strcmp(k, "--env") == 0) push(&o->env, v[0]);
    else if (strcmp(k, "--add-host") == 0) {
      /* One line of /etc/hosts each: a blank or a line break would make another entry. */
      if (!*v[0] || !*v[1] || strpbrk(v[0], " \t\r\n#") || strpbrk(v[1], " \t\r\n#"))
        die("bad --add-host \"%s\" \"%s\"", v[0], v[1]);
      push(&o->extra_hosts, v[0]);
      push(&o->extra_hosts, v[1]);
    }
    else if (strcmp(k, "--tty") == 0) o->tty = 1;
    else if (strcmp(k, "--ro-network-files") == 0) o->ro_network_files = 1;
    else if (strcmp(k, "--mount") == 0) {
      if (o->n_mounts >= MAX_MOUNTS) die("too many --mount");
      parse_mount(&o->mounts[o->n_mounts++], v[0], v[1], v[2], v[3]);
    } else if (strcmp(k, "--rlimit") == 0) parse_rlimit(o, v[0], v[1], v[2]);
    else if (strcmp(k, "--limit") == 0) parse_limit(&o->limits, v[0], v[1]);
    else if (strcmp(k, "--network") == 0) {
      if (strcmp(v[0], "none") == 0) o->net_none = 1;
      else if (strcmp(v[0], "host") != 0) die("--network must be host or none");
    } else die("unknown option %s", k);
  }
  if (i >= argc || i + 1 >= argc) die("missing -- ARGV");
  int overlay = o->lowers.n && o->upper, plain = o->rootfs != NULL;
  if (overlay == plain || !o->work) die("either --lower and --upper, or --rootfs, and --work are required");
  if (plain && (o->lowers.n || o->upper)) die("--rootfs excludes --lower and --upper");
  if (o->cwd[0] != '/') die("--cwd must be absolute");
  o->argv = argv + i + 1;
}

/* ---------- run: filesystem ---------- */

void xmount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) < 0) die("mount %s on %s: %s", type ? type : src, dst, strerror(errno));
}

void touch(const char *path, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) die("create %s: %s", path, strerror(errno));
  close(fd);
}

void copy_file(const char *from, const char *to) {
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

void copy_attrs(const char *path, const struct stat *st) {
  if (lchown(path, st->st_uid, st->st_gid) < 0 || chmod(path, st->st_mode & 07777) < 0)
    die("set attributes of %s: %s", path, strerror(errno));
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0) die("utimes %s: %s", path, strerror(errno));
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
  /* As runc: terminals of group tty (5), where the user namespace maps that group. */
  if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
    xmount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  join(path, sizeof path, dev, "shm");
  mkdir(path, 01777);
  xmount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  /* POSIX message queues of the step's own IPC namespace (mq_open needs them), as runc mounts. */
  join(path, sizeof path, dev, "mqueue");
  mkdir(path, 01777);
  if (mount("mqueue", path, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) rmdir(path);
  const char *links[][2] = {{"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    join(path, sizeof path, dev, links[i][1]);
    if (symlink(links[i][0], path) < 0) die("symlink %s: %s", path, strerror(errno));
  }
}

/* `cgroup_ns`: the step has a cgroup namespace of its own (see container_init), so the cgroup
 * file systems mounted in it show the step's cgroup as their root. */
static void mount_sys(const char *rootfs, int cgroup_ns) {
  char path[4096];
  join(path, sizeof path, rootfs, "sys");
  unsigned long fl = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount("sysfs", path, "sysfs", fl, NULL) == 0) {
    if (cgroup_ns) mount_step_cgroupfs(rootfs);
    return;
  }
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

/* Copy mode (--rootfs): the mount points are planned in the host's mount namespace, before the
 * container exists, so the helper's outer process can remove them again afterwards. */
static struct etc_plan plain_etc;

/* Opened before the staging tmpfs covers the work dir. */
static struct {
  int lowers[MAX_LIST], upper, work;
} layer_fds;

/* Mounts the overlay of the layers (or binds the plain rootfs) at `rootfs`; returns the plan of
 * the /etc files to bind. */
static struct etc_plan mount_rootfs(const struct run_opts *o, const char *stage, const char *rootfs) {
  if (o->rootfs) {
    xmount(o->rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
    return plain_etc;
  }
  int n = o->lowers.n, *fds = layer_fds.lowers, upper = layer_fds.upper, work = layer_fds.work;
  char init[4096], probe[4096], empty[4096];
  join(init, sizeof init, stage, "init");
  join(probe, sizeof probe, stage, "probe");
  join(empty, sizeof empty, stage, "empty");
  if (mkdir(probe, 0755) < 0 || mkdir(empty, 0755) < 0) die("mkdir: %s", strerror(errno));

  static char lowerdir[8192], opts[12288];
  /* A lower-only overlay needs two layers; the empty dir makes that true even for one. */
  lowerdir_option(lowerdir, sizeof lowerdir, NULL, fds, n, empty);
  if ((size_t)snprintf(opts, sizeof opts, "lowerdir=%s%s", lowerdir, overlay_userxattr()) >= sizeof opts) die("too many layers");
  /* The read-only merged view says which mount points are missing; they go into an extra
   * top-most lower dir on the private tmpfs ("init layer", as Docker does), never into the
   * upper dir, so the upper dir holds exactly what the command changed. */
  xmount("overlay", probe, "overlay", MS_RDONLY, opts);
  struct etc_plan etc;
  int with_init = plan_mountpoints(probe, init, o->mounts, o->n_mounts, &etc);
  if (umount2(probe, MNT_DETACH) < 0) die("umount probe: %s", strerror(errno));

  lowerdir_option(lowerdir, sizeof lowerdir, with_init ? init : NULL, fds, n, NULL);
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d%s", lowerdir, upper,
           work, overlay_userxattr());
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
  return etc;
}

/* Mounts the rootfs under `stage` (a private tmpfs) and pivots into it. */
static void setup_rootfs(struct run_opts *o, int cgroup_ns) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private: %s", strerror(errno));
  /* The staging tmpfs hides the work dir in this namespace only; the overlay reaches the real
   * work dir through its file descriptor, and the host never sees a staging directory. */
  if (!o->rootfs) {
    for (int i = 0; i < o->lowers.n; i++) layer_fds.lowers[i] = open_dir_arg(o->lowers.items[i]);
    layer_fds.upper = open_dir_arg(o->upper);
    layer_fds.work = open_dir_arg(o->work);
  }
  xmount("tmpfs", o->work, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700");
  const char *st = o->work;
  char rootfs[4096], hosts[4096], resolv[4096], hostname[4096];
  join(rootfs, sizeof rootfs, st, "rootfs");
  join(hosts, sizeof hosts, st, "hosts");
  join(resolv, sizeof resolv, st, "resolv.conf");
  join(hostname, sizeof hostname, st, "hostname");
  if (mkdir(rootfs, 0755) < 0) die("mkdir: %s", strerror(errno));
  /* BuildKit's hosts file rather than the host's (whose names mean nothing inside): localhost,
   * and the step's hostname, so that `sudo` or `hostname -f` can resolve it. */
  int fd = open(hosts, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || dprintf(fd, "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", o->hostname) < 0)
    die("write %s: %s", hosts, strerror(errno));
  /* --add-host entries after the defaults, as BuildKit appends a build's extra hosts. */
  for (int i = 0; i + 1 < o->extra_hosts.n; i += 2)
    if (dprintf(fd, "%s\t%s\n", o->extra_hosts.items[i + 1], o->extra_hosts.items[i]) < 0)
      die("write %s: %s", hosts, strerror(errno));
  close(fd);
  copy_file("/etc/resolv.conf", resolv);
  fd = open(hostname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || dprintf(fd, "%s\n", o->hostname) < 0) die("write %s: %s", hostname, strerror(errno));
  close(fd);
  prepare_mounts(o->mounts, o->n_mounts, st);

  struct etc_plan etc = mount_rootfs(o, st, rootfs);
  char path[4096];
  join(path, sizeof path, rootfs, "proc");
  xmount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_dev(rootfs);
  mount_sys(rootfs, cgroup_ns);
  mask_paths(rootfs);
  const char *etc_src[] = {hosts, resolv, hostname};
  const char *etc_dst[] = {"etc/hosts", "etc/resolv.conf", "etc/hostname"};
  const int etc_bind[] = {etc.hosts, etc.resolv, etc.hostname};
  for (int i = 0; i < 3; i++) {
    if (!etc_bind[i]) continue;
    join(path, sizeof path, rootfs, etc_dst[i]);
    xmount(etc_src[i], path, NULL, MS_BIND, NULL);
    /* hosts and resolv.conf (not hostname) read-only for build steps, as BuildKit mounts them. */
    if (o->ro_network_files && i < 2)
      xmount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }
  mount_user_mounts(rootfs, o->mounts, o->n_mounts, st);

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
  f = fopen("/etc/group", "re");
  if (f) {
    struct group *gr;
    while ((gr = fgetgrent(f))) {
      if (group && !group_found && strcmp(gr->gr_name, group) == 0) {
        id->gid = gr->gr_gid; /* the first entry of that name wins */
        group_found = 1;
      }
      /* Supplementary groups come with USER alone, as runc's: USER name:group gives only that group. */
      for (char **m = gr->gr_mem; !group && *name && m && *m; m++) {
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
}

/* ---------- run: the command ---------- */

static const char *env_get(char **env, const char *key) {
  size_t n = strlen(key);
  for (; *env; env++)
    if (strncmp(*env, key, n) == 0 && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

/*
 * Closes (or, with `cloexec`, marks close-on-exec) every descriptor from `from` up. Why: kiln runs
 * as a client, not a daemon, and inherits whatever its caller left open (a CI runner's pipes,
 * make's jobserver); neither the helper, which a step can see as PID 1, nor the step may keep
 * them. close_range (Linux 5.11) where there is one, else each descriptor in /proc/self/fd.
 */
static void close_from(int from, int cloexec) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)from, ~0U, cloexec ? 4 /* CLOSE_RANGE_CLOEXEC */ : 0) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  int fds[1024], n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < 1024;) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] != '.' && fd >= from && fd != self) fds[n++] = fd;
  }
  closedir(d);
  for (int i = 0; i < n; i++) cloexec ? fcntl(fds[i], F_SETFD, FD_CLOEXEC) : close(fds[i]);
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

/* `winch`: the outer process also passes terminal resizes on to PID 1 (--tty). */
static void install_forwarding(int winch) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
  if (winch) sigaction(SIGWINCH, &sa, NULL);
}

/* Never above the current hard limit: raising it needs CAP_SYS_RESOURCE, which the step does
 * not get (and kiln itself may not have), so a request above it is clamped, not an error. */
static void apply_rlimits(const struct run_opts *o) {
  for (int i = 0; i < o->n_rlimits; i++) {
    const struct rlimit_opt *r = &o->rlimits[i];
    struct rlimit cur, next;
    if (getrlimit(r->resource, &cur) < 0) die("getrlimit: %s", strerror(errno));
    next.rlim_max = r->hard < cur.rlim_max ? r->hard : cur.rlim_max;
    next.rlim_cur = r->soft < next.rlim_max ? r->soft : next.rlim_max;
    if (setrlimit(r->resource, &next) < 0) die("setrlimit %d: %s", r->resource, strerror(errno));
  }
}

static int status_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

/* PID 1 of the new PID namespace: sets up the sandbox, runs the command, reaps every orphan,
 * and exits with the command's status (which makes the kernel kill whatever is left). */
static void container_init(struct run_opts *o) {
  /* A cgroup namespace of its own (after cgroup_enter), so that its /sys/fs/cgroup shows the
   * step's cgroup as the root; kernels without one run the step without that view. */
  int cgroup_ns = unshare(CLONE_NEWCGROUP) == 0;
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (o->net_none ? CLONE_NEWNET : 0);
  if (unshare(flags) < 0) die("unshare: %s", strerror(errno));
  umask(022); /* Docker's, so file modes do not depend on who started kiln */
  if (o->net_none) loopback_up();
  if (sethostname(o->hostname, strlen(o->hostname)) < 0) die("sethostname: %s", strerror(errno));
  setup_rootfs(o, cgroup_ns);
  struct ident id;
  resolve_user(o->user, &id);
  make_dirs(o->cwd);
  char **env = build_env(o, &id);
  struct tty tty = {-1, -1};
  if (o->tty) tty_open(&tty);
  /* Before the capabilities go: installing a filter without no_new_privs takes CAP_SYS_ADMIN. */
  install_seccomp();
  drop_caps();

  install_forwarding(0);
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
    apply_rlimits(o);
    if (o->tty) tty_attach(&tty, id.uid);
    /* A single-id user namespace (rootless without subordinate ids) denies setgroups. */
    if ((!setgroups_denied() && setgroups(id.ngroups, id.groups) < 0) || setgid(id.gid) < 0 || setuid(id.uid) < 0) {
      int e = errno;
      dprintf(2, "kiln-helper: switch to user %s: %s%s\n", o->user ? o->user : "0", strerror(e),
              e == EINVAL && in_userns()
                  ? " (rootless: the user namespace does not map this id; give your user subordinate ids "
                    "in /etc/subuid and /etc/subgid)"
                  : "");
      _exit(EXIT_SETUP);
    }
    if (chdir(o->cwd) < 0) {
      dprintf(2, "kiln-helper: chdir %s: %s\n", o->cwd, strerror(errno));
      _exit(EXIT_SETUP);
    }
    /* The helper's own descriptors (a terminal's) are not the command's. */
    close_from(3, 1);
    exec_command(o->argv, env);
  }
  target_pid = cmd;
  if (pending_sig) kill(cmd, pending_sig);
  if (o->tty) {
    close(tty.slave);
    _exit(status_code(tty_relay(tty.master, cmd)));
  }
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) _exit(EXIT_SETUP);
    if (r == cmd) _exit(status_code(st));
  }
}

static int cmd_run(int argc, char **argv) {
  static struct run_opts o;
  parse_run(argc, argv, &o);
  /* Node may have left the stdio it shares with us non-blocking; programs expect blocking stdio. */
  for (int fd = 0; fd < 3; fd++) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
  /* If kiln itself dies (even by SIGKILL), the helper and so the whole container go with it;
     the getppid() check closes the race with a parent that died before prctl. */
  pid_t kiln_pid = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != kiln_pid) _exit(137);
  if (o.rootfs) cleanup_on_die = remove_mountpoints;
  if (o.rootfs) plan_mountpoints(o.rootfs, NULL, o.mounts, o.n_mounts, &plain_etc);
  if (unshare(CLONE_NEWPID) < 0) die("unshare pid namespace: %s", strerror(errno));
  install_forwarding(o.tty);
  cgroup_create(&o.limits);
  pid_t init = fork();
  if (init < 0) die("fork: %s", strerror(errno));
  if (init == 0) {
    cleanup_on_die = NULL; /* the outer process cleans up when this one exits */
    cgroup_enter();
    /* If the helper is killed (SIGKILL on abort), the whole container goes with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    container_init(&o);
  }
  target_pid = init;
  if (pending_sig) kill(init, pending_sig);
  int report = status_fd;
  status_fd = -1;
  for (;;) {
    int st;
    pid_t r = waitpid(init, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("wait: %s", strerror(errno));
    if (o.rootfs) remove_mountpoints();
    if (report >= 0 && cgroup_oom_killed()) dprintf(report, "oom-kill\n");
    cgroup_remove();
    /* Closed only now: kiln reads the step's report to its end, so it also waits for the cleanup. */
    if (report >= 0) close(report);
    return status_code(st);
  }
}

/* Exit 0 when an overlay with an upper dir can be mounted below DIR (which must be empty), in a
 * private mount namespace that dies with this process: nothing to unmount afterwards. */
static int cmd_probe_overlay(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[0], "--dir") != 0) usage("probe-overlay --dir DIR");
  const char *names[] = {"lower", "upper", "work", "merged"};
  char paths[4][4096], opts[16800];
  for (int i = 0; i < 4; i++) {
    join(paths[i], sizeof paths[i], argv[1], names[i]);
    if (mkdir(paths[i], 0755) < 0) die("mkdir %s: %s", paths[i], strerror(errno));
  }
  if (unshare(CLONE_NEWNS) < 0) die("unshare: %s", strerror(errno));
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private: %s", strerror(errno));
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s%s", paths[0], paths[1], paths[2],
           overlay_userxattr());
  xmount("overlay", paths[3], "overlay", 0, opts);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage("kiln-helper run|whiteouts|opaque-dirs|probe-overlay ...");
  if (strcmp(argv[1], "probe-overlay") == 0) return cmd_probe_overlay(argc - 2, argv + 2);
  if (strcmp(argv[1], "probe-cgroups") == 0) return cmd_probe_cgroups();
  if (strcmp(argv[1], "userns") == 0 && fcntl(3, F_GETFD) >= 0) {
    status_fd = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  if (strcmp(argv[1], "userns") == 0) return cmd_userns(argc - 2, argv + 2);
  if (strcmp(argv[1], "run") == 0 && fcntl(3, F_GETFD) >= 0) {
    status_fd = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  if (strcmp(argv[1], "run") == 0) {
    close_from(status_fd >= 0 ? status_fd + 1 : 3, 0);
    return cmd_run(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "whiteouts") == 0) return cmd_whiteouts(argc - 2, argv + 2);
  if (strcmp(argv[1], "opaque-dirs") == 0) return cmd_opaque_dirs(argc - 2, argv + 2);
  if (strcmp(argv[1], "xattrs") == 0) return cmd_xattrs(argc - 2, argv + 2);
  if (strcmp(argv[1], "tree-attrs") == 0) return cmd_tree_attrs(argc - 2, argv + 2);
  if (strcmp(argv[1], "set-xattrs") == 0) return cmd_set_xattrs(argc - 2, argv + 2);
  if (strcmp(argv[1], "stat-paths") == 0) return cmd_stat_paths(argc - 2, argv + 2);
  if (strcmp(argv[1], "tree-stamp") == 0) return cmd_tree_stamp(argc - 2, argv + 2);
  if (strcmp(argv[1], "link-files") == 0) return cmd_link_files(argc - 2, argv + 2);
  usage("kiln-helper run|whiteouts|opaque-dirs ...");
}
