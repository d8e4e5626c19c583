#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "errors.h"
#include "nl.h"

namespace {

// From include/uapi/linux/cgroupstats.h (distro headers may lack or lag it).
constexpr uint8_t CGROUPSTATS_CMD_GET = 4;
constexpr uint8_t CGROUPSTATS_CMD_NEW = 5;
constexpr uint16_t CGROUPSTATS_CMD_ATTR_FD = 1;
constexpr uint16_t CGROUPSTATS_TYPE_CGROUP_STATS = 1;
constexpr int kTimeoutMs = 1000;

// Closes what it holds on every path out.
struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

// Ask the kernel; on success *out holds the stats payload. Returns 0 or a positive errno.
int query(const std::string& path, std::string* out, const char** what) {
  Fd dir;
  *what = "open";
  dir.fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd < 0) return errno;
  Fd sock;
  *what = "socket(NETLINK_GENERIC)";
  uint32_t portid = 0;
  sock.fd = nl::openSocket(0, false, kTimeoutMs, &portid);
  if (sock.fd < 0) return -sock.fd;
  *what = "resolve generic netlink family TASKSTATS";
  int fam = nl::resolveFamily(sock.fd, "TASKSTATS", kTimeoutMs);
  if (fam < 0) return -fam;
  *what = "CGROUPSTATS_CMD_GET";
  uint8_t req[64];
  const uint32_t seq = 1;
  uint32_t fd32 = uint32_t(dir.fd);
  size_t n = nl::buildRequest(req, sizeof req, uint16_t(fam), CGROUPSTATS_CMD_GET, 0, seq,
                              CGROUPSTATS_CMD_ATTR_FD, &fd32, sizeof fd32);
  ssize_t r;
  do { r = send(sock.fd, req, n, 0); } while (r < 0 && errno == EINTR);
  if (r < 0) return errno;
  uint8_t buf[8192];
  for (;;) {
    struct pollfd p = {sock.fd, POLLIN, 0};
    int pr = poll(&p, 1, kTimeoutMs);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return ETIMEDOUT;
    ssize_t got = recv(sock.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno;
    }
    nl::Msg m;
    size_t next;
    if (nl::parseMsg(buf, size_t(got), 0, uint16_t(fam), &m, &next) != nl::ParseStatus::Ok) return EIO;
    if (m.seq != seq) continue;
    if (m.type == NLMSG_ERROR) return m.error ? m.error : EIO;
    if (m.type != fam || m.cmd != CGROUPSTATS_CMD_NEW) return EIO;
    uint32_t msgLen;
    memcpy(&msgLen, buf, 4);  // parseMsg checked it against the datagram
    size_t payload, payloadLen;
    if (!nl::findAttr(buf, 16 + 4 /* nlmsghdr + genlmsghdr */, msgLen, CGROUPSTATS_TYPE_CGROUP_STATS, &payload, &payloadLen))
      return EIO;
    out->assign(reinterpret_cast<const char*>(buf + payload), payloadLen);
    return 0;
  }
}

}  // namespace

Napi::Value CgroupStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "cgroupStats(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string payload;
  const char* what = "";
  int e = query(path, &payload, &what);
  if (e) {
    throwErrno(env, e, std::string(what) + " " + path);
    return env.Undefined();
  }
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, payload.size());
  memcpy(ab.Data(), payload.data(), payload.size());
  return ab;
}
