#include "listener.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <system_error>

#include "errors.h"
#include "nl.h"

namespace {

constexpr size_t kSlots = 16;
constexpr size_t kSlotBytes = 8192;  // a v17 datagram with both records is ~1.4 KiB
constexpr int kLookupTimeoutMs = 1000;
constexpr int kAckTimeoutMs = 2000;
// After a read that found exits, wait this long before the next poll so a storm is read
// in recvmmsg batches instead of one wake-up (poll + recvmmsg) per exit (the saving:
// docs/performance.md). Only on buffers of kCoalesceMinRcvbuf or more,
// which hold thousands of datagrams: 1 ms of even a 100,000 exits/s storm is ~100 of them.
constexpr long kCoalesceNs = 1000000;
constexpr int kCoalesceMinRcvbuf = 1 << 20;
// Each reader's requests on its own socket.
constexpr uint32_t kSeqClearStale = 1, kSeqRegister = 2, kSeqDeregister = 3;

nl::Request cpumaskRequest(uint16_t family, uint16_t attr, const std::string& mask, uint32_t seq) {
  return nl::Request{family, nl::TASKSTATS_CMD_GET, 0, seq, attr, mask.c_str(), mask.size() + 1};
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
    size_t n = nl::buildRequest(req, sizeof req,
                                cpumaskRequest(s.family, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, s.cpu, 0));
    // The process is ending: a failure has nowhere to go, and the kernel purges lazily anyway.
    if (n) (void)send(s.fd, req, n, MSG_DONTWAIT);
  }
}

void cleanupHook(void* arg) {
  static_cast<Listener*>(arg)->onEnvCleanup();
}

std::string errnoNameOr(int e, const char* none) { return e > 0 ? errnoName(e) : none; }

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
  queue_ = std::make_unique<ExitQueue>(maxQueueBytes_, [this] { notifyJs(); });

  {
    nl::NetlinkSocket probe;
    const char* what = "";
    int r = probe.open(0, false, &what);
    if (r < 0) { throwErrno(env, -r, what); return; }
    int fam = nl::resolveFamily(probe, "TASKSTATS", kLookupTimeoutMs);
    if (fam < 0) { throwErrno(env, -fam, "resolve generic netlink family TASKSTATS"); return; }
    family_ = uint16_t(fam);
  }

  for (uint32_t i = 0; i < cpus.Length(); i++) {
    readers_.push_back(std::make_unique<CpuReader>(cpus.Get(i).As<Napi::Number>().Int32Value(), family_, *queue_));
    CpuReader* r = readers_.back().get();
    const char* what = "";
    int e = r->sock.open(rcvbuf, force, &what);
    if (e == 0) {
      what = "getsockopt(SO_RCVBUF)";
      r->rcvbufBytes = r->sock.rcvbufBytes();
      if (r->rcvbufBytes < 0) e = r->rcvbufBytes;
    }
    if (e == 0) {
      what = "eventfd";
      // Without it nothing could wake the reader to stop: fail here, before any thread runs.
      r->wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (r->wakeFd < 0) e = -errno;
    }
    if (e < 0) { stopAll(); throwErrno(env, -e, what); return; }
  }

  tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "delaytop-exits", 0, 1);
  tsfn_.Unref(env);  // JS decides what keeps the process alive
  tsfnLive_ = true;
  if (napi_add_env_cleanup_hook(env, cleanupHook, this) != napi_ok) {
    stopAll();
    Napi::Error::New(env, "napi_add_env_cleanup_hook failed").ThrowAsJavaScriptException();
    return;
  }
  hookLive_ = true;
  {
    std::lock_guard<std::mutex> g(gLiveMu);
    if (!gAtexitInstalled) {
      if (atexit(atexitDeregister) != 0) {
        stopAll();
        Napi::Error::New(env, "atexit: no room for the exit-time deregistration").ThrowAsJavaScriptException();
        return;
      }
      gAtexitInstalled = true;
    }
  }

  for (auto& r : readers_) {
    CpuReader* rp = r.get();
    try {
      rp->thread = std::thread([this, rp] { readerMain(rp); });
    } catch (const std::system_error& e) {
      stopAll();
      throwErrno(env, e.code().value(), "std::thread (exit reader)");
      return;
    }
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
      Napi::Error err = errnoError(env, e, "register cpumask " + std::to_string(r->exits.cpu()));
      err.Set("cpu", Napi::Number::New(env, r->exits.cpu()));
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
    CPU_SET(r->exits.cpu(), &set);
    r->pinError = pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort: info() says
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
  nl::RecvBuffers rb(kSlots, kSlotBytes);
  // A stale registration left on this port id by a dead process would send us CPUs we
  // never asked for: clear every CPU for our port id first. If the kernel refuses, what
  // such an entry sends is counted as unsolicited; the registration below says what matters.
  if (!possible_.empty())
    nl::requestAck(r->sock, rb,
                   cpumaskRequest(family_, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, possible_, kSeqClearStale),
                   kAckTimeoutMs, &r->exits);
  std::string mask = std::to_string(r->exits.cpu());
  int e = nl::requestAck(r->sock, rb,
                         cpumaskRequest(family_, nl::TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, mask, kSeqRegister),
                         kAckTimeoutMs, &r->exits);
  if (e == 0) {
    std::lock_guard<std::mutex> g(gLiveMu);
    gLiveSockets.push_back({r->sock.fd(), family_, mask});
  }
  {
    std::lock_guard<std::mutex> g(regMu_);
    r->registerError = -e;
    r->registered = e == 0;
    r->registerDone = true;
  }
  regCv_.notify_all();
  if (e) return;

  r->readError = -r->exits.run(r->sock, rb, r->wakeFd, stopping_,
                               r->rcvbufBytes >= kCoalesceMinRcvbuf ? kCoalesceNs : 0);
  // Deregister from the same socket; exits that arrive meanwhile are still delivered.
  e = nl::requestAck(r->sock, rb,
                     cpumaskRequest(family_, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, mask, kSeqDeregister),
                     kAckTimeoutMs, &r->exits);
  r->deregisterError = -e;
  r->registered = e != 0;
  std::lock_guard<std::mutex> g(gLiveMu);
  for (auto it = gLiveSockets.begin(); it != gLiveSockets.end(); ++it)
    if (it->fd == r->sock.fd()) { gLiveSockets.erase(it); break; }
}

void Listener::notifyJs() {
  // A call that fails (napi_closing: the environment is going away) has nobody left to tell.
  tsfn_.NonBlockingCall([](Napi::Env env, Napi::Function fn) {
    // During environment teardown JS cannot run: the call fails, and must not abort.
    if (!env || !fn) return;
    try {
      fn.Call({});
    } catch (const Napi::Error&) {
    }
  });
}

Napi::Float64Array Listener::counterArray(Napi::Env env) {
  auto arr = Napi::Float64Array::New(env, readers_.size() * kCounterCount);
  for (size_t i = 0; i < readers_.size(); i++) {
    CpuReader* r = readers_[i].get();
    if (r->sock.fd() >= 0) {
      int64_t d = r->sock.drops();
      if (d >= 0) r->exits.setCounter(kKernelDrops, uint64_t(d));  // else (no SO_MEMINFO) the last known
    }
    for (int c = 0; c < kCounterCount; c++) arr[i * kCounterCount + c] = double(r->exits.counter(Counter(c)));
  }
  return arr;
}

Napi::Value Listener::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // A V8-owned copy: the engine accounts for it, and the buffers stay with the queue.
  Napi::ArrayBuffer data;
  queue_->drain([&](const uint8_t* bytes, size_t len) {
    data = Napi::ArrayBuffer::New(env, len);
    if (len) memcpy(data.Data(), bytes, len);
  });
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
    o.Set("cpu", r->exits.cpu());
    o.Set("portId", r->sock.portid());
    o.Set("rcvbufBytes", r->rcvbufBytes);
    o.Set("realtime", r->realtimeError == 0);
    o.Set("realtimeError", errnoNameOr(r->realtimeError, ""));
    o.Set("pinError", errnoNameOr(r->pinError, ""));
    o.Set("readError", errnoNameOr(r->readError, ""));
    o.Set("registered", r->registered.load());
    o.Set("deregisterError", errnoNameOr(r->deregisterError, ""));
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
    if (r->wakeFd < 0) continue;
    uint64_t one = 1;
    // A wake that fails to write is no hang: the reader also looks at stopping_ every
    // ExitReader::kStopCheckMs.
    ssize_t w = write(r->wakeFd, &one, sizeof one);
    (void)w;
  }
  for (auto& r : readers_)
    if (r->thread.joinable()) r->thread.join();
  for (auto& r : readers_) {
    if (r->sock.fd() >= 0) {
      int64_t d = r->sock.drops();
      if (d >= 0) r->exits.setCounter(kKernelDrops, uint64_t(d));
      r->sock.close();
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
