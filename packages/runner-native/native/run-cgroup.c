/*
 * Per-step resource limits (memory, pids, CPU) through cgroups, v1 or v2, controller by
 * controller: a controller mounted on a v1 hierarchy is used there (a controller lives on one
 * hierarchy only), otherwise it must be available in the v2 cgroup kiln runs in. Hybrid hosts
 * (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified) work that way too.
 *
 * The step's cgroup is "kiln-step-<helper pid>" below the cgroup the helper runs in (so the
 * limits of the cgroup kiln was started in still apply on top). The outer helper process creates
 * it and writes the limits before the container's init exists; init moves itself in before it
 * forks anything, so every process of the step is counted; the outer process, which stays
 * outside, removes it once init has been reaped. A limit that was asked for but cannot be set is
 * a setup error, never silently ignored.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define STEP_PREFIX "kiln-step-"
#define CPU_PERIOD_US 100000LL

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_COUNT };
static const char *const names[CG_COUNT] = {"memory", "pids", "cpu"};

/* Per controller: the step's cgroup directory (empty when not used) and whether it is v2. */
static struct {
  char dir[4096];
  int v2;
} made[CG_COUNT];
static pid_t owner;

void parse_limit(struct step_limits *l, const char *name, const char *value) {
  char *end;
  errno = 0;
  long long v = strtoll(value, &end, 10);
  if (!*value || *end || errno || v <= 0) die("bad --limit %s value \"%s\"", name, value);
  if (strcmp(name, "memory") == 0) l->memory = v;
  else if (strcmp(name, "pids") == 0) l->pids = v;
  else if (strcmp(name, "cpu") == 0) l->cpu_milli = v;
  else die("unknown --limit \"%s\" (memory, pids or cpu)", name);
}

/* Reads the first line of a file into buf; 0 on success. */
static int read_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  int ok = fgets(buf, (int)cap, f) != NULL;
  fclose(f);
  if (!ok) return -1;
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

static int write_value(const char *dir, const char *file, const char *value) {
  char path[4096];
  join(path, sizeof path, dir, file);
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  int ok = fputs(value, f) >= 0;
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

static int has_word(const char *list, const char *word, char sep) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *end = strchrnul(p, sep);
    if ((size_t)(end - p) == n && strncmp(p, word, n) == 0) return 1;
    p = *end ? end + 1 : end;
  }
  return 0;
}

/* The cgroup path of this process for controller `name` ("" = v2's "0::" line). */
static int own_cgroup(const char *name, char *out, size_t cap) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return -1;
  char line[4096];
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    int match = *name ? has_word(c1 + 1, name, ',') : c1[1] == '\0';
    if (match && (size_t)snprintf(out, cap, "%s", c2 + 1) < cap) found = 0;
  }
  fclose(f);
  return found;
}

/* Where the hierarchy of `name` (v1, fstype cgroup) or the v2 hierarchy (name "") is mounted,
 * and the cgroup path that mount's root stands for. */
static int hierarchy(const char *name, char *mnt, size_t mcap, char *root, size_t rcap) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -1;
  static char line[8192];
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    char r[4096], m[4096], type[64], super[1024];
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2) continue;
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s %*s %1023s", type, super) != 2) continue;
    int match = *name ? strcmp(type, "cgroup") == 0 && has_word(super, name, ',') : strcmp(type, "cgroup2") == 0;
    if (match && (size_t)snprintf(mnt, mcap, "%s", m) < mcap && (size_t)snprintf(root, rcap, "%s", r) < rcap) found = 0;
  }
  fclose(f);
  return found;
}

/* The directory of this process's cgroup for controller `i`, and whether it is v2; or a reason. */
static const char *locate(int i, char *dir, size_t cap, int *v2) {
  char mnt[4096], root[4096], path[4096], ctrl[1024];
  *v2 = 0;
  if (hierarchy(names[i], mnt, sizeof mnt, root, sizeof root) < 0) {
    *v2 = 1;
    if (hierarchy("", mnt, sizeof mnt, root, sizeof root) < 0) return "no cgroup v1 hierarchy and no cgroup2 mounted";
  }
  if (own_cgroup(*v2 ? "" : names[i], path, sizeof path) < 0) return "not listed in /proc/self/cgroup";
  /* Inside a cgroup namespace or a bind-mounted subtree the mount's root is a prefix of ours. */
  size_t rl = strlen(root);
  const char *rel = strcmp(root, "/") != 0 && strncmp(path, root, rl) == 0 ? path + rl : path;
  if (strcmp(rel, "/") == 0) rel = "";
  if ((size_t)snprintf(dir, cap, "%s%s", mnt, rel) >= cap) return "cgroup path too long";
  if (*v2) {
    char file[4200];
    join(file, sizeof file, dir, "cgroup.controllers");
    if (read_line(file, ctrl, sizeof ctrl) < 0 || !has_word(ctrl, names[i], ' '))
      return "controller not enabled for kiln's cgroup (cgroup v2)";
  }
  if (access(dir, W_OK) < 0) return "kiln's cgroup is not writable";
  return NULL;
}

/* Removes step cgroups left by helpers that no longer exist (a kiln killed with SIGKILL). */
static void remove_stale(const char *parent) {
  DIR *d = opendir(parent);
  if (!d) return;
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, STEP_PREFIX, strlen(STEP_PREFIX)) != 0) continue;
    long pid = strtol(e->d_name + strlen(STEP_PREFIX), NULL, 10);
    if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    join(path, sizeof path, parent, e->d_name);
    rmdir(path);
  }
  closedir(d);
}

static void set_limit(int i, const char *file, const char *value) {
  if (write_value(made[i].dir, file, value) < 0) {
    int e = errno;
    cgroup_remove();
    die("%s limit: write %s/%s: %s", names[i], made[i].dir, file, strerror(e));
  }
}

void cgroup_create(const struct step_limits *l) {
  const long long wanted[CG_COUNT] = {l->memory, l->pids, l->cpu_milli};
  owner = getpid();
  char name[64], parent[4096], value[64];
  snprintf(name, sizeof name, STEP_PREFIX "%d", (int)owner);
  for (int i = 0; i < CG_COUNT; i++) {
    if (!wanted[i]) continue;
    int v2;
    const char *why = locate(i, parent, sizeof parent, &v2);
    if (why) {
      cgroup_remove();
      die("a %s limit needs the %s cgroup controller: %s", names[i], names[i], why);
    }
    remove_stale(parent);
    join(made[i].dir, sizeof made[i].dir, parent, name);
    made[i].v2 = v2;
    if (mkdir(made[i].dir, 0755) < 0 && errno != EEXIST) {
      int e = errno;
      made[i].dir[0] = '\0';
      cgroup_remove();
      die("%s limit: mkdir %s/%s: %s", names[i], parent, name, strerror(e));
    }
    if (v2) {
      char sub[64];
      snprintf(sub, sizeof sub, "+%s", names[i]);
      /* Fails when kiln's own cgroup holds processes (v2's "no internal processes" rule). */
      if (write_value(parent, "cgroup.subtree_control", sub) < 0) {
        int e = errno;
        cgroup_remove();
        die("%s limit: cannot enable %s in %s: %s (run kiln in a delegated cgroup of its own)", names[i],
            names[i], parent, strerror(e));
      }
    }
  }
  /* Values after every directory exists (v1 and v2 may both be in use on a hybrid host). */
  if (l->memory) {
    snprintf(value, sizeof value, "%lld", l->memory);
    set_limit(CG_MEMORY, made[CG_MEMORY].v2 ? "memory.max" : "memory.limit_in_bytes", value);
    /* No swap: a step over its limit is killed rather than slowed down by swapping. */
    const char *swap = made[CG_MEMORY].v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
    char path[4200];
    join(path, sizeof path, made[CG_MEMORY].dir, swap);
    if (access(path, F_OK) == 0) set_limit(CG_MEMORY, swap, made[CG_MEMORY].v2 ? "0" : value);
  }
  if (l->pids) {
    /* +1: the container's init (kiln's PID 1 in the namespace) is a process of the step too. */
    snprintf(value, sizeof value, "%lld", l->pids + 1);
    set_limit(CG_PIDS, "pids.max", value);
  }
  if (l->cpu_milli) {
    long long quota = l->cpu_milli * CPU_PERIOD_US / 1000;
    if (quota < 1000) quota = 1000; /* the kernel's minimum quota is 1 ms */
    if (made[CG_CPU].v2) {
      snprintf(value, sizeof value, "%lld %lld", quota, CPU_PERIOD_US);
      set_limit(CG_CPU, "cpu.max", value);
    } else {
      snprintf(value, sizeof value, "%lld", CPU_PERIOD_US);
      set_limit(CG_CPU, "cpu.cfs_period_us", value);
      snprintf(value, sizeof value, "%lld", quota);
      set_limit(CG_CPU, "cpu.cfs_quota_us", value);
    }
  }
}

void cgroup_enter(void) {
  for (int i = 0; i < CG_COUNT; i++) {
    if (!made[i].dir[0]) continue;
    /* "0" moves the writer itself; its children are born inside. */
    if (write_value(made[i].dir, "cgroup.procs", "0") < 0) die("join %s: %s", made[i].dir, strerror(errno));
  }
}

int cgroup_oom_killed(void) {
  if (!made[CG_MEMORY].dir[0]) return 0;
  char path[4200], line[256];
  join(path, sizeof path, made[CG_MEMORY].dir, made[CG_MEMORY].v2 ? "memory.events" : "memory.oom_control");
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  long long kills = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "oom_kill %lld", &kills) == 1) break;
  fclose(f);
  return kills > 0;
}

void cgroup_remove(void) {
  if (owner != getpid()) return; /* only the process that created them */
  for (int i = 0; i < CG_COUNT; i++) {
    if (!made[i].dir[0]) continue;
    /* The namespace's processes are gone once init is reaped, but the kernel may take a moment
     * to release their cgroup membership. */
    for (int tries = 0; rmdir(made[i].dir) < 0 && errno == EBUSY && tries < 100; tries++) {
      struct timespec ts = {0, 5 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    made[i].dir[0] = '\0';
  }
}

int cmd_probe_cgroups(void) {
  char dir[4096];
  for (int i = 0; i < CG_COUNT; i++) {
    int v2;
    const char *why = locate(i, dir, sizeof dir, &v2);
    if (why) printf("%s unavailable: %s\n", names[i], why);
    else printf("%s %s %s\n", names[i], v2 ? "v2" : "v1", dir);
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
