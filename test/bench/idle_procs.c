// A crowd of idle processes for the dashboard benchmark: N children that sleep in pause()
// until they are killed, so the dashboard has a realistic process count to scan.
//
//   idle_procs [-n N]      (default 1000)
//   prints {"ready":N,"pid":P} once every child exists, then waits for stdin to close
//   (or SIGTERM/SIGINT/SIGHUP), kills and reaps every child, prints {"stopped":N}, exits 0.
//
// No child outlives this process on any path: the normal paths kill and reap them; if this
// process itself is killed (SIGKILL included), PR_SET_PDEATHSIG kills each child.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig) { stop_sig = sig; }

static void usage(void) {
  fprintf(stderr, "usage: idle_procs [-n N]\n");
  exit(2);
}

static void kill_all(pid_t *pids, long n) {
  for (long i = 0; i < n; i++) kill(pids[i], SIGKILL);
  for (long i = 0; i < n; i++)
    while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
  long n = 1000;
  int opt;
  while ((opt = getopt(argc, argv, "n:")) != -1) {
    if (opt == 'n') n = strtol(optarg, NULL, 10);
    else usage();
  }
  if (n < 1 || n > 100000) usage();
  pid_t *pids = calloc(n, sizeof *pids);
  if (!pids) return 2;

  // Until the handlers below are installed a signal kills us with its default action, and
  // the children follow through PDEATHSIG. Block them meanwhile so that a child never runs
  // with our handlers (it unblocks into the default actions).
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &old);

  pid_t self = getpid();
  long made = 0;
  for (; made < n; made++) {
    pid_t p = fork();
    if (p < 0) {
      perror("idle_procs: fork");
      kill_all(pids, made);
      return 1;
    }
    if (p == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(0);  // the parent died before prctl took effect
      sigprocmask(SIG_SETMASK, &old, NULL);
      int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);  // the benchmark waits for EOF on our stdout only from us
        if (devnull > 2) close(devnull);
      }
      for (;;) pause();
    }
    pids[made] = p;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;  // no SA_RESTART: read() below returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, &old, NULL);

  printf("{\"ready\":%ld,\"pid\":%d}\n", n, (int)self);
  fflush(stdout);

  char buf[256];
  while (!stop_sig) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r == 0) break;                      // stdin closed: the benchmark is done or dead
    if (r < 0 && errno != EINTR) break;
  }
  kill_all(pids, n);
  printf("{\"stopped\":%ld}\n", n);
  return 0;
}
