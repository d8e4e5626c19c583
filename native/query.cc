#include "query.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"
#include "nl.h"

namespace {

// Requests in flight per sendmmsg/recvmmsg round. The kernel answers a GET inside
// sendmsg, so a window's replies are queued before sendmmsg returns; the receive
// buffer is sized to hold a whole window with room to spare.
constexpr size_t kWindow = 64;
constexpr size_t kReqBytes = 32;
constexpr size_t kRecvSlot = 4096;  // a v16 reply is 596 bytes; v17 ~ 730
constexpr int kRcvbufBytes = 4 << 20;

void putEntry(std::vector<uint8_t>& out, size_t i, int32_t status, uint32_t off, uint32_t len) {
  QueryEntry e{status, off, len};
  memcpy(out.data() + i * kQueryEntryBytes, &e, sizeof e);
}

uint32_t appendPayload(std::vector<uint8_t>& out, const uint8_t* p, size_t len) {
  size_t off = (out.size() + 7) & ~size_t(7);
  out.resize(off + len);
  memcpy(out.data() + off, p, len);
  return uint32_t(off);
}

class QueryWorker : public Napi::AsyncWorker {
 public:
  QueryWorker(Napi::Env env, QuerySocket* sock, Napi::Object keep, QueryRequest req)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), sock_(sock),
        req_(std::move(req)) {
    keep_ = Napi::Persistent(keep);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { sock_->runBatch(req_, out_); }
  void OnOK() override {
    sock_->endBatch();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(Env(), out_.size());
    memcpy(ab.Data(), out_.data(), out_.size());
    deferred_.Resolve(ab);
  }
  void OnError(const Napi::Error& e) override {
    sock_->endBatch();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  QuerySocket* sock_;
  Napi::ObjectReference keep_;  // keeps the socket object alive while we run
  QueryRequest req_;
  std::vector<uint8_t> out_;
};

}  // namespace

Napi::Function QuerySocket::Init(Napi::Env env) {
  return DefineClass(env, "QuerySocket",
                     {InstanceMethod("querySync", &QuerySocket::QuerySync),
                      InstanceMethod("query", &QuerySocket::Query),
                      InstanceMethod("close", &QuerySocket::Close),
                      InstanceMethod("info", &QuerySocket::Info)});
}

QuerySocket::QuerySocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<QuerySocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsNumber()) timeoutMs_ = info[0].As<Napi::Number>().Int32Value();
  if (timeoutMs_ <= 0) timeoutMs_ = 1000;
  int fd = nl::openSocket(kRcvbufBytes, true, timeoutMs_, &portid_);
  if (fd < 0) {
    throwErrno(env, -fd, "socket(NETLINK_GENERIC)");
    return;
  }
  int fam = nl::resolveFamily(fd, "TASKSTATS", timeoutMs_);
  if (fam < 0) {
    close(fd);
    throwErrno(env, -fam, "resolve generic netlink family TASKSTATS");
    return;
  }
  fd_ = fd;
  family_ = uint16_t(fam);
}

QuerySocket::~QuerySocket() {
  if (fd_ >= 0) close(fd_);
}

Napi::Value QuerySocket::Close(const Napi::CallbackInfo& info) {
  if (busy_.load()) {
    Napi::Error::New(info.Env(), "QuerySocket.close: a batch is still running").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

Napi::Value QuerySocket::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("familyId", family_);
  o.Set("portId", portid_);
  int rb = 0;
  socklen_t l = sizeof rb;
  if (fd_ >= 0) getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rb, &l);
  o.Set("rcvbufBytes", rb);
  o.Set("overruns", double(overruns_));
  o.Set("timeouts", double(timeouts_));
  return o;
}

bool QuerySocket::parseArgs(const Napi::CallbackInfo& info, QueryRequest* req) {
  Napi::Env env = info.Env();
  if (fd_ < 0) {
    Napi::Error::New(env, "QuerySocket is closed").ThrowAsJavaScriptException();
    return false;
  }
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
    Napi::TypeError::New(env, "query(ids: Uint32Array, tgid: Uint8Array)").ThrowAsJavaScriptException();
    return false;
  }
  auto ids = info[0].As<Napi::TypedArray>();
  auto kinds = info[1].As<Napi::TypedArray>();
  if (ids.TypedArrayType() != napi_uint32_array || kinds.TypedArrayType() != napi_uint8_array ||
      ids.ElementLength() != kinds.ElementLength()) {
    Napi::TypeError::New(env, "query(ids: Uint32Array, tgid: Uint8Array) of equal length")
        .ThrowAsJavaScriptException();
    return false;
  }
  auto idArr = info[0].As<Napi::Uint32Array>();
  auto kArr = info[1].As<Napi::Uint8Array>();
  req->ids.assign(idArr.Data(), idArr.Data() + idArr.ElementLength());
  req->tgid.assign(kArr.Data(), kArr.Data() + kArr.ElementLength());
  return true;
}

Napi::Value QuerySocket::QuerySync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QueryRequest req;
  if (!parseArgs(info, &req)) return env.Undefined();
  if (busy_.exchange(true)) {
    Napi::Error::New(env, "QuerySocket: a batch is already running").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint8_t> out;
  runBatch(req, out);
  busy_.store(false);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, out.size());
  memcpy(ab.Data(), out.data(), out.size());
  return ab;
}

Napi::Value QuerySocket::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  QueryRequest req;
  if (!parseArgs(info, &req)) return env.Undefined();
  if (busy_.exchange(true)) {
    Napi::Error::New(env, "QuerySocket: a batch is already running").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new QueryWorker(env, this, info.This().As<Napi::Object>(), std::move(req));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// The slow path, one id at a time with a blocking receive: used when a window lost
// replies to a receive-queue overrun.
int QuerySocket::queryOne(uint32_t id, bool tgid, uint32_t seq, std::vector<uint8_t>& out,
                          uint32_t* off, uint32_t* len) {
  uint8_t req[kReqBytes];
  size_t n = nl::buildRequest(req, sizeof req, family_, nl::TASKSTATS_CMD_GET, 0, seq,
                              tgid ? nl::TASKSTATS_CMD_ATTR_TGID : nl::TASKSTATS_CMD_ATTR_PID, &id, 4);
  ssize_t r;
  do { r = send(fd_, req, n, 0); } while (r < 0 && errno == EINTR);
  if (r < 0) return errno;
  static thread_local uint8_t buf[kRecvSlot];
  for (;;) {
    struct pollfd p = {fd_, POLLIN, 0};
    int pr = poll(&p, 1, timeoutMs_);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) { timeouts_++; return ETIMEDOUT; }
    ssize_t got = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) { overruns_++; continue; }
      return errno;
    }
    nl::Msg m;
    size_t next;
    if (nl::parseMsg(buf, size_t(got), 0, family_, &m, &next) != nl::ParseStatus::Ok) continue;
    if (m.seq != seq) continue;  // a late reply to an earlier request
    if (m.type == NLMSG_ERROR) return m.error ? m.error : EIO;
    const nl::Aggr& a = tgid ? m.tgid : m.pid;
    if (m.type != family_ || !a.present) return EIO;
    *off = appendPayload(out, buf + a.statsOffset, a.statsLen);
    *len = a.statsLen;
    return 0;
  }
}

void QuerySocket::runBatch(const QueryRequest& req, std::vector<uint8_t>& out) {
  size_t n = req.ids.size();
  out.assign(n * kQueryEntryBytes, 0);
  std::vector<uint8_t> reqBuf(kWindow * kReqBytes);
  std::vector<uint8_t> rcvBuf(kWindow * kRecvSlot);
  struct mmsghdr smsg[kWindow], rmsg[kWindow];
  struct iovec siov[kWindow], riov[kWindow];
  bool done[kWindow];

  for (size_t base = 0; base < n; base += kWindow) {
    size_t w = n - base < kWindow ? n - base : kWindow;
    uint32_t seq0 = seq_;
    seq_ += uint32_t(w);
    for (size_t i = 0; i < w; i++) {
      uint32_t id = req.ids[base + i];
      bool tg = req.tgid[base + i] != 0;
      uint8_t* rb = reqBuf.data() + i * kReqBytes;
      size_t len = nl::buildRequest(rb, kReqBytes, family_, nl::TASKSTATS_CMD_GET, 0, seq0 + uint32_t(i),
                                    tg ? nl::TASKSTATS_CMD_ATTR_TGID : nl::TASKSTATS_CMD_ATTR_PID, &id, 4);
      siov[i] = {rb, len};
      memset(&smsg[i], 0, sizeof smsg[i]);
      smsg[i].msg_hdr.msg_iov = &siov[i];
      smsg[i].msg_hdr.msg_iovlen = 1;
      done[i] = false;
    }
    size_t sent = 0;
    int sendErr = 0;
    while (sent < w) {
      int r = sendmmsg(fd_, smsg + sent, unsigned(w - sent), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        sendErr = errno;
        break;
      }
      sent += size_t(r);
    }
    for (size_t i = sent; i < w; i++) {
      putEntry(out, base + i, sendErr ? sendErr : EIO, 0, 0);
      done[i] = true;
    }
    size_t answered = w - sent;
    bool overrun = false;
    while (answered < w) {
      for (size_t i = 0; i < kWindow; i++) {
        riov[i] = {rcvBuf.data() + i * kRecvSlot, kRecvSlot};
        memset(&rmsg[i], 0, sizeof rmsg[i]);
        rmsg[i].msg_hdr.msg_iov = &riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 1;
      }
      int r = recvmmsg(fd_, rmsg, unsigned(w - answered), MSG_DONTWAIT, nullptr);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) { overrun = true; overruns_++; continue; }
        if (errno != EAGAIN) break;
        if (overrun) break;  // lost replies will not come: retry them one by one
        struct pollfd p = {fd_, POLLIN, 0};
        int pr = poll(&p, 1, timeoutMs_);
        if (pr <= 0 && !(pr < 0 && errno == EINTR)) break;
        continue;
      }
      for (int k = 0; k < r; k++) {
        const uint8_t* buf = rcvBuf.data() + size_t(k) * kRecvSlot;
        size_t len = rmsg[k].msg_len;
        if (rmsg[k].msg_hdr.msg_flags & MSG_TRUNC) continue;  // cannot happen at 4 KiB; never trust it
        nl::Msg m;
        size_t next;
        if (nl::parseMsg(buf, len, 0, family_, &m, &next) != nl::ParseStatus::Ok) continue;
        uint32_t i = m.seq - seq0;
        if (i >= w || done[i]) continue;  // a late reply to an earlier batch
        bool tg = req.tgid[base + i] != 0;
        if (m.type == NLMSG_ERROR) {
          putEntry(out, base + i, m.error ? m.error : EIO, 0, 0);
        } else {
          const nl::Aggr& a = tg ? m.tgid : m.pid;
          if (m.type == family_ && a.present) {
            uint32_t off = appendPayload(out, buf + a.statsOffset, a.statsLen);
            putEntry(out, base + i, 0, off, a.statsLen);
          } else {
            putEntry(out, base + i, EIO, 0, 0);
          }
        }
        done[i] = true;
        answered++;
      }
    }
    for (size_t i = 0; i < w; i++) {
      if (done[i]) continue;
      uint32_t off = 0, len = 0;
      int e = queryOne(req.ids[base + i], req.tgid[base + i] != 0, seq_++, out, &off, &len);
      putEntry(out, base + i, e, off, len);
    }
  }
}
