/*
 * Rootless mode: the user namespace kiln runs in when a user other than root starts it.
 *
 *   kiln-helper userns [--uid-map IN:OUT:COUNT]... [--gid-map IN:OUT:COUNT]... -- ARGV...
 *       Runs ARGV as root of a new user namespace. With maps (both kinds, or neither), the outer
 *       process writes them with newuidmap/newgidmap, which check them against /etc/subuid and
 *       /etc/subgid. Without maps, the namespace maps only the caller (0 = the caller's uid and
 *       gid) and setgroups is denied: an unprivileged process may write that map itself.
 *       The outer process forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to it by another
 *       process (the kernel already sends a terminal's signals to the whole process group, ARGV
 *       included, so those are not sent twice), and exits with ARGV's status (128+N for signal
 *       N). ARGV gets SIGTERM when the outer process dies, so it can clean up.
 *       When fd 3 is open it is a status channel: "error: <message>\n" when the namespace could
 *       not be set up (exit 125), else it is closed without a word once ARGV has been exec'd.
 *
 * Inside such a namespace the other commands adapt (see in_userns): overlay mounts take the
 * `userxattr` option, opaque directories are marked with user.overlay.opaque instead of
 * trusted.overlay.opaque (which needs CAP_SYS_ADMIN in the initial namespace), and setgroups is
 * skipped where the namespace denies it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define MAX_RANGES 64

/* Whether this process is outside the initial user namespace, whose map is the identity over
 * all 2^32-1 ids. Read once: a process never changes its user namespace after exec. */
int in_userns(void) {
  static int known = -1;
  if (known >= 0) return known;
  unsigned long inside, outside, count;
  FILE *f = fopen("/proc/self/uid_map", "re");
  known = 0;
  if (f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
    known = !(inside == 0 && outside == 0 && count == 4294967295UL);
  if (f) fclose(f);
  return known;
}

const char *opaque_xattr(void) { return in_userns() ? "user.overlay.opaque" : "trusted.overlay.opaque"; }

const char *overlay_userxattr(void) { return in_userns() ? ",userxattr" : ""; }

int setgroups_denied(void) {
  char buf[16] = "";
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && strncmp(buf, "deny", 4) == 0;
}

/* ---------- the userns command ---------- */

struct ranges {
  unsigned long v[MAX_RANGES][3];
  int n;
};

static void parse_range(struct ranges *r, const char *spec) {
  unsigned long in, out, count;
  int used = 0;
  if (sscanf(spec, "%lu:%lu:%lu%n", &in, &out, &count, &used) != 3 || spec[used] != '\0' || count == 0)
    die("bad id map \"%s\" (want INSIDE:OUTSIDE:COUNT)", spec);
  if (r->n >= MAX_RANGES) die("too many id maps");
  r->v[r->n][0] = in;
  r->v[r->n][1] = out;
  r->v[r->n][2] = count;
  r->n++;
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  ssize_t len = (ssize_t)strlen(text);
  if (write(fd, text, len) != len) die("write %s: %s", path, strerror(errno));
  close(fd);
}

/* Runs newuidmap or newgidmap for `pid`; a setup error when it fails (it says why on stderr). */
static void run_map_tool(const char *tool, pid_t pid, const struct ranges *r) {
  char args[MAX_RANGES * 3 + 3][24];
  char *argv[MAX_RANGES * 3 + 4];
  int n = 0;
  argv[n++] = (char *)tool;
  snprintf(args[n], sizeof args[n], "%d", (int)pid);
  argv[n] = args[n];
  n++;
  for (int i = 0; i < r->n; i++) {
    for (int j = 0; j < 3; j++) {
      snprintf(args[n], sizeof args[n], "%lu", r->v[i][j]);
      argv[n] = args[n];
      n++;
    }
  }
  argv[n] = NULL;
  pid_t p = fork();
  if (p < 0) die("fork: %s", strerror(errno));
  if (p == 0) {
    execvp(tool, argv);
    dprintf(2, "kiln-helper: %s: %s\n", tool, strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR) die("wait %s: %s", tool, strerror(errno));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) die("%s not found (install the uidmap package)", tool);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("%s refused the id map (check /etc/subuid and /etc/subgid)", tool);
}

static volatile sig_atomic_t child_pid = 0;

/* Signals from another process are forwarded; the kernel's (a terminal's) reached ARGV already. */
static void forward(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  if (child_pid > 0 && info->si_code != SI_KERNEL) kill(child_pid, sig);
}

/* The child: a new user namespace, its maps (by the parent, or by itself when single), exec. */
static void userns_child(int ready_w, int go_r, int single, char **argv) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  pid_t parent = getppid();
  if (unshare(CLONE_NEWUSER) < 0)
    die("cannot create a user namespace: %s (are unprivileged user namespaces enabled? see "
        "user.max_user_namespaces)",
        strerror(errno));
  if (single) {
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
  } else {
    char c = 'u', go;
    if (write(ready_w, &c, 1) != 1) die("sync: %s", strerror(errno));
    if (read(go_r, &go, 1) != 1) _exit(EXIT_SETUP); /* the parent failed and said why */
  }
  close(ready_w);
  close(go_r);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root of the user namespace: %s", strerror(errno));
  /* Set after the id change, which clears it; the getppid() check closes the race. */
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  if (getppid() != parent) _exit(EXIT_SETUP);
  execvp(argv[0], argv);
  die("exec %s: %s", argv[0], strerror(errno));
}

int cmd_userns(int argc, char **argv) {
  struct ranges uids = {0}, gids = {0};
  int i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
    if (i + 1 >= argc) die("usage: userns [--uid-map IN:OUT:COUNT]... [--gid-map IN:OUT:COUNT]... -- ARGV...");
    if (strcmp(argv[i], "--uid-map") == 0) parse_range(&uids, argv[i + 1]);
    else if (strcmp(argv[i], "--gid-map") == 0) parse_range(&gids, argv[i + 1]);
    else die("unknown option %s", argv[i]);
  }
  if (i + 1 >= argc) die("missing -- ARGV");
  if ((uids.n == 0) != (gids.n == 0)) die("give both --uid-map and --gid-map, or neither");
  int single = uids.n == 0;
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = forward;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
  sigset_t block, old;
  sigemptyset(&block);
  for (size_t s = 0; s < sizeof sigs / sizeof *sigs; s++) {
    sigaction(sigs[s], &sa, NULL);
    sigaddset(&block, sigs[s]);
  }
  /* Blocked until child_pid is known, so a signal that arrives meanwhile is forwarded, not lost. */
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t child = fork();
  if (child < 0) die("fork: %s", strerror(errno));
  if (child == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (size_t s = 0; s < sizeof sigs / sizeof *sigs; s++) sigaction(sigs[s], &dfl, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(ready[0]);
    close(go[1]);
    userns_child(ready[1], go[0], single, argv + i + 1);
  }
  child_pid = child;
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(ready[1]);
  close(go[0]);
  if (!single) {
    char c;
    ssize_t n;
    while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
    }
    if (n == 1) {
      run_map_tool("newuidmap", child, &uids);
      run_map_tool("newgidmap", child, &gids);
      if (write(go[1], &c, 1) != 1) die("sync: %s", strerror(errno));
    }
  }
  close(ready[0]);
  close(go[1]);
  /* The child holds the status channel until exec (close-on-exec) or until it reports an error. */
  if (status_fd >= 0) close(status_fd);
  status_fd = -1;
  for (;;) {
    int st;
    pid_t r = waitpid(child, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("wait: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}
