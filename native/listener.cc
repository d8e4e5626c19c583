#include "listener.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
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
// Each socket's requests, on that socket.
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

// new Listener(cpus: number[], opts, notify: () => void); opts.threadOf[i] is the reader thread
// (0, 1, ... with none left out) of cpus[i]'s socket; without it, a thread per socket.
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
  bool keepNewest = opts.Has("keepNewest") && opts.Get("keepNewest").ToBoolean();
  if (opts.Has("maxQueueBytes"))
    maxQueueBytes_ = size_t(opts.Get("maxQueueBytes").As<Napi::Number>().Int64Value());
  if (opts.Has("possible")) possible_ = opts.Get("possible").ToString().Utf8Value();
  std::vector<unsigned> threadOf(cpus.Length());
  for (uint32_t i = 0; i < cpus.Length(); i++) threadOf[i] = i;
  if (opts.Has("threadOf")) {
    Napi::Value v = opts.Get("threadOf");
    bool ok = v.IsArray() && v.As<Napi::Array>().Length() == cpus.Length();
    size_t threads = 0;
    for (uint32_t i = 0; ok && i < cpus.Length(); i++) {
      Napi::Value t = v.As<Napi::Array>().Get(i);
      double d = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
      ok = d >= 0 && d < double(cpus.Length()) && d == double(unsigned(d));
      if (ok) threadOf[i] = unsigned(d);
      if (ok && threadOf[i] + 1 > threads) threads = threadOf[i] + 1;
    }
    std::vector<bool> used(threads);
    for (uint32_t i = 0; ok && i < cpus.Length(); i++) used[threadOf[i]] = true;
    for (size_t t = 0; ok && t < threads; t++) ok = used[t];
    if (!ok) {
      Napi::TypeError::New(env, "opts.threadOf: one thread index per cpu, 0.. with none left out")
          .ThrowAsJavaScriptException();
      return;
    }
  }
  queue_ = std::make_unique<ExitQueue>(maxQueueBytes_, [this] { notifyJs(); }, keepNewest);
  if (opts.Has("quietBytes")) queue_->setQuietBytes(size_t(opts.Get("quietBytes").As<Napi::Number>().Int64Value()));
  if (int e = queue_->mapError()) {
    throwErrno(env, e, "map the exit queue (" + std::to_string(maxQueueBytes_) + " bytes, twice)");
    return;
  }

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
    r->thread = threadOf[i];
    while (threads_.size() <= r->thread) threads_.push_back(std::make_unique<ReaderThread>());
    threads_[r->thread]->sockets.push_back(r);
    const char* what = "";
    int e = r->sock.open(rcvbuf, force, &what);
    if (e == 0) {
      what = "getsockopt(SO_RCVBUF)";
      r->rcvbufBytes = r->sock.rcvbufBytes();
      if (r->rcvbufBytes < 0) e = r->rcvbufBytes;
    }
    if (e < 0) { stopAll(); throwErrno(env, -e, what); return; }
  }
  // Without a wake fd and an epoll set nothing could wake or run a reader: fail here, before
  // any thread runs.
  for (auto& t : threads_) {
    t->wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->wakeFd < 0) { int e = errno; stopAll(); throwErrno(env, e, "eventfd"); return; }
    std::vector<ReaderGroup::Member> members;
    for (CpuReader* r : t->sockets) members.push_back({&r->sock, &r->exits});
    int e = t->group.open(std::move(members), t->wakeFd);
    if (e < 0) { stopAll(); throwErrno(env, -e, "epoll"); return; }
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

  for (auto& t : threads_) {
    ReaderThread* tp = t.get();
    try {
      tp->thread = std::thread([this, tp] { readerMain(tp); });
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

void Listener::readerMain(ReaderThread* t) {
  char name[16];
  snprintf(name, sizeof name, "exit-reader%u", t->sockets.front()->thread);
  pthread_setname_np(pthread_self(), name);  // for top -H and the bench; best effort
  if (pin_) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (CpuReader* r : t->sockets) CPU_SET(r->exits.cpu(), &set);
    t->pinError = pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort: info() says
  }
  if (realtime_) {
    // The kernel schedules each terminal session as a group: a listener in another session
    // than an exit storm gets almost no CPU while it lasts, and its queue overflows. A
    // real-time priority lets it keep up; it reads in batches and sleeps between them, and
    // the kernel caps real-time threads at 95% anyway. 2: above -l's writer (1, addon.cc),
    // which can run for seconds through a storm's output and must not keep a reader waiting.
    struct sched_param sp;
    sp.sched_priority = 2;
    t->realtimeError = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  }
  nl::RecvBuffers rb(kSlots, kSlotBytes);
  // Each socket registers its own CPU from itself (registration is keyed by its port id).
  // One that fails leaves its socket silent in the group; the constructor then throws.
  int minRcvbuf = INT_MAX;
  bool anyRegistered = false;
  for (CpuReader* r : t->sockets) {
    minRcvbuf = std::min(minRcvbuf, r->rcvbufBytes);
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
      anyRegistered = true;
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
  }

  if (anyRegistered)
    t->waitError = -t->group.run(rb, stopping_, minRcvbuf >= kCoalesceMinRcvbuf ? kCoalesceNs : 0);
  for (CpuReader* r : t->sockets) {
    if (!r->registered) continue;
    // Deregister from the same socket; exits that arrive meanwhile are still delivered.
    std::string mask = std::to_string(r->exits.cpu());
    int e = nl::requestAck(r->sock, rb,
                           cpumaskRequest(family_, nl::TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, mask, kSeqDeregister),
                           kAckTimeoutMs, &r->exits);
    r->deregisterError = -e;
    r->registered = e != 0;
    std::lock_guard<std::mutex> g(gLiveMu);
    for (auto it = gLiveSockets.begin(); it != gLiveSockets.end(); ++it)
      if (it->fd == r->sock.fd()) { gLiveSockets.erase(it); break; }
  }
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
    r->exits.setCounter(kSummarized, queue_->summarized(uint32_t(r->exits.cpu())));
    for (int c = 0; c < kCounterCount; c++) arr[i * kCounterCount + c] = double(r->exits.counter(Counter(c)));
  }
  return arr;
}

Napi::Value Listener::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // A V8-owned copy: the engine accounts for it, and the buffers stay with the queue. Into
  // the caller's scratch when it is given and large enough: a consumer that is done with each
  // batch before the next (-l's lines) then maps nothing anew in a storm, where a new buffer a
  // drain is a mapping made and unmapped each time by the JS thread (each takes the mmap lock,
  // and can wait there behind another task: docs/performance.md, "Every exit written"). A
  // scratch too small gets a new buffer (drainBufferBytes) for the caller to keep.
  Napi::ArrayBuffer scratch;
  if (info.Length() > 0 && info[0].IsArrayBuffer()) scratch = info[0].As<Napi::ArrayBuffer>();
  Napi::ArrayBuffer data;
  size_t length = 0;
  queue_->drain([&](const uint8_t* bytes, size_t len) {
    size_t room = scratch.IsEmpty() ? 0 : scratch.ByteLength();
    if (!scratch.IsEmpty() && len <= room) {
      data = scratch;
    } else {
      data = Napi::ArrayBuffer::New(env, drainBufferBytes(len, room, maxQueueBytes_));
    }
    if (len) memcpy(data.Data(), bytes, len);
    length = len;
  });
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", data);
  o.Set("length", double(length));
  o.Set("counters", counterArray(env));
  return o;
}

Napi::Value Listener::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env, readers_.size());
  for (size_t i = 0; i < readers_.size(); i++) {
    CpuReader* r = readers_[i].get();
    ReaderThread* t = threads_[r->thread].get();
    Napi::Object o = Napi::Object::New(env);
    o.Set("cpu", r->exits.cpu());
    o.Set("portId", r->sock.portid());
    o.Set("rcvbufBytes", r->rcvbufBytes);
    o.Set("thread", r->thread);
    o.Set("realtime", t->realtimeError == 0);
    o.Set("realtimeError", errnoNameOr(t->realtimeError, ""));
    o.Set("pinError", errnoNameOr(t->pinError, ""));
    int readError = r->exits.readError();
    o.Set("readError", errnoNameOr(readError ? readError : t->waitError.load(), ""));
    o.Set("registered", r->registered.load());
    o.Set("deregisterError", errnoNameOr(r->deregisterError, ""));
    arr.Set(uint32_t(i), o);
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("readers", arr);
  res.Set("threads", uint32_t(threads_.size()));
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
  for (auto& t : threads_) {
    if (t->wakeFd < 0) continue;
    uint64_t one = 1;
    // A wake that fails to write is no hang: the reader also looks at stopping_ every
    // ReaderGroup::kStopCheckMs.
    ssize_t w = write(t->wakeFd, &one, sizeof one);
    (void)w;
  }
  for (auto& t : threads_)
    if (t->thread.joinable()) t->thread.join();
  for (auto& r : readers_) {
    if (r->sock.fd() >= 0) {
      int64_t d = r->sock.drops();
      if (d >= 0) r->exits.setCounter(kKernelDrops, uint64_t(d));
      r->sock.close();
    }
  }
  for (auto& t : threads_)
    if (t->wakeFd >= 0) { close(t->wakeFd); t->wakeFd = -1; }
}

Napi::Value Listener::Close(const Napi::CallbackInfo& info) {
  stopAll();
  if (tsfnLive_) { tsfn_.Release(); tsfnLive_ = false; }
  if (hookLive_) { napi_remove_env_cleanup_hook(info.Env(), cleanupHook, this); hookLive_ = false; }
  return info.Env().Undefined();
}
