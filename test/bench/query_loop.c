// Baseline for the query benchmark: the per-id taskstats loop getdelays does.
// One TASKSTATS_CMD_GET with the PID attribute, one blocking recv() of its reply, one id at a
// time; the whole id list R times after one untimed warm-up pass.
//
//   query_loop [-r R] [FILE]     ids one per line from FILE (default stdin)
//   prints: ns_per_id=<f> ids=<n> reps=<R> ok=<n> esrch=<n> other=<n>   (counts over timed passes)
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

// From include/uapi/linux/taskstats.h (the distro header may lag the kernel).
#define TASKSTATS_CMD_GET 1
#define TASKSTATS_CMD_ATTR_PID 1
#define TASKSTATS_GENL_VERSION 1

struct req {
  struct nlmsghdr n;
  struct genlmsghdr g;
  char buf[64];
};

static int fd;
static uint32_t seq;
static char rbuf[8192];  // a v16 reply is 596 bytes, a v17 one ~730

static void die(const char *what) {
  perror(what);
  exit(2);
}

// Build and send one genl request carrying one attribute; returns its seq.
static uint32_t send_req(uint16_t type, uint8_t cmd, uint8_t version, uint16_t atype, const void *a, uint16_t alen) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  r.n.nlmsg_type = type;
  r.n.nlmsg_flags = NLM_F_REQUEST;
  r.n.nlmsg_seq = ++seq;
  r.g.cmd = cmd;
  r.g.version = version;
  struct nlattr *na = (struct nlattr *)((char *)&r + r.n.nlmsg_len);
  na->nla_type = atype;
  na->nla_len = NLA_HDRLEN + alen;
  memcpy((char *)na + NLA_HDRLEN, a, alen);
  r.n.nlmsg_len += NLA_ALIGN(na->nla_len);
  for (;;) {
    if (send(fd, &r, r.n.nlmsg_len, 0) >= 0) return r.n.nlmsg_seq;
    if (errno != EINTR) die("send");
  }
}

// Receive until the reply with this seq arrives (a late reply to an earlier request is
// skipped). Returns 0 and the message, or the positive errno of an NLMSG_ERROR.
static int recv_reply(uint32_t want, struct nlmsghdr **out) {
  for (;;) {
    ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recv");  // includes the SO_RCVTIMEO timeout: a lost reply is a broken benchmark
    }
    struct nlmsghdr *h = (struct nlmsghdr *)rbuf;
    if (!NLMSG_OK(h, (size_t)n)) {
      fprintf(stderr, "query_loop: malformed reply of %zd bytes\n", n);
      exit(2);
    }
    if (h->nlmsg_seq != want) continue;
    *out = h;
    if (h->nlmsg_type == NLMSG_ERROR) return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
    return 0;
  }
}

// CTRL_CMD_GETFAMILY "TASKSTATS" -> its dynamic family id.
static uint16_t resolve_family(void) {
  static const char name[] = "TASKSTATS";
  uint32_t s = send_req(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, CTRL_ATTR_FAMILY_NAME, name, sizeof name);
  struct nlmsghdr *h;
  int e = recv_reply(s, &h);
  if (e) {
    fprintf(stderr, "query_loop: resolve TASKSTATS: %s\n", strerror(e));
    exit(2);
  }
  int left = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
  struct nlattr *na = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
  while (left >= NLA_HDRLEN && na->nla_len >= NLA_HDRLEN && na->nla_len <= left) {
    if (na->nla_type == CTRL_ATTR_FAMILY_ID) return *(uint16_t *)((char *)na + NLA_HDRLEN);
    left -= NLA_ALIGN(na->nla_len);
    na = (struct nlattr *)((char *)na + NLA_ALIGN(na->nla_len));
  }
  fprintf(stderr, "query_loop: no CTRL_ATTR_FAMILY_ID in reply\n");
  exit(2);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv) {
  int reps = 1, c;
  while ((c = getopt(argc, argv, "r:")) != -1) {
    if (c != 'r' || (reps = atoi(optarg)) < 1) {
      fprintf(stderr, "usage: query_loop [-r REPS] [FILE]\n");
      return 2;
    }
  }
  FILE *in = optind < argc ? fopen(argv[optind], "r") : stdin;
  if (!in) die(argv[optind]);
  size_t n = 0, cap = 1024;
  uint32_t *ids = malloc(cap * sizeof *ids);
  unsigned long v;
  while (fscanf(in, "%lu", &v) == 1) {
    if (n == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
    if (!ids) die("realloc");
    ids[n++] = (uint32_t)v;
  }
  if (!n) {
    fprintf(stderr, "query_loop: no ids\n");
    return 2;
  }

  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
  if (fd < 0) die("socket");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  struct timeval tv = {1, 0};  // never block forever on a lost reply
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint16_t family = resolve_family();

  unsigned long ok = 0, esrch = 0, other = 0;
  double t0 = 0;
  for (int pass = 0; pass <= reps; pass++) {  // pass 0 warms up and is not counted
    if (pass == 1) ok = esrch = other = 0, t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
      uint32_t s = send_req(family, TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION, TASKSTATS_CMD_ATTR_PID, &ids[i], 4);
      struct nlmsghdr *h;
      int e = recv_reply(s, &h);
      if (!e && h->nlmsg_type == family) ok++;
      else if (e == ESRCH) esrch++;
      else other++;
    }
  }
  double el = now_ns() - t0;
  printf("ns_per_id=%.1f ids=%zu reps=%d ok=%lu esrch=%lu other=%lu\n", el / ((double)n * reps), n, reps, ok, esrch,
         other);
  return 0;
}
