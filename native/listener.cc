#include "listener.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "errors.h"
#include "nl.h"

namespace {

constexpr size_t kSlots = 16;
constexpr size_t kSlotBytes = 8192;  // a v17 datagram with both records is ~1.4 KiB
// After a read that found exits, wait this long before the next poll so a storm is read
// in recvmmsg batches instead of one wake-up (poll + recvmmsg) per exit (the saving:
// docs/performance.md). Only on buffers of kCoalesceMinRcvbuf or more,
// which hold thousands of datagrams: 1 ms of even a 100,000 exits/s storm is ~100 of them.
constexpr long kCoalesceNs = 1000000;
constexpr int kCoalesceMinRcvbuf = 1 << 20;

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

uint64_t realtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Last-resort deregistration at exit(): a process that leaves without close() must not
// leave a stale registration behind (the kernel only purges those lazily).
std::mutex gLiveMu;
struct LiveSocket { int fd; uint16_t family; std::string cpu; };
std::vector<LiveSocket> gLiveSockets;  // guarded by gLiveMu
bool gAtexitInstalled = false;

void atexitDeregister() {
  std::lock_guard<std::mutex> g(gLiveMu);
  for (auto& s : gLiveSockets) {
    uint8_t req[256];
    size_t n = nl::buildRequest(req, sizeof req, s.family, nl::TASKSTATS_CMD_GET, 0, 0,
                                nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, s.cpu.c_str(), s.cpu.size() + 1);
    if (n) send(s.fd, req, n, MSG_DONTWAIT);
  }
}

void cleanupHook(void* arg) {
  static_cast<Listener*>(arg)->onEnvCleanup();
}

struct Ctx { Listener* self; CpuReader* r; };

}  // namespace

Napi::Function Listener::Init(Napi::Env env) {
  return DefineClass(env, "Listener",
                     {InstanceMethod("drain", &Listener::Drain),
                      InstanceMethod("close", &Listener::Close),
                      InstanceMethod("info", &Listener::Info)});
}

// new Listener(cpus: number[], opts, notify: () => void)
Listener::Listener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Listener>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsObject() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "new Listener(cpus: number[], opts: object, notify: function)")
        .ThrowAsJavaScriptException();
    return;
  }
  Napi::Array cpus = info[0].As<Napi::Array>();
  Napi::Object opts = info[1].As<Napi::Object>();
  int rcvbuf = opts.Has("rcvbufBytes") ? opts.Get("rcvbufBytes").As<Napi::Number>().Int32Value() : 0;
  bool force = opts.Has("forceRcvbuf") && opts.Get("forceRcvbuf").ToBoolean();
  pin_ = opts.Has("pin") && opts.Get("pin").ToBoolean();
  realtime_ = !opts.Has("realtime") || opts.Get("realtime").ToBoolean();
  if (opts.Has("maxQueueBytes"))
    maxQueueBytes_ = size_t(opts.Get("maxQueueBytes").As<Napi::Number>().Int64Value());
  if (opts.Has("possible")) possible_ = opts.Get("possible").ToString().Utf8Value();

  int probe = nl::openSocket(0, false, 1000, nullptr);
  if (probe < 0) { throwErrno(env, -probe, "socket(NETLINK_GENERIC)"); return; }
  int fam = nl::resolveFamily(probe, "TASKSTATS", 1000);
  close(probe);
  if (fam < 0) { throwErrno(env, -fam, "resolve generic netlink family TASKSTATS"); return; }
  family_ = uint16_t(fam);

  for (uint32_t i = 0; i < cpus.Length(); i++) {
    auto r = std::make_unique<CpuReader>();
    r->cpu = cpus.Get(i).As<Napi::Number>().Int32Value();
    int fd = nl::openSocket(rcvbuf, force, 0, &r->portid);
    if (fd < 0) { stopAll(); throwErrno(env, -fd, "socket(NETLINK_GENERIC)"); return; }
    r->fd = fd;
    socklen_t l = sizeof r->rcvbufBytes;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &r->rcvbufBytes, &l);
    r->wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    readers_.push_back(std::move(r));
  }

  tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "delaytop-exits", 0, 1);
  tsfn_.Unref(env);  // JS decides what keeps the process alive
  tsfnLive_ = true;
  napi_add_env_cleanup_hook(env, cleanupHook, this);
  hookLive_ = true;
  {
    std::lock_guard<std::mutex> g(gLiveMu);
    if (!gAtexitInstalled) { atexit(atexitDeregister); gAtexitInstalled = true; }
  }

  for (auto& r : readers_) {
    CpuReader* rp = r.get();
    rp->thread = std::thread([this, rp] { readerMain(rp); });
  }
  // Wait for every reader to register from its own socket.
  std::unique_lock<std::mutex> lk(regMu_);
  bool all = regCv_.wait_for(lk, std::chrono::seconds(5), [this] {
    for (auto& r : readers_) if (!r->registerDone) return false;
    return true;
  });
  lk.unlock();
  for (auto& r : readers_) {
    int e = !all && !r->registerDone ? ETIMEDOUT : r->registerError;
    if (e) {
      stopAll();
      Napi::Error err = errnoError(env, e, "register cpumask " + std::to_string(r->cpu));
      err.Set("cpu", Napi::Number::New(env, r->cpu));
      err.ThrowAsJavaScriptException();
      return;
    }
  }
}

Listener::~Listener() {
  stopAll();
  if (tsfnLive_) { tsfn_.Release(); tsfnLive_ = false; }
  if (hookLive_) { napi_remove_env_cleanup_hook(Env(), cleanupHook, this); hookLive_ = false; }
}

void Listener::readerMain(CpuReader* r) {
  if (pin_) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(r->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort
  }
  if (realtime_) {
    // The kernel schedules each terminal session as a group: a listener in another session
    // than an exit storm gets almost no CPU while it lasts, and its queue overflows. The
    // lowest real-time priority lets it keep up; it reads in batches and sleeps between
    // them, and the kernel caps real-time threads at 95% anyway.
    struct sched_param sp;
    sp.sched_priority = 1;
    r->realtimeError = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  }
  Ctx ctx{this, r};
  auto other = [](void* c, const uint8_t* buf, size_t len, int flags) {
    Ctx* x = static_cast<Ctx*>(c);
    if (!buf) { x->r->counters[kEnobufs]++; return; }
    x->self->handleDatagram(x->r, buf, len, flags);
  };
  // A stale registration left on this port id by a dead process would send us CPUs we
  // never asked for: clear every CPU for our port id first.
  if (!possible_.empty())
    nl::requestAck(r->fd, family_, nl::TASKSTATS_CMD_GET, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK,
                   possible_.c_str(), possible_.size() + 1, 1, other, &ctx);
  std::string mask = std::to_string(r->cpu);
  int e = nl::requestAck(r->fd, family_, nl::TASKSTATS_CMD_GET, nl::TASKSTATS_CMD_ATTR_REGISTER_CPUMASK,
                         mask.c_str(), mask.size() + 1, 2, other, &ctx);
  if (e == 0) {
    std::lock_guard<std::mutex> g(gLiveMu);
    gLiveSockets.push_back({r->fd, family_, mask});
  }
  {
    std::lock_guard<std::mutex> g(regMu_);
    r->registerError = -e;
    r->registered = e == 0;
    r->registerDone = true;
  }
  regCv_.notify_all();
  if (e) return;

  std::vector<uint8_t> bufs(kSlots * kSlotBytes);
  struct mmsghdr msgs[kSlots];
  struct iovec iov[kSlots];
  struct pollfd fds[2] = {{r->fd, POLLIN, 0}, {r->wakeFd, POLLIN, 0}};
  while (!stopping_.load()) {
    int pr = poll(fds, 2, -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    size_t got = 0;
    for (;;) {
      for (size_t i = 0; i < kSlots; i++) {
        iov[i] = {bufs.data() + i * kSlotBytes, kSlotBytes};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(r->fd, msgs, kSlots, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) { r->counters[kEnobufs]++; continue; }
        break;  // EAGAIN: queue empty
      }
      for (int i = 0; i < n; i++)
        handleDatagram(r, bufs.data() + size_t(i) * kSlotBytes, msgs[i].msg_len, msgs[i].msg_hdr.msg_flags);
      got += size_t(n);
      if (size_t(n) < kSlots) break;
    }
    if (got && r->rcvbufBytes >= kCoalesceMinRcvbuf) {
      struct timespec pause = {0, kCoalesceNs};
      ppoll(&fds[1], 1, &pause, nullptr);  // close() still wakes us at once
    }
  }
  // Deregister from the same socket; exits that arrive meanwhile are still delivered.
  e = nl::requestAck(r->fd, family_, nl::TASKSTATS_CMD_GET, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK,
                     mask.c_str(), mask.size() + 1, 3, other, &ctx);
  r->deregisterError = -e;
  r->registered = e != 0;
  std::lock_guard<std::mutex> g(gLiveMu);
  for (auto it = gLiveSockets.begin(); it != gLiveSockets.end(); ++it)
    if (it->fd == r->fd) { gLiveSockets.erase(it); break; }
}

void Listener::handleDatagram(CpuReader* r, const uint8_t* buf, size_t len, int flags) {
  auto trackSeq = [r](uint32_t seq) {
    if (r->haveSeq) {
      uint32_t gap = seq - r->lastSeq - 1;
      if (gap < 0x80000000u) r->counters[kSeqGapLost] += gap;
    }
    r->lastSeq = seq;
    r->haveSeq = true;
  };
  size_t off = 0;
  while (off < len) {
    nl::Msg m;
    size_t next;
    nl::ParseStatus s = nl::parseMsg(buf, len, off, family_, &m, &next);
    bool isExit = m.type == family_ && m.portid == 0;
    if (flags & MSG_TRUNC) {
      // Received but cut short: count it lost once, and keep the seq chain whole.
      r->counters[kTruncated]++;
      if (s != nl::ParseStatus::Truncated && isExit) trackSeq(m.seq);
      return;
    }
    if (s != nl::ParseStatus::Ok) {
      r->counters[kMalformed]++;
      if (s == nl::ParseStatus::BadAttr && isExit) trackSeq(m.seq);
      return;
    }
    if (isExit && m.cmd == nl::TASKSTATS_CMD_NEW && m.pid.present) {
      trackSeq(m.seq);
      enqueue(r, m.seq, buf, m.pid.statsOffset, m.pid.statsLen, m.pid.id, m.tgid.statsOffset,
              m.tgid.present ? m.tgid.statsLen : 0, m.tgid.present ? m.tgid.id : 0);
    } else {
      r->counters[kUnsolicited]++;
    }
    off = next;
  }
}

void Listener::enqueue(CpuReader* r, uint32_t seq, const uint8_t* buf, size_t pidOff, uint32_t pidLen,
                       uint32_t pid, size_t tgidOff, uint32_t tgidLen, uint32_t tgid) {
  size_t recLen = kRecHeader + align8(pidLen) + align8(tgidLen);
  {
    std::lock_guard<std::mutex> g(qMu_);
    if (queue_.size() + recLen > maxQueueBytes_) {
      r->counters[kQueueDropped]++;
      return;
    }
    size_t at = queue_.size();
    queue_.resize(at + recLen);
    uint8_t* p = queue_.data() + at;
    RecHeader h{uint32_t(recLen), uint32_t(r->cpu), seq, pid, tgid, pidLen, tgidLen, 0, realtimeNs()};
    memcpy(p, &h, sizeof h);
    memcpy(p + kRecHeader, buf + pidOff, pidLen);
    if (tgidLen) memcpy(p + kRecHeader + align8(pidLen), buf + tgidOff, tgidLen);
    r->counters[kReceived]++;
  }
  // One pending notification at a time: JS drains everything queued when it runs.
  if (!notified_.exchange(true)) {
    tsfn_.NonBlockingCall([](Napi::Env env, Napi::Function fn) {
      // During environment teardown JS cannot run: the call fails, and must not abort.
      if (!env || !fn) return;
      try {
        fn.Call({});
      } catch (const Napi::Error&) {
      }
    });
  }
}

Napi::Float64Array Listener::counterArray(Napi::Env env) {
  auto arr = Napi::Float64Array::New(env, readers_.size() * kCounterCount);
  for (size_t i = 0; i < readers_.size(); i++) {
    CpuReader* r = readers_[i].get();
    if (r->fd >= 0) {
      int64_t d = nl::socketDrops(r->fd);
      if (d >= 0) r->counters[kKernelDrops].store(uint64_t(d));
    }
    for (int c = 0; c < kCounterCount; c++) arr[i * kCounterCount + c] = double(r->counters[c].load());
  }
  return arr;
}

Napi::Value Listener::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  notified_.store(false);
  {
    std::lock_guard<std::mutex> g(qMu_);
    queue_.swap(spare_);  // the readers go on into the emptied spare, capacity kept
  }
  // A V8-owned copy: the engine accounts for it, and the buffers stay with the listener.
  Napi::ArrayBuffer data = Napi::ArrayBuffer::New(env, spare_.size());
  if (!spare_.empty()) memcpy(data.Data(), spare_.data(), spare_.size());
  spare_.clear();
  // after a storm, give the memory back rather than hold a storm-sized buffer for good
  if (spare_.capacity() > kKeepQueueBytes) std::vector<uint8_t>().swap(spare_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("counters", counterArray(env));
  return o;
}

Napi::Value Listener::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env, readers_.size());
  for (size_t i = 0; i < readers_.size(); i++) {
    CpuReader* r = readers_[i].get();
    Napi::Object o = Napi::Object::New(env);
    o.Set("cpu", r->cpu);
    o.Set("portId", r->portid);
    o.Set("rcvbufBytes", r->rcvbufBytes);
    o.Set("realtime", r->realtimeError == 0);
    o.Set("realtimeError", r->realtimeError > 0 ? errnoName(r->realtimeError) : "");
    o.Set("registered", r->registered);
    o.Set("deregisterError", r->deregisterError ? errnoName(r->deregisterError) : "");
    arr.Set(uint32_t(i), o);
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("readers", arr);
  res.Set("familyId", family_);
  res.Set("counterCount", int(kCounterCount));
  return res;
}

void Listener::onEnvCleanup() {
  hookLive_ = false;  // the hook has run: removing it again would be a double free
  stopAll();
}

void Listener::stopAll() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  for (auto& r : readers_) {
    if (r->wakeFd >= 0) {
      uint64_t one = 1;
      ssize_t ignored = write(r->wakeFd, &one, sizeof one);
      (void)ignored;
    }
  }
  for (auto& r : readers_)
    if (r->thread.joinable()) r->thread.join();
  for (auto& r : readers_) {
    if (r->fd >= 0) {
      int64_t d = nl::socketDrops(r->fd);
      if (d >= 0) r->counters[kKernelDrops].store(uint64_t(d));
      close(r->fd);
      r->fd = -1;
    }
    if (r->wakeFd >= 0) { close(r->wakeFd); r->wakeFd = -1; }
  }
}

Napi::Value Listener::Close(const Napi::CallbackInfo& info) {
  stopAll();
  if (tsfnLive_) { tsfn_.Release(); tsfnLive_ = false; }
  if (hookLive_) { napi_remove_env_cleanup_hook(info.Env(), cleanupHook, this); hookLive_ = false; }
  return info.Env().Undefined();
}
