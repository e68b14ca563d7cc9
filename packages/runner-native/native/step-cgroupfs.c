/* The step's /sys/fs/cgroup: the host's cgroup file systems, mounted again inside the step's own
 * cgroup namespace and read-only, as runc gives a container. Why: programs size themselves from
 * it (a JVM reads its memory limit there, so a `--memory` step would otherwise see the host's
 * memory); BuildKit's steps have it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* One line of /proc/self/mountinfo: its mount point, file system type and super options. */
static int parse_mountinfo(char *line, char **point, char **type, char **opts) {
  char *save = NULL, *field = strtok_r(line, " ", &save);
  for (int i = 1; field && i < 5; i++) field = strtok_r(NULL, " ", &save);
  if (!field) return 0;
  *point = field;
  while ((field = strtok_r(NULL, " ", &save)) && strcmp(field, "-") != 0) {
  }
  *type = strtok_r(NULL, " ", &save);
  if (!*type || !strtok_r(NULL, " ", &save)) return 0; /* the source */
  *opts = strtok_r(NULL, " \n", &save);
  return *opts != NULL;
}

/* The super options a cgroup v1 hierarchy is mounted with again (its controllers or name=),
 * without rw/ro, which are flags. */
static void hierarchy_options(const char *opts, char *out, size_t cap) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", opts);
  out[0] = '\0';
  char *save = NULL;
  for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0) continue;
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s", n ? "," : "", o);
  }
}

/* Best effort: a hierarchy that cannot be mounted (say, one a user namespace may not mount) is
 * left out, and the step runs without it. */
void mount_step_cgroupfs(const char *rootfs) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  char dir[4096], path[4096], line[4096];
  join(dir, sizeof dir, rootfs, CGROUP_ROOT + 1);
  int layout = 0; /* 1: cgroup2 at the root; 2: a tmpfs of hierarchies */
  while (fgets(line, sizeof line, f)) {
    char *point, *type, *opts;
    if (!parse_mountinfo(line, &point, &type, &opts)) continue;
    if (strcmp(point, CGROUP_ROOT) == 0) {
      if (strcmp(type, "cgroup2") == 0 && mount("cgroup2", dir, "cgroup2", RO_FLAGS, NULL) == 0) layout = 1;
      else if (strcmp(type, "tmpfs") == 0 && mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") == 0)
        layout = 2;
      continue;
    }
    const char *name = strncmp(point, CGROUP_ROOT "/", sizeof CGROUP_ROOT) == 0 ? point + sizeof CGROUP_ROOT : NULL;
    if (layout != 2 || !name || !*name || strchr(name, '/')) continue;
    if (strcmp(type, "cgroup") != 0 && strcmp(type, "cgroup2") != 0) continue;
    char data[1024];
    hierarchy_options(opts, data, sizeof data);
    join(path, sizeof path, dir, name);
    if (mkdir(path, 0555) < 0 && errno != EEXIST) continue;
    if (mount(type, path, type, RO_FLAGS, strcmp(type, "cgroup") == 0 ? data : NULL) < 0) rmdir(path);
  }
  fclose(f);
  if (layout != 2) return;
  /* The host's links between co-mounted controllers (cpu -> cpu,cpuacct), then read-only. */
  DIR *d = opendir(CGROUP_ROOT);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_type != DT_LNK) continue;
    char target[4096], host[4096];
    join(host, sizeof host, CGROUP_ROOT, e->d_name);
    ssize_t n = readlink(host, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    join(path, sizeof path, dir, e->d_name);
    symlink(target, path); /* best effort, as the mounts */
  }
  if (d) closedir(d);
  mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | RO_FLAGS, NULL);
}
