// A process of N idle threads for the query benchmark: each blocks in pause() on a small
// stack. Prints "ready <pid> <threads>" once all are up; exits on stdin EOF, on SIGTERM, or
// when its parent dies (PR_SET_PDEATHSIG), so a crashed benchmark leaves nothing behind.
//
//   threads [N]      (default 10000)
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
  if (n < 1) {
    fprintf(stderr, "usage: threads [N]\n");
    return 2;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) perror("prctl");
  if (getppid() == 1) return 1;  // the parent already died before prctl took effect

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);  // 10,000 threads x 64 KiB = 640 MiB virtual, little resident
  for (long i = 0; i < n; i++) {
    pthread_t t;
    int e = pthread_create(&t, &attr, idle, NULL);
    if (e) {
      fprintf(stderr, "threads: pthread_create #%ld: %s (see /proc/sys/kernel/threads-max, pid_max)\n", i, strerror(e));
      return 1;
    }
  }
  printf("ready %d %ld\n", (int)getpid(), n + 1);
  fflush(stdout);

  // SIGTERM keeps its default action (terminate); stdin EOF ends us too.
  char buf[256];
  for (;;) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r > 0 || (r < 0 && errno == EINTR)) continue;
    return 0;
  }
}
