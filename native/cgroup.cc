#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "errors.h"
#include "nl.h"
#include "transport.h"

namespace {

// From include/uapi/linux/cgroupstats.h (distro headers may lack or lag it).
constexpr uint8_t CGROUPSTATS_CMD_GET = 4;
constexpr uint8_t CGROUPSTATS_CMD_NEW = 5;
constexpr uint16_t CGROUPSTATS_CMD_ATTR_FD = 1;
constexpr uint16_t CGROUPSTATS_TYPE_CGROUP_STATS = 1;
constexpr int kTimeoutMs = 1000;
constexpr size_t kReplySlotBytes = 8192;

// Closes what it holds on every path out.
struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

// The answer to CGROUPSTATS_CMD_GET: the stats payload, or a positive errno.
struct CgroupReply : nl::Handler {
  uint16_t family;
  std::string* out;
  int error = EIO;
  CgroupReply(uint16_t f, std::string* o) : family(f), out(o) {}
  bool reply(const nl::Reply& r) override {
    size_t payload, payloadLen;
    if (r.truncated || r.status != nl::ParseStatus::Ok) {
      error = r.truncated ? EMSGSIZE : EIO;
    } else if (r.m.type == NLMSG_ERROR) {
      error = r.m.error ? r.m.error : EIO;
    } else if (r.m.type == family && r.m.cmd == CGROUPSTATS_CMD_NEW &&
               nl::findAttr(r.buf, nl::kGenlPayload, r.m.len, CGROUPSTATS_TYPE_CGROUP_STATS, &payload, &payloadLen)) {
      out->assign(reinterpret_cast<const char*>(r.buf + payload), payloadLen);
      error = 0;
    }
    return true;
  }
};

// Ask the kernel; on success *out holds the stats payload. Returns 0 or a positive errno.
int query(const std::string& path, std::string* out, const char** what) {
  Fd dir;
  *what = "open";
  dir.fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd < 0) return errno;
  nl::NetlinkSocket sock;
  int r = sock.open(0, false, what);
  if (r < 0) return -r;
  *what = "resolve generic netlink family TASKSTATS";
  int fam = nl::resolveFamily(sock, "TASKSTATS", kTimeoutMs);
  if (fam < 0) return -fam;
  *what = "CGROUPSTATS_CMD_GET";
  uint32_t fd32 = uint32_t(dir.fd);
  nl::Request q{uint16_t(fam), CGROUPSTATS_CMD_GET, 0, 1, CGROUPSTATS_CMD_ATTR_FD, &fd32, sizeof fd32};
  nl::RecvBuffers rb(1, kReplySlotBytes);
  CgroupReply answer(uint16_t(fam), out);
  r = nl::request(sock, rb, q, nl::Deadline::in(kTimeoutMs), answer);
  return r < 0 ? -r : answer.error;
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
