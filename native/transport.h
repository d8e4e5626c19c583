// Sockets and the one reply dispatcher. Every netlink exchange of the addon (family lookup,
// register/deregister, batched and single queries, cgroupstats, the exit readers' drain)
// goes through dispatch() or drainQueued() here, over a Transport: the real netlink socket,
// or in tests a scripted fake (test/native/), so the engines above it run without root.
// libmnl's shape: mnl_socket_* is Transport, mnl_cb_run is dispatch.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nl.h"

namespace nl {

// What moves datagrams. Every result is a count or -errno; EINTR is retried inside.
class Transport {
 public:
  virtual ~Transport() = default;
  // sendmmsg: how many of the n messages went (at least one), or -errno.
  virtual int sendBatch(struct mmsghdr* msgs, unsigned n) = 0;
  // recvmmsg without blocking: how many datagrams (msg_len and msg_hdr.msg_flags set, MSG_TRUNC
  // for one longer than its buffer), or -EAGAIN when none is queued, -ENOBUFS once per overrun.
  virtual int recvBatch(struct mmsghdr* msgs, unsigned n) = 0;
  // Until a datagram is queued (kReadable), wakeFd (if >= 0) is readable (kWoken), or timeoutMs
  // passes (0; -1 = no limit). Or -errno.
  virtual int wait(int timeoutMs, int wakeFd) = 0;
  // A descriptor that polls readable (or in error) whenever recvBatch has something to report:
  // what a thread serving several transports at once hands to epoll.
  virtual int pollFd() const = 0;
  // The port id the kernel's replies to us carry.
  virtual uint32_t portid() const = 0;
  // Messages the kernel dropped on their way to us (netlink's Drops), or -errno.
  virtual int64_t drops() const = 0;

  static constexpr int kReadable = 1;
  static constexpr int kWoken = 2;

  // One message: 0 or -errno.
  int send(const uint8_t* buf, size_t len);
};

// A bound NETLINK_GENERIC socket. Closes itself.
class NetlinkSocket final : public Transport {
 public:
  NetlinkSocket() = default;
  ~NetlinkSocket() override { close(); }
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Open and bind, with a receive buffer of rcvbufBytes (0 = the default). SO_RCVBUFFORCE
  // when force (it needs CAP_NET_ADMIN; else SO_RCVBUF, capped by net.core.rmem_max: read
  // back what was granted). Returns 0, or -errno with *what naming the call that failed.
  int open(int rcvbufBytes, bool force, const char** what);
  void close();
  int fd() const { return fd_; }
  // The receive buffer the kernel granted (twice what was asked, as it reports it), or -errno.
  int rcvbufBytes() const;

  int sendBatch(struct mmsghdr* msgs, unsigned n) override;
  int recvBatch(struct mmsghdr* msgs, unsigned n) override;
  int wait(int timeoutMs, int wakeFd) override;
  // An overrun sets the socket's error, which polls as EPOLLERR: the next recvBatch says ENOBUFS.
  int pollFd() const override { return fd_; }
  uint32_t portid() const override { return portid_; }
  int64_t drops() const override;

 private:
  int fd_ = -1;
  uint32_t portid_ = 0;
};

// Receive slots for recvBatch, set up once and reused: a reader allocates nothing per read.
class RecvBuffers {
 public:
  RecvBuffers(size_t slots, size_t slotBytes);
  RecvBuffers(const RecvBuffers&) = delete;
  RecvBuffers& operator=(const RecvBuffers&) = delete;
  unsigned slots() const { return unsigned(msgs_.size()); }
  size_t slotBytes() const { return slotBytes_; }
  // The headers for a recvBatch into the first n slots.
  struct mmsghdr* arm(unsigned n);
  const uint8_t* data(unsigned i) const { return bytes_.data() + i * slotBytes_; }
  size_t len(unsigned i) const { return msgs_[i].msg_len; }
  int flags(unsigned i) const { return msgs_[i].msg_hdr.msg_flags; }

 private:
  size_t slotBytes_;
  std::vector<uint8_t> bytes_;
  std::vector<struct iovec> iov_;
  std::vector<struct mmsghdr> msgs_;
};

// A message that answers request `index` of an exchange: it carries that request's seq and
// our port id, and is NLMSG_ERROR (m.error; 0 = ACK), NLMSG_DONE, or of the exchange's family.
struct Reply {
  uint32_t index;      // seq - the exchange's first seq
  ParseStatus status;  // Ok, or where the bounded parse failed (the header itself was readable)
  bool truncated;      // MSG_TRUNC: the datagram was longer than its receive slot
  const Msg& m;
  const uint8_t* buf;  // the datagram; the message starts at 0
  size_t len;
};

// What a dispatch hands its caller (libmnl's callbacks).
class Handler {
 public:
  virtual ~Handler() = default;
  // Return true once request r.index is answered: dispatch stops waiting for it.
  virtual bool reply(const Reply& r) { return false; }
  // Any other datagram read meanwhile, whole: exit events, late replies to earlier requests,
  // unparseable or truncated datagrams.
  virtual void other(const uint8_t* buf, size_t len, int flags) {}
  // ENOBUFS: the kernel dropped messages on their way to us.
  virtual void overrun() {}
};

// Requests seq firstSeq .. firstSeq + count - 1, sent from one socket.
struct Exchange {
  uint16_t family;  // the type their data replies carry (GENL_ID_CTRL for a family lookup)
  uint32_t firstSeq;
  uint32_t count;
  // The kernel answers a request inside sendmsg, so once an overrun was reported a dry queue
  // means the missing replies were dropped: stop waiting for them (-ENOBUFS).
  bool dryAfterOverrunEnds = false;
};

int64_t monotonicMs();

// Until when an exchange may wait for replies that are not queued yet.
struct Deadline {
  int64_t atMs;
  static Deadline in(int timeoutMs) { return {monotonicMs() + (timeoutMs > 0 ? timeoutMs : 0)}; }
  int leftMs() const;
};

// Read replies until `pending` requests of ex are answered (0), or nothing is queued and the
// deadline has passed (-ETIMEDOUT), or an overrun left the queue dry and ex.dryAfterOverrunEnds
// (-ENOBUFS), or the transport failed (-errno). What is queued is always read before the
// deadline is looked at: late as it may be, a batch whose replies are there is answered.
int dispatch(Transport& t, RecvBuffers& rb, const Exchange& ex, size_t pending, const Deadline& dl, Handler& h);

// Read everything queued now (a short batch ends it), each datagram to h.other, each ENOBUFS to
// h.overrun. Returns the datagrams read, or -errno.
int drainQueued(Transport& t, RecvBuffers& rb, Handler& h);

// Send one request and dispatch its replies until h answers it, or the deadline.
int request(Transport& t, RecvBuffers& rb, const Request& q, const Deadline& dl, Handler& h);

// Send q with NLM_F_ACK and wait up to timeoutMs for its ACK. Everything else read meanwhile
// goes to events (may be null). Returns 0, or -errno (the kernel's answer, -ETIMEDOUT, ...).
int requestAck(Transport& t, RecvBuffers& rb, const Request& q, int timeoutMs, Handler* events);

// A generic-netlink family's id by name, or -errno (-ENOENT when the kernel has no such
// family, e.g. built without CONFIG_TASKSTATS).
int resolveFamily(Transport& t, const char* name, int timeoutMs);

}  // namespace nl
