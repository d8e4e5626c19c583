// Netlink plumbing for taskstats: sockets, framing and a bounded attribute walker.
// Knows the wire protocol and nothing about struct taskstats fields (those live in
// src/kernel/layout.ts, the project's single layout table).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace nl {

// Wire constants from include/uapi/linux/taskstats.h and genetlink.h; defined here
// because distro headers lag the kernel (this machine's /usr/include is v13).
constexpr uint16_t GENL_ID_CTRL = 0x10;
constexpr uint8_t CTRL_CMD_GETFAMILY = 3;
constexpr uint16_t CTRL_ATTR_FAMILY_ID = 1;
constexpr uint16_t CTRL_ATTR_FAMILY_NAME = 2;
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
// checked against the remaining length; nothing is trusted.
ParseStatus parseMsg(const uint8_t* buf, size_t len, size_t off, uint16_t familyId, Msg* out,
                     size_t* next);

// The first attribute of `type` among the attributes in buf[off, end), walked with the
// same bounded checks as parseMsg. Returns false when absent or malformed.
bool findAttr(const uint8_t* buf, size_t off, size_t end, uint16_t type, size_t* payload, size_t* payloadLen);

// Resolve a generic-netlink family id by name. Returns the id, or -errno
// (-ENOENT when the kernel has no such family, e.g. without CONFIG_TASKSTATS).
int resolveFamily(int fd, const char* name, int timeoutMs);

// A bound NETLINK_GENERIC socket with a receive timeout. Returns fd or -errno.
int openSocket(int rcvbufBytes, bool force, int timeoutMs, uint32_t* portidOut);

// Build a genl request carrying one attribute into buf; returns its length.
size_t buildRequest(uint8_t* buf, size_t cap, uint16_t familyId, uint8_t cmd, uint16_t flags,
                    uint32_t seq, uint16_t attrType, const void* attr, size_t attrLen);

// Send a request and wait for its ACK/error (matched by seq), with a timeout.
// Messages that are not the answer are handed to `other` (may be null) and then skipped.
// Returns 0, or -errno (the kernel's answer, or -ETIMEDOUT/-EIO).
using OtherFn = void (*)(void* ctx, const uint8_t* buf, size_t len, int flags);
int requestAck(int fd, uint16_t familyId, uint8_t cmd, uint16_t attrType, const void* attr,
               size_t attrLen, uint32_t seq, OtherFn other, void* ctx);

// Kernel drop counter of a socket (the Drops column of /proc/net/netlink), via SO_MEMINFO.
int64_t socketDrops(int fd);

}  // namespace nl
