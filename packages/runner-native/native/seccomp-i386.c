/* The deny list with i386's system call numbers, for 32-bit programs on an x86_64 host (their
 * calls arrive as AUDIT_ARCH_I386 with these numbers). Its own file: i386's numbers and the
 * native ones share the __NR_ names. */
#if defined(__x86_64__)
#include <asm/unistd_32.h>
#include <stddef.h>

const int seccomp_i386_denied[] = {
#include "seccomp-denied.def"
};
const size_t seccomp_i386_denied_count = sizeof seccomp_i386_denied / sizeof *seccomp_i386_denied;
const int seccomp_i386_clone = __NR_clone;
const int seccomp_i386_clone3 = __NR_clone3;
#endif
