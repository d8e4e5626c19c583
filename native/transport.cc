#include "transport.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>

namespace nl {

namespace {

constexpr size_t kMaxRequestBytes = 1024;  // a cpumask string of a few hundred CPUs fits
constexpr size_t kLookupSlotBytes = 8192;  // nlctrl's reply lists the family's ops and groups

// Whether m (a datagram's first message) answers a request of ex, and which: it carries our
// port id, one of ex's seqs, and a reply's type.
bool answers(const Transport& t, const Exchange& ex, const Msg& m, uint32_t* index) {
  uint32_t i = m.seq - ex.firstSeq;
  if (i >= ex.count || m.portid != t.portid()) return false;
  if (m.type != NLMSG_ERROR && m.type != NLMSG_DONE && m.type != ex.family) return false;
  *index = i;
  return true;
}

// One recvBatch of at most `max` datagrams, each routed: a reply to ex (if any) to h.reply,
// anything else to h.other. Returns the count, or -errno (-EAGAIN: nothing queued).
int readOnce(Transport& t, RecvBuffers& rb, const Exchange* ex, unsigned max, Handler& h, size_t* answered) {
  int n = t.recvBatch(rb.arm(max), max);
  if (n == -ENOBUFS) h.overrun();
  if (n == 0) return -EAGAIN;
  for (int k = 0; k < n; k++) {
    const uint8_t* buf = rb.data(unsigned(k));
    size_t len = rb.len(unsigned(k));
    int flags = rb.flags(unsigned(k));
    if (ex) {
      // Replies are one message a datagram: a multi-part dump is not something we ask for.
      Msg m;
      size_t next;
      uint32_t index;
      ParseStatus s = parseMsg(buf, len, 0, ex->family, &m, &next);
      if (s != ParseStatus::Truncated && answers(t, *ex, m, &index)) {
        if (h.reply(Reply{index, s, (flags & MSG_TRUNC) != 0, m, buf, len})) (*answered)++;
        continue;
      }
    }
    h.other(buf, len, flags);
  }
  return n;
}

}  // namespace

int64_t monotonicMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail for CLOCK_MONOTONIC with a valid pointer
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int Deadline::leftMs() const {
  int64_t left = atMs - monotonicMs();
  return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : int(left);
}

int Transport::send(const uint8_t* buf, size_t len) {
  struct iovec iov = {const_cast<uint8_t*>(buf), len};
  struct mmsghdr m;
  memset(&m, 0, sizeof m);
  m.msg_hdr.msg_iov = &iov;
  m.msg_hdr.msg_iovlen = 1;
  int r = sendBatch(&m, 1);
  return r < 0 ? r : 0;
}

int NetlinkSocket::open(int rcvbufBytes, bool force, const char** what) {
  close();
  *what = "socket(NETLINK_GENERIC)";
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return -errno;
  auto fail = [&](const char* call) {
    int e = errno;
    ::close(fd);
    *what = call;
    return -e;
  };
  if (rcvbufBytes > 0) {
    bool forced = false;
    if (force) {
      forced = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbufBytes, sizeof rcvbufBytes) == 0;
      if (!forced && errno != EPERM) return fail("setsockopt(SO_RCVBUFFORCE)");
    }
    if (!forced && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbufBytes, sizeof rcvbufBytes) < 0)
      return fail("setsockopt(SO_RCVBUF)");
  }
  int one = 1;
  // Errors then echo only the header of our request, not all of it. Kernels before 4.3 lack
  // it (ENOPROTOOPT): a whole 1-KiB request echoed still fits every receive slot.
  if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one) < 0 && errno != ENOPROTOOPT)
    return fail("setsockopt(NETLINK_CAP_ACK)");
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return fail("bind(AF_NETLINK)");
  socklen_t sl = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl) < 0) return fail("getsockname(AF_NETLINK)");
  fd_ = fd;
  portid_ = sa.nl_pid;
  return 0;
}

void NetlinkSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int NetlinkSocket::rcvbufBytes() const {
  int rb = 0;
  socklen_t l = sizeof rb;
  if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rb, &l) < 0) return -errno;
  return rb;
}

int NetlinkSocket::sendBatch(struct mmsghdr* msgs, unsigned n) {
  // No msg_name: an unconnected netlink socket sends to the kernel (port 0).
  int r;
  do { r = sendmmsg(fd_, msgs, n, 0); } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int NetlinkSocket::recvBatch(struct mmsghdr* msgs, unsigned n) {
  int r;
  do { r = recvmmsg(fd_, msgs, n, MSG_DONTWAIT, nullptr); } while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return r;
}

int NetlinkSocket::wait(int timeoutMs, int wakeFd) {
  struct pollfd p[2] = {{fd_, POLLIN, 0}, {wakeFd, POLLIN, 0}};
  int r;
  do { r = poll(p, wakeFd >= 0 ? 2 : 1, timeoutMs); } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return 0;
  if (wakeFd >= 0 && p[1].revents) return kWoken;
  return kReadable;  // POLLERR too: the next recvBatch reports it
}

int64_t NetlinkSocket::drops() const {
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t l = sizeof mem;
  if (getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &l) < 0) return -errno;
  if (l <= SK_MEMINFO_DROPS * sizeof(uint32_t)) return -ENOTSUP;
  return mem[SK_MEMINFO_DROPS];
}

RecvBuffers::RecvBuffers(size_t slots, size_t slotBytes)
    : slotBytes_(slotBytes), bytes_(slots * slotBytes), iov_(slots), msgs_(slots) {
  for (size_t i = 0; i < slots; i++) {
    iov_[i] = {bytes_.data() + i * slotBytes, slotBytes};
    memset(&msgs_[i], 0, sizeof msgs_[i]);
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

struct mmsghdr* RecvBuffers::arm(unsigned n) {
  for (unsigned i = 0; i < n && i < msgs_.size(); i++) {
    msgs_[i].msg_len = 0;
    msgs_[i].msg_hdr.msg_flags = 0;
  }
  return msgs_.data();
}

int dispatch(Transport& t, RecvBuffers& rb, const Exchange& ex, size_t pending, const Deadline& dl, Handler& h) {
  bool overrun = false;
  size_t answered = 0;
  while (answered < pending) {
    size_t want = pending - answered;
    int n = readOnce(t, rb, &ex, want < rb.slots() ? unsigned(want) : rb.slots(), h, &answered);
    if (n > 0) continue;
    if (n == -ENOBUFS) {
      overrun = true;
      continue;
    }
    if (n != -EAGAIN) return n;
    if (overrun && ex.dryAfterOverrunEnds) return -ENOBUFS;
    int left = dl.leftMs();
    if (left == 0) return -ETIMEDOUT;
    int w = t.wait(left, -1);
    if (w < 0) return w;
  }
  return 0;
}

int drainQueued(Transport& t, RecvBuffers& rb, Handler& h) {
  int total = 0;
  size_t none = 0;
  for (;;) {
    int n = readOnce(t, rb, nullptr, rb.slots(), h, &none);
    if (n == -ENOBUFS) continue;
    if (n == -EAGAIN) return total;
    if (n < 0) return n;
    total += n;
    if (unsigned(n) < rb.slots()) return total;
  }
}

int request(Transport& t, RecvBuffers& rb, const Request& q, const Deadline& dl, Handler& h) {
  uint8_t buf[kMaxRequestBytes];
  size_t n = buildRequest(buf, sizeof buf, q);
  if (!n) return -E2BIG;
  int r = t.send(buf, n);
  if (r < 0) return r;
  return dispatch(t, rb, Exchange{q.family, q.seq, 1}, 1, dl, h);
}

int requestAck(Transport& t, RecvBuffers& rb, const Request& q, int timeoutMs, Handler* events) {
  struct Ack : Handler {
    Handler* events;
    int error = EIO;
    explicit Ack(Handler* e) : events(e) {}
    bool reply(const Reply& r) override {
      // A GET with NLM_F_ACK gets its answer first, then the ACK: wait on for the ACK.
      bool ok = r.status == ParseStatus::Ok && !r.truncated;
      if (ok && r.m.type != NLMSG_ERROR && r.m.type != NLMSG_DONE) return false;
      error = ok && r.m.type == NLMSG_ERROR ? r.m.error : EIO;
      return true;
    }
    void other(const uint8_t* buf, size_t len, int flags) override {
      if (events) events->other(buf, len, flags);
    }
    void overrun() override {
      if (events) events->overrun();
    }
  } ack(events);
  Request withAck = q;
  withAck.flags |= NLM_F_ACK;
  int r = request(t, rb, withAck, Deadline::in(timeoutMs), ack);
  return r < 0 ? r : -ack.error;
}

int resolveFamily(Transport& t, const char* name, int timeoutMs) {
  // Any seq will do on a fresh socket; distinct ones keep a stray reply from matching.
  static std::atomic<uint32_t> seqGen{0x7000};
  struct Lookup : Handler {
    int result = -EIO;
    bool reply(const Reply& r) override {
      size_t at, atLen;
      if (r.truncated || r.status != ParseStatus::Ok)
        result = r.truncated ? -EMSGSIZE : -EIO;
      else if (r.m.type == NLMSG_ERROR)
        result = r.m.error ? -r.m.error : -EIO;
      else if (r.m.type == GENL_ID_CTRL && findAttr(r.buf, kGenlPayload, r.m.len, CTRL_ATTR_FAMILY_ID, &at, &atLen) &&
               atLen >= sizeof(uint16_t)) {
        uint16_t id;
        memcpy(&id, r.buf + at, sizeof id);
        result = id;
      }
      return true;
    }
  } lookup;
  RecvBuffers rb(1, kLookupSlotBytes);
  Request q{GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, ++seqGen, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1};
  int r = request(t, rb, q, Deadline::in(timeoutMs), lookup);
  return r < 0 ? r : lookup.result;
}

}  // namespace nl
