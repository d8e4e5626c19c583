#include "nl.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace nl {

namespace {

constexpr size_t kNlHdr = 16;    // sizeof(struct nlmsghdr)
constexpr size_t kGenlHdr = 4;   // sizeof(struct genlmsghdr)
constexpr size_t kNlaHdr = 4;    // sizeof(struct nlattr)

inline size_t align4(size_t n) { return (n + 3) & ~size_t(3); }

// Unaligned little-endian loads: the STATS payload sits at offset 36 (4-aligned only).
inline uint16_t rd16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
inline uint32_t rd32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
inline void wr16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
inline void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }

// libmnl-style "next attribute, or stop": the attribute at [off, end) if it fits.
struct Attr { uint16_t type; size_t payload; size_t payloadLen; size_t next; };
enum class AttrStep { Ok, End, Bad };
AttrStep nextAttr(const uint8_t* buf, size_t off, size_t end, Attr* a) {
  if (off >= end) return AttrStep::End;
  if (end - off < kNlaHdr) return AttrStep::Bad;
  uint16_t nlaLen = rd16(buf + off);
  // nla_len 0..3 would never advance: reject instead of looping.
  if (nlaLen < kNlaHdr || nlaLen > end - off) return AttrStep::Bad;
  a->type = rd16(buf + off + 2) & 0x3fff;  // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
  a->payload = off + kNlaHdr;
  a->payloadLen = nlaLen - kNlaHdr;
  size_t adv = align4(nlaLen);
  a->next = adv > end - off ? end : off + adv;
  return AttrStep::Ok;
}

ParseStatus parseAggr(const uint8_t* buf, size_t off, size_t end, uint16_t idType, Aggr* out) {
  Attr a;
  AttrStep st;
  bool haveId = false;
  while ((st = nextAttr(buf, off, end, &a)) == AttrStep::Ok) {
    if (a.type == idType) {
      if (a.payloadLen < 4) return ParseStatus::BadAttr;
      out->id = rd32(buf + a.payload);
      haveId = true;
    } else if (a.type == TASKSTATS_TYPE_STATS) {
      out->statsOffset = uint32_t(a.payload);
      out->statsLen = uint32_t(a.payloadLen);
    }
    // TASKSTATS_TYPE_NULL padding (non-x86 arches) and unknown types are skipped.
    off = a.next;
  }
  if (st == AttrStep::Bad) return ParseStatus::BadAttr;
  if (!haveId || out->statsLen == 0) return ParseStatus::BadAttr;
  out->present = true;
  return ParseStatus::Ok;
}

int waitReadable(int fd, int timeoutMs) {
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do { r = poll(&p, 1, timeoutMs); } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  return r == 0 ? -ETIMEDOUT : 0;
}

int64_t nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

const char* parseStatusText(ParseStatus s) {
  switch (s) {
    case ParseStatus::Ok: return "ok";
    case ParseStatus::Truncated: return "truncated netlink header";
    case ParseStatus::BadLength: return "nlmsg_len out of bounds";
    case ParseStatus::BadAttr: return "malformed attribute";
  }
  return "?";
}

ParseStatus parseMsg(const uint8_t* buf, size_t len, size_t off, uint16_t familyId, Msg* out,
                     size_t* next) {
  *out = Msg();
  if (off > len || len - off < kNlHdr) return ParseStatus::Truncated;
  uint32_t msgLen = rd32(buf + off);
  if (msgLen < kNlHdr || msgLen > len - off) return ParseStatus::BadLength;
  out->type = rd16(buf + off + 4);
  out->flags = rd16(buf + off + 6);
  out->seq = rd32(buf + off + 8);
  out->portid = rd32(buf + off + 12);
  size_t end = off + msgLen;
  size_t adv = align4(msgLen);
  *next = adv > len - off ? len : off + adv;

  if (out->type == NLMSG_ERROR) {
    if (msgLen < kNlHdr + 4) return ParseStatus::BadLength;
    int32_t err;
    memcpy(&err, buf + off + kNlHdr, 4);
    // -INT32_MIN overflows (undefined behaviour): no errno is that large, so clamp.
    out->error = err == INT32_MIN ? INT32_MAX : err < 0 ? -err : err;
    return ParseStatus::Ok;
  }
  if (out->type == NLMSG_NOOP || out->type == NLMSG_DONE || out->type == NLMSG_OVERRUN)
    return ParseStatus::Ok;
  if (out->type != familyId && out->type != GENL_ID_CTRL) return ParseStatus::Ok;  // unknown: caller skips
  if (msgLen < kNlHdr + kGenlHdr) return ParseStatus::BadLength;
  out->cmd = buf[off + kNlHdr];
  if (out->type != familyId) return ParseStatus::Ok;

  Attr a;
  AttrStep st;
  size_t p = off + kNlHdr + kGenlHdr;
  while ((st = nextAttr(buf, p, end, &a)) == AttrStep::Ok) {
    size_t pe = a.payload + a.payloadLen;
    if (a.type == TASKSTATS_TYPE_AGGR_PID) {
      ParseStatus s = parseAggr(buf, a.payload, pe, TASKSTATS_TYPE_PID, &out->pid);
      if (s != ParseStatus::Ok) return s;
    } else if (a.type == TASKSTATS_TYPE_AGGR_TGID) {
      ParseStatus s = parseAggr(buf, a.payload, pe, TASKSTATS_TYPE_TGID, &out->tgid);
      if (s != ParseStatus::Ok) return s;
    }
    p = a.next;
  }
  return st == AttrStep::Bad ? ParseStatus::BadAttr : ParseStatus::Ok;
}

bool findAttr(const uint8_t* buf, size_t off, size_t end, uint16_t type, size_t* payload, size_t* payloadLen) {
  Attr a;
  while (nextAttr(buf, off, end, &a) == AttrStep::Ok) {
    if (a.type == type) {
      *payload = a.payload;
      *payloadLen = a.payloadLen;
      return true;
    }
    off = a.next;
  }
  return false;
}

int openSocket(int rcvbufBytes, bool force, int timeoutMs, uint32_t* portidOut) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return -errno;
  if (rcvbufBytes > 0) {
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; the caller learns of the fallback by reading back.
    if (!force || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbufBytes, sizeof rcvbufBytes) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbufBytes, sizeof rcvbufBytes);
  }
  int one = 1;
  // Errors then echo only the header of our request, not all of it.
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  if (timeoutMs > 0) {
    struct timeval tv = {timeoutMs / 1000, (timeoutMs % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  socklen_t sl = sizeof sa;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if (portidOut) *portidOut = sa.nl_pid;
  return fd;
}

size_t buildRequest(uint8_t* buf, size_t cap, uint16_t familyId, uint8_t cmd, uint16_t flags,
                    uint32_t seq, uint16_t attrType, const void* attr, size_t attrLen) {
  size_t total = kNlHdr + kGenlHdr + align4(kNlaHdr + attrLen);
  if (total > cap) return 0;
  memset(buf, 0, total);
  wr32(buf, uint32_t(total));
  wr16(buf + 4, familyId);
  wr16(buf + 6, uint16_t(NLM_F_REQUEST | flags));
  wr32(buf + 8, seq);
  wr32(buf + 12, 0);
  buf[16] = cmd;
  buf[17] = familyId == GENL_ID_CTRL ? 1 : TASKSTATS_GENL_VERSION;
  wr16(buf + 20, uint16_t(kNlaHdr + attrLen));
  wr16(buf + 22, attrType);
  if (attrLen) memcpy(buf + 24, attr, attrLen);
  return total;
}

static int sendAll(int fd, const uint8_t* buf, size_t len) {
  struct sockaddr_nl dst;
  memset(&dst, 0, sizeof dst);
  dst.nl_family = AF_NETLINK;
  ssize_t r;
  do {
    r = sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int requestAck(int fd, uint16_t familyId, uint8_t cmd, uint16_t attrType, const void* attr,
               size_t attrLen, uint32_t seq, OtherFn other, void* ctx) {
  uint8_t req[1024];
  size_t n = buildRequest(req, sizeof req, familyId, cmd, NLM_F_ACK, seq, attrType, attr, attrLen);
  if (!n) return -E2BIG;
  int r = sendAll(fd, req, n);
  if (r < 0) return r;
  static thread_local uint8_t buf[65536];
  int64_t deadline = nowMs() + 2000;
  for (;;) {
    int64_t left = deadline - nowMs();
    if (left <= 0) return -ETIMEDOUT;
    r = waitReadable(fd, int(left));
    if (r < 0) return r;
    ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) {  // an overrun of exit events: not our answer, keep waiting
        if (other) other(ctx, nullptr, 0, -ENOBUFS);
        continue;
      }
      return -errno;
    }
    size_t len = size_t(got) > sizeof buf ? sizeof buf : size_t(got);
    Msg m;
    size_t next;
    if (parseMsg(buf, len, 0, familyId, &m, &next) == ParseStatus::Ok && m.type == NLMSG_ERROR &&
        m.seq == seq) {
      return -m.error;
    }
    if (other) other(ctx, buf, len, size_t(got) > sizeof buf ? MSG_TRUNC : 0);
  }
}

int resolveFamily(int fd, const char* name, int timeoutMs) {
  uint8_t req[128];
  static uint32_t seqGen = 0x7000;
  uint32_t seq = ++seqGen;
  size_t n = buildRequest(req, sizeof req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, seq,
                          CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
  int r = sendAll(fd, req, n);
  if (r < 0) return r;
  uint8_t buf[8192];
  int64_t deadline = nowMs() + timeoutMs;
  for (;;) {
    int64_t left = deadline - nowMs();
    if (left <= 0) return -ETIMEDOUT;
    r = waitReadable(fd, int(left));
    if (r < 0) return r;
    ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    size_t len = size_t(got);
    if (len < kNlHdr + kGenlHdr) continue;
    if (rd32(buf + 8) != seq) continue;
    uint16_t type = rd16(buf + 4);
    if (type == NLMSG_ERROR) {
      int32_t err;
      if (len < kNlHdr + 4) return -EIO;
      memcpy(&err, buf + kNlHdr, 4);
      return err < 0 ? err : -EIO;
    }
    if (type != GENL_ID_CTRL) continue;
    size_t msgLen = rd32(buf);
    if (msgLen > len) msgLen = len;
    Attr a;
    size_t p = kNlHdr + kGenlHdr;
    while (nextAttr(buf, p, msgLen, &a) == AttrStep::Ok) {
      if (a.type == CTRL_ATTR_FAMILY_ID && a.payloadLen >= 2) return rd16(buf + a.payload);
      p = a.next;
    }
    return -EIO;
  }
}

int64_t socketDrops(int fd) {
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t l = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &l) < 0) return -errno;
  if (l <= SK_MEMINFO_DROPS * sizeof(uint32_t)) return -ENOTSUP;
  return mem[SK_MEMINFO_DROPS];
}

}  // namespace nl
