#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* What the step's seccomp filter answers (errno, 0 for allowed) when a new user namespace is asked
 * for through unshare as a 64-bit and as a 32-bit call (int 0x80, i386's number 310), through clone
 * with that flag, what clone3 answers, and calls root may make without the filter: the kernel
 * keyring's (keyctl, add_key) and io_uring_setup. Each in a child of its own: one that succeeds changes
 * what the next may do. */
static long unshare32(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(310L), "b"((long)CLONE_NEWUSER) : "memory", "r8", "r9", "r10", "r11");
  return r < 0 ? -r : 0;
}
static long probe(int which) {
  long r;
  char params[120] = {0}; /* struct io_uring_params, zeroed */
  switch (which) {
  case 0: r = syscall(SYS_unshare, CLONE_NEWUSER); return r < 0 ? errno : 0;
  case 1: return unshare32();
  case 2:
    r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    if (r > 0) waitpid((pid_t)r, NULL, 0);
    return r < 0 ? errno : 0;
  case 3: r = syscall(SYS_clone3, NULL, 0); return r < 0 ? errno : 0;
  case 4: r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0); return r < 0 ? errno : 0;
  case 5: r = syscall(SYS_add_key, "user", "kiln", "x", 1, -3); return r < 0 ? errno : 0;
  default: r = syscall(SYS_io_uring_setup, 1, params); return r < 0 ? errno : 0;
  }
}
int main(void) {
  const char *names[] = {"unshare64", "unshare32", "clone", "clone3", "keyctl", "add_key", "io_uring_setup"};
  for (int i = 0; i < 7; i++) {
    pid_t p = fork();
    if (p == 0) _exit((int)probe(i));
    int st = 0;
    waitpid(p, &st, 0);
    printf("%s=%d%s", names[i], WEXITSTATUS(st), i < 6 ? " " : "\n");
  }
  return 0;
}
