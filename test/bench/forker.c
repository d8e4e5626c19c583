// Exit storm for the exit benchmark: N children that _exit() at once, made by W worker
// processes as fast as the machine allows (each worker: vfork, reap, repeat).
//
//   forker [-n N] [-w W] [-f] [-u]
//     -n N  children in all (default 100000)
//     -w W  workers (default 2 per online CPU, so a CPU never idles while a worker waits)
//     -f    fork() instead of vfork(): a page-table copy per child, ~6x slower here
//     -u    unpinned workers (default: worker i and its children on online CPU i % ncpu;
//           unpinned, the scheduler's migrations cost ~3x the rate here)
//   prints one JSON line:
//     {"forks":N,"exited":n,"failed":f,"workers":W,"taskExits":t,"elapsedMs":ms,"exitsPerSec":r}
//   taskExits = exited + W + 1: every exit event this storm makes, the workers' and its own
//   included (all of them happen before its parent sees it end).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tally {
  long exited;
  long failed;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void) {
  fprintf(stderr, "usage: forker [-n N] [-w WORKERS] [-f] [-u]\n");
  exit(2);
}

static void worker(long share, int use_vfork, struct tally *t) {
  for (long i = 0; i < share; i++) {
    pid_t pid = use_vfork ? vfork() : fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      if (errno == EAGAIN || errno == ENOMEM) {  // pid or memory pressure: let reaping catch up
        usleep(1000);
        i--;
        continue;
      }
      t->failed++;
      continue;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st)) t->exited++;
    else t->failed++;
  }
}

int main(int argc, char **argv) {
  long n = 100000;
  int workers = 0, pin = 1, use_vfork = 1, opt;
  while ((opt = getopt(argc, argv, "n:w:fu")) != -1) {
    switch (opt) {
      case 'n': n = strtol(optarg, NULL, 10); break;
      case 'w': workers = atoi(optarg); break;
      case 'f': use_vfork = 0; break;
      case 'u': pin = 0; break;
      default: usage();
    }
  }
  cpu_set_t online;
  CPU_ZERO(&online);
  if (sched_getaffinity(0, sizeof online, &online) < 0) CPU_SET(0, &online);
  int ncpu = CPU_COUNT(&online);
  int cpus[CPU_SETSIZE], k = 0;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &online)) cpus[k++] = c;
  if (workers <= 0) workers = 2 * ncpu;
  if (n < 1 || workers < 1) usage();
  if (workers > n) workers = (int)n;

  // One tally per worker, shared across fork so the main process can sum them.
  struct tally *tallies = mmap(NULL, sizeof *tallies * workers, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (tallies == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  memset(tallies, 0, sizeof *tallies * workers);

  prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed benchmark stops the storm (workers follow us)
  double t0 = now_ms();
  pid_t *pids = calloc(workers, sizeof *pids);
  int started = 0;
  for (int w = 0; w < workers; w++) {
    long share = n / workers + (w < n % workers ? 1 : 0);
    pid_t p = fork();
    if (p < 0) {
      perror("fork worker");
      break;
    }
    if (p == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed storm stops at once
      if (pin) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[w % ncpu], &one);
        sched_setaffinity(0, sizeof one, &one);
      }
      worker(share, use_vfork, &tallies[w]);
      _exit(0);
    }
    pids[started++] = p;
  }
  int bad = started < workers;
  for (int w = 0; w < started; w++) {
    int st;
    while (waitpid(pids[w], &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
  }
  double elapsed = now_ms() - t0;
  long exited = 0, failed = 0;
  for (int w = 0; w < workers; w++) {
    exited += tallies[w].exited;
    failed += tallies[w].failed;
  }
  printf("{\"forks\":%ld,\"exited\":%ld,\"failed\":%ld,\"workers\":%d,\"taskExits\":%ld,"
         "\"elapsedMs\":%.1f,\"exitsPerSec\":%.0f}\n",
         n, exited, failed, started, exited + started + 1, elapsed, exited / (elapsed / 1e3));
  return bad || failed ? 1 : 0;
}
