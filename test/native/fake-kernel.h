// A scripted stand-in for the kernel's end of a netlink socket, as mdlayher/taskstats tests
// with its fake genetlink connection. Datagrams to the engine travel through a
// SOCK_SEQPACKET socketpair, so waits, timeouts, MSG_TRUNC and a wake fd behave as on a
// real socket; the script sees each request as the kernel would (inside sendmsg) and
// answers, drops, delays or reorders as it likes. Needs no root and no taskstats.
#pragma once
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../native/transport.h"

namespace fake {

using Bytes = std::vector<uint8_t>;

// Wire constants (include/uapi/linux/netlink.h, genetlink.h, taskstats.h), written out again
// on purpose: the fake must not share a mistake with native/nl.h.
constexpr uint16_t kError = 2;       // NLMSG_ERROR
constexpr uint16_t kCtrl = 0x10;     // GENL_ID_CTRL
constexpr uint8_t kCmdGet = 1;       // TASKSTATS_CMD_GET
constexpr uint8_t kCmdNew = 2;       // TASKSTATS_CMD_NEW
constexpr uint16_t kAttrPid = 1;     // TASKSTATS_CMD_ATTR_PID, TASKSTATS_TYPE_PID
constexpr uint16_t kAttrTgid = 2;    // TASKSTATS_CMD_ATTR_TGID, TASKSTATS_TYPE_TGID
constexpr uint16_t kTypeStats = 3;   // TASKSTATS_TYPE_STATS
constexpr uint16_t kAggrPid = 4;     // TASKSTATS_TYPE_AGGR_PID
constexpr uint16_t kAggrTgid = 5;    // TASKSTATS_TYPE_AGGR_TGID
constexpr uint16_t kFlagAck = 4;     // NLM_F_ACK
constexpr size_t kStatsV16 = 560;    // sizeof(struct taskstats), version 16

inline void put16(Bytes& b, size_t at, uint16_t v) { memcpy(b.data() + at, &v, 2); }
inline void put32(Bytes& b, size_t at, uint32_t v) { memcpy(b.data() + at, &v, 4); }
inline uint16_t get16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
inline uint32_t get32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }

inline Bytes u32(uint32_t v) { Bytes b(4); put32(b, 0, v); return b; }

// struct nlattr (4 bytes) + payload, padded to 4.
inline Bytes nla(uint16_t type, const Bytes& payload) {
  Bytes b(4 + ((payload.size() + 3) & ~size_t(3)), 0);
  put16(b, 0, uint16_t(4 + payload.size()));
  put16(b, 2, type);
  if (!payload.empty()) memcpy(b.data() + 4, payload.data(), payload.size());
  return b;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) b.insert(b.end(), p.begin(), p.end());
  return b;
}

// struct nlmsghdr (16 bytes: len, type, flags, seq, pid) + payload.
inline Bytes nlmsg(uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid, const Bytes& payload) {
  Bytes b(16 + payload.size(), 0);
  put32(b, 0, uint32_t(b.size()));
  put16(b, 4, type);
  put16(b, 6, flags);
  put32(b, 8, seq);
  put32(b, 12, portid);
  if (!payload.empty()) memcpy(b.data() + 16, payload.data(), payload.size());
  return b;
}

// struct genlmsghdr (cmd, version, reserved u16) + attributes.
inline Bytes genl(uint8_t cmd, const Bytes& attrs) { return cat({Bytes{cmd, 1, 0, 0}, attrs}); }

// A STATS payload that says whose it is: version 16 at 0, then id and tag as u32 at 8 and 12.
inline Bytes stats(uint32_t id, uint32_t tag, size_t len = kStatsV16) {
  Bytes b(len, 0xa5);
  put16(b, 0, 16);
  put32(b, 8, id);
  put32(b, 12, tag);
  return b;
}

// The kernel's answer to a GET: AGGR_PID {PID, STATS} or AGGR_TGID {TGID, STATS}.
inline Bytes statsReply(uint16_t family, uint32_t seq, uint32_t portid, bool tgid, uint32_t id, uint32_t tag,
                        size_t statsLen = kStatsV16) {
  Bytes inner = cat({nla(tgid ? kAttrTgid : kAttrPid, u32(id)), nla(kTypeStats, stats(id, tag, statsLen))});
  return nlmsg(family, 0, seq, portid, genl(kCmdNew, nla(tgid ? kAggrTgid : kAggrPid, inner)));
}

// NLMSG_ERROR: the negative errno (0 = ACK), then the request's header (NETLINK_CAP_ACK).
inline Bytes errorReply(uint32_t seq, uint32_t portid, int err, uint16_t family) {
  return nlmsg(kError, 0, seq, portid, cat({u32(uint32_t(-err)), nlmsg(family, 0, seq, 0, {})}));
}

// An exit event: port id 0, a per-CPU seq, AGGR_PID and (last thread of a multi-threaded
// process) AGGR_TGID in one message.
inline Bytes exitEvent(uint16_t family, uint32_t seq, uint32_t pid, uint32_t tgid = 0) {
  Bytes attrs = nla(kAggrPid, cat({nla(kAttrPid, u32(pid)), nla(kTypeStats, stats(pid, seq))}));
  if (tgid) attrs = cat({attrs, nla(kAggrTgid, cat({nla(kAttrTgid, u32(tgid)), nla(kTypeStats, stats(tgid, seq))}))});
  return nlmsg(family, 0, seq, 0, genl(kCmdNew, attrs));
}

// One request as the kernel reads it.
struct Sent {
  uint16_t type = 0, flags = 0;
  uint32_t seq = 0;
  uint8_t cmd = 0;
  uint16_t attrType = 0;
  Bytes attr;
  uint32_t id() const { return attr.size() >= 4 ? get32(attr.data()) : 0; }
  std::string text() const { return std::string(attr.begin(), attr.end() - (attr.empty() ? 0 : 1)); }
};

class FakeKernel : public nl::Transport {
 public:
  explicit FakeKernel(uint32_t portid = 4242) : portid_(portid) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw std::runtime_error("socketpair");
    ours_ = sv[0];
    theirs_ = sv[1];
    int big = 8 << 20;  // room for a few windows of replies queued at once (capped without root)
    if (setsockopt(theirs_, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
      setsockopt(theirs_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    // What an epoll of readers sees: the queue, or a pending overrun (the kernel's socket error).
    overrunFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pollFd_ = epoll_create1(EPOLL_CLOEXEC);
    if (overrunFd_ < 0 || pollFd_ < 0) throw std::runtime_error("fake kernel: eventfd/epoll");
    for (int fd : {ours_, overrunFd_}) {
      struct epoll_event e = {};
      e.events = EPOLLIN;
      e.data.fd = fd;
      if (epoll_ctl(pollFd_, EPOLL_CTL_ADD, fd, &e) < 0) throw std::runtime_error("fake kernel: epoll_ctl");
    }
  }
  ~FakeKernel() override {
    close(ours_);
    close(theirs_);
    close(overrunFd_);
    close(pollFd_);
  }

  // The script: called once per sendBatch with the requests it carried, before it returns
  // (the kernel answers a GET inside sendmsg).
  std::function<void(FakeKernel&, const std::vector<Sent>&)> onSend;
  std::vector<Sent> sent;          // every request, in order
  unsigned maxPerSend = 0;         // > 0: sendmmsg takes at most this many at a time
  int sendError = 0;               // > 0: every send fails with it

  // Queue a datagram to the engine, as the kernel would.
  void deliver(const Bytes& d) {
    if (::send(theirs_, d.data(), d.size(), MSG_DONTWAIT) != ssize_t(d.size()))
      throw std::runtime_error("fake kernel: deliver failed: " + std::string(strerror(errno)));
  }
  // The receive queue overflowed: lost messages are gone, and the next read says ENOBUFS.
  void overrun(uint64_t lost) {
    drops_ += lost;
    enobufs_ = true;
    uint64_t one = 1;
    if (write(overrunFd_, &one, sizeof one) != ssize_t(sizeof one)) throw std::runtime_error("fake kernel: overrun");
  }

  int sendBatch(struct mmsghdr* msgs, unsigned n) override {
    if (sendError) return -sendError;
    if (maxPerSend && n > maxPerSend) n = maxPerSend;
    std::vector<Sent> batch;
    for (unsigned i = 0; i < n; i++) {
      const struct msghdr& h = msgs[i].msg_hdr;
      Bytes b;
      for (size_t k = 0; k < h.msg_iovlen; k++) {
        const uint8_t* p = static_cast<const uint8_t*>(h.msg_iov[k].iov_base);
        b.insert(b.end(), p, p + h.msg_iov[k].iov_len);
      }
      if (b.size() < 24 || get32(b.data()) != b.size()) throw std::runtime_error("fake kernel: a malformed request");
      Sent s;
      s.type = get16(&b[4]);
      s.flags = get16(&b[6]);
      s.seq = get32(&b[8]);
      s.cmd = b[16];
      uint16_t nlaLen = get16(&b[20]);
      s.attrType = get16(&b[22]);
      if (nlaLen >= 4 && 20 + size_t(nlaLen) <= b.size()) s.attr.assign(b.begin() + 24, b.begin() + 20 + nlaLen);
      msgs[i].msg_len = unsigned(b.size());
      batch.push_back(s);
      sent.push_back(s);
    }
    if (onSend) onSend(*this, batch);
    return int(n);
  }

  int recvBatch(struct mmsghdr* msgs, unsigned n) override {
    uint64_t pending;
    // Cleared before the flag is looked at: an overrun racing this read leaves at most one
    // spurious wake-up behind, never a socket that polls ready forever.
    if (read(overrunFd_, &pending, sizeof pending) < 0 && errno != EAGAIN)
      throw std::runtime_error("fake kernel: overrun read");
    if (enobufs_.exchange(false)) return -ENOBUFS;
    int r = recvmmsg(ours_, msgs, n, MSG_DONTWAIT, nullptr);
    if (r < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return r;
  }

  int wait(int timeoutMs, int wakeFd) override {
    if (enobufs_) return kReadable;
    struct pollfd p[2] = {{ours_, POLLIN, 0}, {wakeFd, POLLIN, 0}};
    int r;
    do { r = poll(p, wakeFd >= 0 ? 2 : 1, timeoutMs); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    if (r == 0) return 0;
    return wakeFd >= 0 && p[1].revents ? kWoken : kReadable;
  }

  int pollFd() const override { return pollFd_; }
  uint32_t portid() const override { return portid_; }
  int64_t drops() const override { return int64_t(drops_); }

 private:
  uint32_t portid_;
  int ours_ = -1, theirs_ = -1;
  int overrunFd_ = -1, pollFd_ = -1;
  // The script may run on another thread than the reader (the reader-loop cases).
  std::atomic<bool> enobufs_{false};
  std::atomic<uint64_t> drops_{0};
};

}  // namespace fake
