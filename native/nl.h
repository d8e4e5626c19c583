// The netlink wire format for taskstats: framing and a bounded attribute walker. No
// sockets (transport.h) and nothing about struct taskstats fields (those live in
// src/kernel/layout.ts, the project's single layout table).
#pragma once
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>

// Header sizes from the uapi headers (glibc and musl systems both ship them); defined here
// only where an old set lacks one.
#ifndef NLMSG_HDRLEN
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#endif
#ifndef GENL_HDRLEN
#define GENL_HDRLEN NLMSG_ALIGN(sizeof(struct genlmsghdr))
#endif
#ifndef NLA_HDRLEN
#define NLA_HDRLEN ((int)NLA_ALIGN(sizeof(struct nlattr)))
#endif

namespace nl {

// The same sizes as size_t, for bounds arithmetic.
constexpr size_t kNlmsgHdrLen = NLMSG_HDRLEN;          // struct nlmsghdr
constexpr size_t kGenlHdrLen = GENL_HDRLEN;            // struct genlmsghdr
constexpr size_t kNlaHdrLen = NLA_HDRLEN;              // struct nlattr
constexpr size_t kGenlPayload = kNlmsgHdrLen + kGenlHdrLen;  // where a genl message's attributes start
constexpr size_t kNlmsgErrLen = kNlmsgHdrLen + sizeof(int32_t);  // NLMSG_ERROR up to its error code

// Wire constants from include/uapi/linux/taskstats.h; defined here because distro headers
// lag the kernel (this machine's /usr/include is v13). nlctrl's (GENL_ID_CTRL,
// CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_*) come from linux/genetlink.h.
constexpr uint8_t TASKSTATS_CMD_GET = 1;
constexpr uint8_t TASKSTATS_CMD_NEW = 2;
constexpr uint8_t TASKSTATS_GENL_VERSION = 1;
constexpr uint16_t TASKSTATS_CMD_ATTR_PID = 1;
constexpr uint16_t TASKSTATS_CMD_ATTR_TGID = 2;
constexpr uint16_t TASKSTATS_CMD_ATTR_REGISTER_CPUMASK = 3;
constexpr uint16_t TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK = 4;
constexpr uint16_t TASKSTATS_TYPE_PID = 1;
constexpr uint16_t TASKSTATS_TYPE_TGID = 2;
constexpr uint16_t TASKSTATS_TYPE_STATS = 3;
constexpr uint16_t TASKSTATS_TYPE_AGGR_PID = 4;
constexpr uint16_t TASKSTATS_TYPE_AGGR_TGID = 5;
constexpr uint16_t TASKSTATS_TYPE_NULL = 6;

// One AGGR_PID or AGGR_TGID nest: the id and where its STATS payload sits in the datagram.
struct Aggr {
  bool present = false;
  uint32_t id = 0;
  uint32_t statsOffset = 0;  // byte offset of the STATS payload inside the datagram
  uint32_t statsLen = 0;
};

// What one netlink message says, as far as taskstats cares.
struct Msg {
  uint32_t len = 0;        // nlmsg_len: within the datagram when parseMsg says Ok
  uint16_t type = 0;       // nlmsg_type
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t portid = 0;     // nlmsg_pid: 0 for kernel-originated exit events
  int error = 0;           // for NLMSG_ERROR: the positive errno (0 = ACK)
  uint8_t cmd = 0;         // genl command, when type is a genl family
  Aggr pid, tgid;
};

enum class ParseStatus { Ok, Truncated, BadLength, BadAttr };
const char* parseStatusText(ParseStatus s);

// Parse the netlink message starting at `off` inside buf[0..len). On Ok, *next is the
// offset of the following message (NLMSG_ALIGN'ed, possibly == len). Every read is
// checked against the remaining length; nothing is trusted. Unless Truncated, the header
// fields (len, type, flags, seq, portid) are filled even when the rest fails.
ParseStatus parseMsg(const uint8_t* buf, size_t len, size_t off, uint16_t familyId, Msg* out,
                     size_t* next);

// The first attribute of `type` among the attributes in buf[off, end), walked with the
// same bounded checks as parseMsg. Returns false when absent or malformed.
bool findAttr(const uint8_t* buf, size_t off, size_t end, uint16_t type, size_t* payload, size_t* payloadLen);

// One generic-netlink request carrying one attribute.
struct Request {
  uint16_t family;  // nlmsg_type: the genl family id (GENL_ID_CTRL for a family lookup)
  uint8_t cmd;
  uint16_t flags;   // besides NLM_F_REQUEST, e.g. NLM_F_ACK
  uint32_t seq;
  uint16_t attrType;
  const void* attr;
  size_t attrLen;
};

// The bytes `r` takes on the wire.
constexpr size_t requestLen(const Request& r) { return kGenlPayload + NLA_ALIGN(kNlaHdrLen + r.attrLen); }

// Build `r` into buf; returns its length, or 0 when it does not fit in cap.
size_t buildRequest(uint8_t* buf, size_t cap, const Request& r);

}  // namespace nl
