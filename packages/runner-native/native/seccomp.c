/* A seccomp filter for the step: the system calls Docker's default profile keeps from a
 * container with Docker's default capabilities answer EPERM (seccomp-denied.def), as do clone
 * and clone3 asked for new namespaces (clone3 answers ENOSYS, as Docker's, so that libc falls
 * back to clone, whose flags a filter can read). Docker's profile is an allow list of ~350 calls;
 * this deny list of what it leaves out is smaller to check and gives the same answers for the
 * calls that matter, without the per-capability additions a build never gets.
 *
 * Installed while the helper still holds CAP_SYS_ADMIN (in its user namespace when rootless), so
 * no_new_privs is not needed: setuid programs (sudo) work in steps, as in docker build. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "helper.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
extern const int seccomp_i386_denied[];
extern const size_t seccomp_i386_denied_count;
extern const int seccomp_i386_clone, seccomp_i386_clone3;
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "kiln-helper: no seccomp filter for this architecture"
#endif

static const int native_denied[] = {
#include "seccomp-denied.def"
};

#define NEW_NAMESPACES                                                                                  \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |            \
   CLONE_NEWCGROUP)
#define DENY(err) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define MAX_FILTER 512

struct filter {
  struct sock_filter at[MAX_FILTER];
  unsigned short n;
};

static void emit(struct filter *f, struct sock_filter ins) {
  if (f->n >= MAX_FILTER) die("seccomp: filter too long");
  f->at[f->n++] = ins;
}

/* Instructions emit_tree takes for `count` sorted numbers (see there). */
static unsigned tree_size(size_t count) {
  if (count <= 3) return 2 * (unsigned)count + 1;
  size_t left = count / 2;
  return 1 + tree_size(left) + tree_size(count - left);
}

/* A binary search over the sorted numbers in the accumulator: EPERM for those, ALLOW for any
 * other. ~6 comparisons per call instead of one per denied number: every system call a step
 * makes passes here. */
static void emit_tree(struct filter *f, const unsigned *nrs, size_t count) {
  if (count <= 3) {
    for (size_t i = 0; i < count; i++) {
      emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], 0, 1));
      emit(f, (struct sock_filter)DENY(EPERM));
    }
    emit(f, (struct sock_filter)ALLOW);
    return;
  }
  size_t left = count / 2;
  unsigned skip = tree_size(left);
  if (skip > 255) die("seccomp: a branch of the filter is too long for a jump");
  /* nr >= the right half's first → jump over the left half. */
  emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, nrs[left], (unsigned char)skip, 0));
  emit_tree(f, nrs, left);
  emit_tree(f, nrs + left, count - left);
}

static int by_number(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

/* The checks of one architecture's numbers, starting with the number's load, ending in ALLOW. */
static void emit_arch(struct filter *f, const int *denied, size_t count, int clone_nr, int clone3_nr,
                      int x32_guard) {
  unsigned nrs[128];
  if (count > sizeof nrs / sizeof *nrs) die("seccomp: too many denied calls");
  for (size_t i = 0; i < count; i++) nrs[i] = (unsigned)denied[i];
  qsort(nrs, count, sizeof *nrs, by_number);
  emit(f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  /* x32 calls come with the x86_64 architecture and this bit set: refuse them all. */
  if (x32_guard) {
    emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
    emit(f, (struct sock_filter)DENY(EPERM));
  }
  /* clone's flags are its first argument on x86_64, i386 and aarch64; their low word on little endian. */
  emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)clone_nr, 0, 4));
  emit(f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
  emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NEW_NAMESPACES, 0, 1));
  emit(f, (struct sock_filter)DENY(EPERM));
  emit(f, (struct sock_filter)ALLOW);
  emit(f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)clone3_nr, 0, 1));
  emit(f, (struct sock_filter)DENY(ENOSYS));
  emit_tree(f, nrs, count);
}

static void append(struct filter *to, const struct filter *from) {
  for (unsigned short i = 0; i < from->n; i++) emit(to, from->at[i]);
}

void install_seccomp(void) {
  static struct filter prog, native;
  prog.n = native.n = 0;
  size_t native_count = sizeof native_denied / sizeof *native_denied;
#if defined(__x86_64__)
  static struct filter i386;
  i386.n = 0;
  emit_arch(&native, native_denied, native_count, __NR_clone, __NR_clone3, 1);
  emit_arch(&i386, seccomp_i386_denied, seccomp_i386_denied_count, seccomp_i386_clone, seccomp_i386_clone3, 0);
  /* arch == x86_64 → native; arch == i386 → i386; any other → EPERM. */
  emit(&prog, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  emit(&prog, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 2, 0));
  if (1 + native.n > 255) die("seccomp: the native checks are too long for a jump over them");
  emit(&prog, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, (unsigned char)(1 + native.n), 0));
  emit(&prog, (struct sock_filter)DENY(EPERM));
  append(&prog, &native);
  append(&prog, &i386);
#else
  emit_arch(&native, native_denied, native_count, __NR_clone, __NR_clone3, 0);
  emit(&prog, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  emit(&prog, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
  emit(&prog, (struct sock_filter)DENY(EPERM));
  append(&prog, &native);
#endif
  struct sock_fprog fprog = {.len = prog.n, .filter = prog.at};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0) die("seccomp: %s", strerror(errno));
}
