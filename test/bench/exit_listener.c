// Baseline for the exit benchmark: the least a per-CPU taskstats exit listener can do.
// One NETLINK_GENERIC socket per online CPU with SO_RCVBUFFORCE, each registered for its own
// CPU from its own socket (NLM_F_ACK), one reader thread per socket doing recv() and counting
// exit messages and nlmsg_seq gaps. No decoding, no queue, no hand-off.
//
//   exit_listener [-r RCVBUF_BYTES] [-p FILE]   (default 16 MiB, delaytop's DEFAULT_RCVBUF_BYTES)
//   -p FILE: also print a line per exit to FILE (cpu, pid, tgid, comm, exit code): the least a
//   listener that prints can do, the baseline for `delaytop -l` (stdio-buffered, as a C tool would).
//   stdout, one JSON line each:
//     {"ready":true,"cpus":[..],"portIds":[..],"rcvbufBytes":n}   once every CPU is registered
//     {"cpuMs":ms,"received":n,"lost":n}     for every line read on stdin (a mark)
//     {"received":..,"lost":..,"seqGapLost":..,"kernelDrops":..,"enobufs":..,"truncated":..,
//      "cpuMs":..,"perCpu":[..]}              at the end
//   Ends on stdin EOF, SIGTERM or SIGINT: each socket is deregistered from itself (the reader
//   reads up to the ACK, so nothing delivered before it is missed), then closed.
//   cpuMs is getrusage(RUSAGE_SELF): every thread, user + system.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

// From include/uapi/linux/taskstats.h (the distro header may lag the kernel).
#define TASKSTATS_CMD_GET 1
#define TASKSTATS_CMD_NEW 2
#define TASKSTATS_CMD_ATTR_REGISTER_CPUMASK 3
#define TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK 4
#define TASKSTATS_GENL_VERSION 1
#define CTRL_ATTR_FAMILY_ID 1
#define CTRL_ATTR_FAMILY_NAME 2

#define SEQ_REGISTER 1
#define SEQ_DEREGISTER 2

struct reader {
  int cpu;
  int fd;
  uint32_t portid;
  pthread_t thread;
  int registerError;  // -1 until answered; then 0 or errno
  atomic_int stopping;
  int deregisterError;
  uint32_t lastSeq;
  int haveSeq;
  atomic_ulong received, seqGapLost, enobufs, truncated, other;
  long kernelDrops;
};

static uint16_t family;
static struct reader *readers;
static int nreaders;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int send_req(int fd, uint16_t type, uint8_t cmd, uint8_t version, uint16_t flags, uint32_t seq,
                    uint16_t atype, const void *a, uint16_t alen) {
  struct {
    struct nlmsghdr n;
    struct genlmsghdr g;
    char buf[256];
  } r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  r.n.nlmsg_type = type;
  r.n.nlmsg_flags = NLM_F_REQUEST | flags;
  r.n.nlmsg_seq = seq;
  r.g.cmd = cmd;
  r.g.version = version;
  struct nlattr *na = (struct nlattr *)((char *)&r + r.n.nlmsg_len);
  na->nla_type = atype;
  na->nla_len = NLA_HDRLEN + alen;
  memcpy((char *)na + NLA_HDRLEN, a, alen);
  r.n.nlmsg_len += NLA_ALIGN(na->nla_len);
  ssize_t n;
  do n = send(fd, &r, r.n.nlmsg_len, 0);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

static int open_socket(int rcvbuf, uint32_t *portid) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) die("socket");
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) die("SO_RCVBUFFORCE");
  // A bounded wait, so a reader notices a stop even if the deregister ACK was dropped.
  struct timeval tv = {0, 200 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  socklen_t sl = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) die("getsockname");
  *portid = sa.nl_pid;
  return fd;
}

static uint16_t resolve_family(void) {
  uint32_t pid;
  int fd = open_socket(0, &pid);
  const char name[] = "TASKSTATS";
  if (send_req(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0, 1, CTRL_ATTR_FAMILY_NAME, name, sizeof name) < 0)
    die("send GETFAMILY");
  static char buf[8192];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) die("recv GETFAMILY");
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type == NLMSG_ERROR) {
    fprintf(stderr, "exit_listener: no TASKSTATS family\n");
    exit(2);
  }
  char *p = (char *)NLMSG_DATA(h) + GENL_HDRLEN;
  char *end = (char *)h + h->nlmsg_len;
  while (p + NLA_HDRLEN <= end) {
    struct nlattr *a = (struct nlattr *)p;
    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
    if (a->nla_type == CTRL_ATTR_FAMILY_ID) {
      uint16_t id;
      memcpy(&id, p + NLA_HDRLEN, 2);
      close(fd);
      return id;
    }
    p += NLA_ALIGN(a->nla_len);
  }
  fprintf(stderr, "exit_listener: GETFAMILY reply without an id\n");
  exit(2);
}

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static long socket_drops(int fd) {
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t l = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &l) < 0) return -1;
  return l > SK_MEMINFO_DROPS * sizeof(uint32_t) ? (long)mem[SK_MEMINFO_DROPS] : -1;
}

// Count one datagram. Returns the errno of an ACK matching `want` (0 = success), or -1.
static FILE *lines;  // -p FILE
#define TASKSTATS_TYPE_PID 1
#define TASKSTATS_TYPE_STATS 3
#define TASKSTATS_TYPE_AGGR_PID 4
// struct taskstats offsets of every version but 15 (taskstats_layout.json); this machine's is 16
#define TS_EXITCODE 4
#define TS_COMM 80
#define TS_TGID 368

// One exit message as a line: its PID (or TGID) nest's id and the STATS it carries.
static void print_exit(const struct reader *r, struct nlmsghdr *h) {
  uint32_t pid = 0, tgid, code;
  const char *ts = NULL;
  struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
  int rem = (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
  for (; rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
       rem -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) != TASKSTATS_TYPE_AGGR_PID) continue;
    struct nlattr *b = (struct nlattr *)((char *)a + NLA_HDRLEN);
    for (int brem = a->nla_len - NLA_HDRLEN; brem >= (int)NLA_HDRLEN && b->nla_len >= NLA_HDRLEN && b->nla_len <= brem;
         brem -= NLA_ALIGN(b->nla_len), b = (struct nlattr *)((char *)b + NLA_ALIGN(b->nla_len))) {
      if (b->nla_type == TASKSTATS_TYPE_PID) pid = *(uint32_t *)((char *)b + NLA_HDRLEN);
      if (b->nla_type == TASKSTATS_TYPE_STATS && b->nla_len - NLA_HDRLEN >= TS_TGID + 4)
        ts = (const char *)b + NLA_HDRLEN;
    }
  }
  if (!ts) return;
  memcpy(&tgid, ts + TS_TGID, 4);
  memcpy(&code, ts + TS_EXITCODE, 4);
  fprintf(lines, "cpu %d pid %u tgid %u comm %.16s exit %u\n", r->cpu, pid, tgid, ts + TS_COMM, code);
}

static int handle(struct reader *r, const char *buf, size_t len, uint32_t want) {
  int answer = -1;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
    if (h->nlmsg_type == NLMSG_ERROR) {
      if (h->nlmsg_seq == want && h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
        answer = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
    } else if (h->nlmsg_type == family && h->nlmsg_pid == 0 &&
               ((struct genlmsghdr *)NLMSG_DATA(h))->cmd == TASKSTATS_CMD_NEW) {
      if (r->haveSeq) {
        uint32_t gap = h->nlmsg_seq - r->lastSeq - 1;
        if (gap < 0x80000000u) r->seqGapLost += gap;
      }
      r->lastSeq = h->nlmsg_seq;
      r->haveSeq = 1;
      r->received++;
      if (lines) print_exit(r, h);
    } else {
      r->other++;
    }
  }
  return answer;
}

static void *reader_main(void *arg) {
  struct reader *r = arg;
  static __thread char buf[16384];  // a v17 exit datagram with both records is ~1.4 KiB
  char mask[16];
  int masklen = snprintf(mask, sizeof mask, "%d", r->cpu) + 1;
  int e = send_req(r->fd, family, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION, NLM_F_ACK, SEQ_REGISTER,
                   TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, mask, masklen);
  uint32_t want = SEQ_REGISTER;
  int phase = 0;  // 0 registering, 1 listening, 2 deregistering
  int timeouts = 0;
  if (e) goto answered_err;
  for (;;) {
    if (phase == 1 && r->stopping) {
      e = send_req(r->fd, family, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION, NLM_F_ACK, SEQ_DEREGISTER,
                   TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, mask, masklen);
      if (e) {
        r->deregisterError = -e;
        break;
      }
      want = SEQ_DEREGISTER;
      phase = 2;
      timeouts = 0;
    }
    ssize_t n = recv(r->fd, buf, sizeof buf, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        r->enobufs++;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // The ACK itself can be dropped by a full queue: give up after ~2 s.
        if (phase != 1 && ++timeouts >= 10) {
          e = ETIMEDOUT;
          if (phase == 0) goto answered_err;
          r->deregisterError = e;
          break;
        }
        continue;
      }
      e = errno;
      if (phase == 0) goto answered_err;
      break;
    }
    if ((size_t)n > sizeof buf) {
      r->truncated++;
      continue;
    }
    int a = handle(r, buf, (size_t)n, want);
    if (a < 0) continue;
    if (phase == 0) {
      e = a;
      if (e) goto answered_err;
      pthread_mutex_lock(&mu);
      r->registerError = 0;
      pthread_cond_broadcast(&cv);
      pthread_mutex_unlock(&mu);
      phase = 1;
    } else if (phase == 2) {
      r->deregisterError = a;
      break;
    }
  }
  return NULL;
answered_err:
  pthread_mutex_lock(&mu);
  r->registerError = e;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static unsigned long total(size_t field) {
  unsigned long s = 0;
  for (int i = 0; i < nreaders; i++) s += atomic_load((atomic_ulong *)((char *)&readers[i] + field));
  return s;
}

static unsigned long lost_now(void) {
  unsigned long s = 0;
  for (int i = 0; i < nreaders; i++) {
    long d = readers[i].fd >= 0 ? socket_drops(readers[i].fd) : readers[i].kernelDrops;
    unsigned long g = atomic_load(&readers[i].seqGapLost);
    s += (unsigned long)d > g ? (unsigned long)d : g;
  }
  return s;
}

int main(int argc, char **argv) {
  int rcvbuf = 16 << 20, opt;
  while ((opt = getopt(argc, argv, "r:p:")) != -1) {
    if (opt == 'r') rcvbuf = atoi(optarg);
    else if (opt == 'p') {
      lines = fopen(optarg, "w");
      if (!lines) die(optarg);
    } else {
      fprintf(stderr, "usage: exit_listener [-r RCVBUF_BYTES] [-p FILE]\n");
      return 2;
    }
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // a crashed benchmark still gets us to deregister
  signal(SIGPIPE, SIG_IGN);          // nor may a reader that went away kill us before that

  // Signals go to the main thread's signalfd only.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");

  family = resolve_family();
  cpu_set_t online;
  if (sched_getaffinity(0, sizeof online, &online) < 0) die("sched_getaffinity");
  readers = calloc(CPU_COUNT(&online), sizeof *readers);
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &online)) continue;
    struct reader *r = &readers[nreaders++];
    r->cpu = c;
    r->registerError = -1;
    r->fd = open_socket(rcvbuf, &r->portid);
  }
  for (int i = 0; i < nreaders; i++)
    if (pthread_create(&readers[i].thread, NULL, reader_main, &readers[i])) die("pthread_create");
  int failed = 0;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < nreaders; i++) {
    while (readers[i].registerError < 0) pthread_cond_wait(&cv, &mu);
    if (readers[i].registerError) {
      fprintf(stderr, "exit_listener: register cpu %d: %s\n", readers[i].cpu, strerror(readers[i].registerError));
      failed = 1;
    }
  }
  pthread_mutex_unlock(&mu);

  int granted = 0;
  socklen_t gl = sizeof granted;
  getsockopt(readers[0].fd, SOL_SOCKET, SO_RCVBUF, &granted, &gl);
  if (!failed) {
    printf("{\"ready\":true,\"cpus\":[");
    for (int i = 0; i < nreaders; i++) printf("%s%d", i ? "," : "", readers[i].cpu);
    printf("],\"portIds\":[");
    for (int i = 0; i < nreaders; i++) printf("%s%u", i ? "," : "", readers[i].portid);
    printf("],\"rcvbufBytes\":%d}\n", granted);
    fflush(stdout);

    // Marks on stdin, until EOF or a signal.
    char line[256];
    size_t have = 0;
    for (;;) {
      struct pollfd p[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents) break;
      if (!p[0].revents) continue;
      ssize_t n = read(0, line + have, sizeof line - have);
      if (n <= 0) break;
      have += (size_t)n;
      char *nl;
      while ((nl = memchr(line, '\n', have))) {
        printf("{\"cpuMs\":%.3f,\"received\":%lu,\"lost\":%lu}\n", cpu_ms(),
               total(offsetof(struct reader, received)), lost_now());
        fflush(stdout);
        have -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, have);
      }
      if (have == sizeof line) have = 0;
    }
  }

  for (int i = 0; i < nreaders; i++) readers[i].stopping = 1;
  for (int i = 0; i < nreaders; i++) {
    pthread_join(readers[i].thread, NULL);
    readers[i].kernelDrops = socket_drops(readers[i].fd);
    close(readers[i].fd);
    readers[i].fd = -1;
  }
  if (failed) return 1;

  unsigned long drops = 0;
  for (int i = 0; i < nreaders; i++) drops += (unsigned long)readers[i].kernelDrops;
  if (lines) fclose(lines);
  printf("{\"received\":%lu,\"lost\":%lu,\"seqGapLost\":%lu,\"kernelDrops\":%lu,\"enobufs\":%lu,"
         "\"truncated\":%lu,\"other\":%lu,\"cpuMs\":%.3f,\"perCpu\":[",
         total(offsetof(struct reader, received)), lost_now(), total(offsetof(struct reader, seqGapLost)), drops,
         total(offsetof(struct reader, enobufs)), total(offsetof(struct reader, truncated)),
         total(offsetof(struct reader, other)), cpu_ms());
  int dereg = 0;
  for (int i = 0; i < nreaders; i++) {
    struct reader *r = &readers[i];
    if (r->deregisterError) {
      fprintf(stderr, "exit_listener: deregister cpu %d: %s\n", r->cpu, strerror(r->deregisterError));
      dereg = 1;
    }
    printf("%s{\"cpu\":%d,\"portId\":%u,\"received\":%lu,\"seqGapLost\":%lu,\"kernelDrops\":%ld,\"enobufs\":%lu}",
           i ? "," : "", r->cpu, r->portid, (unsigned long)r->received, (unsigned long)r->seqGapLost,
           r->kernelDrops, (unsigned long)r->enobufs);
  }
  printf("]}\n");
  return dereg;
}
