#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
  struct utsname u;
  if (uname(&u) != 0) return 1;
  printf("hello from a static C program, running on %s\n", u.sysname);
  return 0;
}
