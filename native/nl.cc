#include "nl.h"

#include <string.h>

namespace nl {

namespace {

// Where each header field sits, from the structs themselves.
constexpr size_t kLenAt = offsetof(struct nlmsghdr, nlmsg_len);
constexpr size_t kTypeAt = offsetof(struct nlmsghdr, nlmsg_type);
constexpr size_t kFlagsAt = offsetof(struct nlmsghdr, nlmsg_flags);
constexpr size_t kSeqAt = offsetof(struct nlmsghdr, nlmsg_seq);
constexpr size_t kPortAt = offsetof(struct nlmsghdr, nlmsg_pid);
constexpr size_t kCmdAt = kNlmsgHdrLen + offsetof(struct genlmsghdr, cmd);
constexpr size_t kVersionAt = kNlmsgHdrLen + offsetof(struct genlmsghdr, version);
constexpr size_t kNlaLenAt = offsetof(struct nlattr, nla_len);
constexpr size_t kNlaTypeAt = offsetof(struct nlattr, nla_type);
constexpr uint8_t kCtrlVersion = 1;  // the nlctrl family's genl version

// NLMSG_ALIGN and NLA_ALIGN (both 4), in size_t: NLMSG_ALIGN's mask is a 32-bit unsigned.
inline size_t align4(size_t n) { return (n + NLMSG_ALIGNTO - 1) & ~size_t(NLMSG_ALIGNTO - 1); }

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
  if (end - off < kNlaHdrLen) return AttrStep::Bad;
  uint16_t nlaLen = rd16(buf + off + kNlaLenAt);
  // nla_len 0..3 would never advance: reject instead of looping.
  if (nlaLen < kNlaHdrLen || nlaLen > end - off) return AttrStep::Bad;
  a->type = rd16(buf + off + kNlaTypeAt) & NLA_TYPE_MASK;  // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
  a->payload = off + kNlaHdrLen;
  a->payloadLen = nlaLen - kNlaHdrLen;
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
      if (a.payloadLen < sizeof(uint32_t)) return ParseStatus::BadAttr;
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
  if (off > len || len - off < kNlmsgHdrLen) return ParseStatus::Truncated;
  uint32_t msgLen = rd32(buf + off + kLenAt);
  // The header is readable from here on: a caller can match seq and port of a bad message.
  out->len = msgLen;
  out->type = rd16(buf + off + kTypeAt);
  out->flags = rd16(buf + off + kFlagsAt);
  out->seq = rd32(buf + off + kSeqAt);
  out->portid = rd32(buf + off + kPortAt);
  if (msgLen < kNlmsgHdrLen || msgLen > len - off) return ParseStatus::BadLength;
  size_t end = off + msgLen;
  size_t adv = align4(msgLen);
  *next = adv > len - off ? len : off + adv;

  if (out->type == NLMSG_ERROR) {
    if (msgLen < kNlmsgErrLen) return ParseStatus::BadLength;
    int32_t err = int32_t(rd32(buf + off + kNlmsgHdrLen));  // struct nlmsgerr starts with it
    // -INT32_MIN overflows (undefined behaviour): no errno is that large, so clamp.
    out->error = err == INT32_MIN ? INT32_MAX : err < 0 ? -err : err;
    return ParseStatus::Ok;
  }
  if (out->type == NLMSG_NOOP || out->type == NLMSG_DONE || out->type == NLMSG_OVERRUN)
    return ParseStatus::Ok;
  if (out->type != familyId && out->type != GENL_ID_CTRL) return ParseStatus::Ok;  // unknown: caller skips
  if (msgLen < kGenlPayload) return ParseStatus::BadLength;
  out->cmd = buf[off + kCmdAt];
  // nlctrl's attributes are not taskstats': a family lookup reads them itself (findAttr).
  if (out->type != familyId || familyId == GENL_ID_CTRL) return ParseStatus::Ok;

  Attr a;
  AttrStep st;
  size_t p = off + kGenlPayload;
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

size_t buildRequest(uint8_t* buf, size_t cap, const Request& r) {
  size_t total = requestLen(r);
  if (total > cap || kNlaHdrLen + r.attrLen > UINT16_MAX) return 0;
  memset(buf, 0, total);
  wr32(buf + kLenAt, uint32_t(total));
  wr16(buf + kTypeAt, r.family);
  wr16(buf + kFlagsAt, uint16_t(NLM_F_REQUEST | r.flags));
  wr32(buf + kSeqAt, r.seq);
  wr32(buf + kPortAt, 0);  // to the kernel
  buf[kCmdAt] = r.cmd;
  buf[kVersionAt] = r.family == GENL_ID_CTRL ? kCtrlVersion : TASKSTATS_GENL_VERSION;
  uint8_t* nla = buf + kGenlPayload;
  wr16(nla + kNlaLenAt, uint16_t(kNlaHdrLen + r.attrLen));
  wr16(nla + kNlaTypeAt, r.attrType);
  if (r.attrLen) memcpy(nla + kNlaHdrLen, r.attr, r.attrLen);
  return total;
}

}  // namespace nl
