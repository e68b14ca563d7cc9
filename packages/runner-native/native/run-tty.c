/*
 * run --tty: the command gets a pseudo-terminal of the container's own devpts instance as its
 * controlling terminal; PID 1 relays between the helper's stdin/stdout (kiln's terminal, in raw
 * mode, or pipes) and the master, and copies the host terminal's size on SIGWINCH.
 *
 * The host fds may be non-blocking (Node opens its terminal that way and shares it): reads treat
 * EAGAIN as "nothing yet", writes wait for POLLOUT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static volatile sig_atomic_t got_winch;

static void on_winch(int sig) {
  (void)sig;
  got_winch = 1;
}

static void on_chld(int sig) { (void)sig; }

/* Silent when neither stdin nor stdout is a terminal (the pty keeps the kernel's 0x0). */
static void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0 && ioctl(1, TIOCGWINSZ, &ws) < 0) return;
  ioctl(master, TIOCSWINSZ, &ws);
}

void tty_open(struct tty *t) {
  t->master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (t->master < 0) die("open /dev/ptmx: %s", strerror(errno));
  int unlock = 0;
  if (ioctl(t->master, TIOCSPTLCK, &unlock) < 0) die("unlock pty: %s", strerror(errno));
  /* TIOCGPTPEER needs no path lookup; ptsname is the fallback for kernels before 4.13. */
  t->slave = ioctl(t->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (t->slave < 0) {
    char name[64];
    if (ptsname_r(t->master, name, sizeof name) != 0) die("ptsname: %s", strerror(errno));
    t->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (t->slave < 0) die("open %s: %s", name, strerror(errno));
  }
  copy_winsize(t->master);
}

void tty_attach(const struct tty *t, uid_t uid) {
  if (setsid() < 0 || ioctl(t->slave, TIOCSCTTY, 0) < 0) {
    dprintf(2, "kiln-helper: controlling terminal: %s\n", strerror(errno));
    _exit(EXIT_SETUP);
  }
  /* As Docker does: the user's own terminal, so `tty`/`mesg` and reopening /dev/tty work. */
  if (fchown(t->slave, uid, (gid_t)-1) < 0) dprintf(2, "kiln-helper: chown tty: %s\n", strerror(errno));
  for (int fd = 0; fd < 3; fd++) {
    if (dup2(t->slave, fd) < 0) _exit(EXIT_SETUP);
  }
  if (t->slave > 2) close(t->slave);
  close(t->master);
}

/* Writes all of buf to a possibly non-blocking fd; gives up silently when the reader is gone. */
static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n > 0) {
      buf += n;
      len -= (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
    } else {
      return;
    }
  }
}

/* What the command wrote before it exited; stops at EAGAIN (nothing left) or EIO (no slave). */
static void drain(int master) {
  char buf[8192];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0) write_all(1, buf, (size_t)n);
}

int tty_relay(int master, pid_t cmd) {
  /* Blocked except inside ppoll, so a child's exit or a resize always interrupts the wait. */
  sigset_t block, during_wait;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &during_wait);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_winch;
  sigaction(SIGWINCH, &sa, NULL);
  sa.sa_handler = on_chld;
  sigaction(SIGCHLD, &sa, NULL);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

  char out[8192], in[4096];
  size_t in_len = 0, in_off = 0;
  int in_open = 1, out_open = 1;
  for (;;) {
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
      if (r == cmd) {
        drain(master);
        return st;
      }
    }
    if (got_winch) {
      got_winch = 0;
      copy_winsize(master);
    }
    struct pollfd p[2];
    int n = 0, ii = -1, mi = -1;
    if (in_open && in_len == 0) {
      p[n] = (struct pollfd){0, POLLIN, 0};
      ii = n++;
    }
    if (out_open) {
      p[n] = (struct pollfd){master, (short)(POLLIN | (in_len ? POLLOUT : 0)), 0};
      mi = n++;
    } else {
      in_len = 0; /* nobody reads the terminal any more */
    }
    if (ppoll(p, (nfds_t)n, NULL, &during_wait) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (mi >= 0 && (p[mi].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = read(master, out, sizeof out);
      if (k > 0) write_all(1, out, (size_t)k);
      else if (k == 0 || (errno != EAGAIN && errno != EINTR)) out_open = 0; /* EIO: no slave open */
    }
    if (mi >= 0 && in_len > 0 && (p[mi].revents & POLLOUT)) {
      ssize_t k = write(master, in + in_off, in_len);
      if (k > 0) {
        in_off += (size_t)k;
        in_len -= (size_t)k;
      }
    }
    if (ii >= 0 && (p[ii].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t k = read(0, in, sizeof in);
      if (k > 0) {
        in_len = (size_t)k;
        in_off = 0;
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        /* Host stdin ended (-t without -i gives /dev/null): the terminal just gets no more input. */
        in_open = 0;
      }
    }
  }
}
