/* What kiln-helper.c (commands, namespaces, users) and run-mounts.c (mount points and the
 * step's mounts) share. Everything here runs before the command is exec'd. */
#ifndef KILN_HELPER_H
#define KILN_HELPER_H

#include <sys/stat.h>
#include <sys/types.h>

#define EXIT_SETUP 125
#define MAX_MOUNTS 64

extern int status_fd;

/* seccomp.c: Docker's default seccomp answers for the calling process and what it execs. */
void install_seccomp(void);
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* a + "/" + b into out, or a setup error when it does not fit. */
void join(char *out, size_t cap, const char *a, const char *b);
void xmount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data);
/* step-cgroupfs.c: the host's cgroup file systems, read-only, below ROOTFS/sys/fs/cgroup. */
void mount_step_cgroupfs(const char *rootfs);
void touch(const char *path, mode_t mode);
/* Copies a host file; a missing `from` gives an empty file (as Docker does for hosts files). */
void copy_file(const char *from, const char *to);
void copy_attrs(const char *path, const struct stat *st);

/* MOUNT_VOLUME: a host file or directory bound as is, writes reach the host (docker run -v).
 * MOUNT_SSH: an ssh-agent socket bound as a file (RUN --mount=type=ssh). */
enum mount_type { MOUNT_BIND, MOUNT_CACHE, MOUNT_TMPFS, MOUNT_SECRET, MOUNT_VOLUME, MOUNT_SSH };
enum sharing { SHARING_SHARED, SHARING_PRIVATE, SHARING_LOCKED };

/* One `--mount TYPE SRC DST OPTS` of the step. */
struct user_mount {
  enum mount_type type;
  const char *src; /* host path; for cache the cache's base dir; unused for tmpfs */
  const char *dst; /* absolute, normalised, never "/" */
  int rw, is_dir;
  unsigned long long size; /* tmpfs bytes, 0 for the kernel default */
  uid_t uid;
  gid_t gid;
  mode_t mode;
  enum sharing sharing;
  char host[4096]; /* what gets mounted: the cache instance, the staged secret copy */
};

/* Which of /etc/hosts, /etc/resolv.conf and /etc/hostname get the step's own file. */
struct etc_plan {
  int hosts, resolv, hostname;
};

void parse_mount(struct user_mount *m, const char *type, const char *src, const char *dst, const char *opts);

/* Creates the mount points missing from the rootfs seen at `lookup`. With `init` non-NULL they
 * are created there (the overlay's init layer, with the attributes of the directories they
 * shadow); otherwise directly in `lookup` and remembered for `remove_mountpoints`. Returns
 * whether `init` was needed. */
int plan_mountpoints(const char *lookup, const char *init, const struct user_mount *ms, int n,
                     struct etc_plan *etc);
/* Copy mode: removes what plan_mountpoints created and restores its parents' times. */
void remove_mountpoints(void);

/* Picks the cache instance (taking its lock) and stages secret copies on the private tmpfs. */
void prepare_mounts(struct user_mount *ms, int n, const char *stage);
/* Mounts the step's mounts in order, below `rootfs`. */
void mount_user_mounts(const char *rootfs, const struct user_mount *ms, int n, const char *stage);
/* Docker's masked and read-only paths of /proc and /sys. */
void mask_paths(const char *rootfs);

/* -t: a pseudo-terminal of the container's own devpts (opened after pivot_root). */
struct tty {
  int master, slave;
};
/* Opens /dev/ptmx and its slave; the size is the host terminal's (stdin's, else stdout's). */
void tty_open(struct tty *t);
/* In the command's process: new session, the slave as controlling terminal and as fds 0-2,
 * owned by `uid`. */
void tty_attach(const struct tty *t, uid_t uid);
/* In PID 1: relays stdin → master and master → stdout, follows SIGWINCH, reaps every child,
 * and returns the wait status of `cmd` once it has exited and its output is drained. */
int tty_relay(int master, pid_t cmd);

/* --limit NAME VALUE (run-cgroup.c): 0 = no limit. */
struct step_limits {
  long long memory;    /* bytes, no swap on top */
  long long pids;      /* processes of the command (the container's init comes on top) */
  long long cpu_milli; /* CPU time per wall time, 1000 = one core */
};
void parse_limit(struct step_limits *l, const char *name, const char *value);
/* Outer process: creates the step's cgroup(s) and writes the limits; a setup error when a
 * requested controller is not usable. A no-op without limits. */
void cgroup_create(const struct step_limits *l);
/* The container's init, before it forks: moves itself into the step's cgroup(s). */
void cgroup_enter(void);
/* Whether the kernel's OOM killer killed a process of the step (read before cgroup_remove). */
int cgroup_oom_killed(void);
/* Removes the step's cgroup(s); only acts in the process that created them. */
void cgroup_remove(void);
/* kiln-helper probe-cgroups: one line per controller, "NAME v1|v2 DIR" or "NAME unavailable: WHY". */
int cmd_probe_cgroups(void);

/* kiln-helper xattrs / set-xattrs (xattrs.c): a tree's extended attributes, out and in;
 * tree-attrs: opaque markers and extended attributes in one walk. */
int cmd_xattrs(int argc, char **argv);
int cmd_tree_attrs(int argc, char **argv);
int cmd_set_xattrs(int argc, char **argv);

/* kiln-helper stat-paths --dir DIR (stat-paths.c): lstat of the NUL-ended paths on stdin. */
int cmd_stat_paths(int argc, char **argv);
/* Whether a path relative to a directory could leave it: absolute, or a ".." component. */
int unsafe_rel(const char *rel);
int cmd_tree_stamp(int argc, char **argv);
/* kiln-helper link-files --from DIR --to DIR (link-files.c): hardlinks equal files of a layer. */
int cmd_link_files(int argc, char **argv);

/* Rootless mode (userns.c): whether this process is outside the initial user namespace; then
 * overlay needs `userxattr` and opaque markers are user.overlay.opaque. */
int in_userns(void);
const char *opaque_xattr(void);
/* ",userxattr" inside a user namespace, else "": appended to every overlay mount's options. */
const char *overlay_userxattr(void);
/* Whether the user namespace denies setgroups (a single-id map written by the process itself). */
int setgroups_denied(void);
/* kiln-helper userns [--uid-map I:O:N]... [--gid-map I:O:N]... -- ARGV... */
int cmd_userns(int argc, char **argv);

#endif
