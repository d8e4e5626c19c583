// Exit-event listeners: one netlink socket and one reader thread per CPU of the mask.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// Per-CPU counters, delivered to JS as a Float64Array of kCounterCount per CPU.
enum Counter : int {
  kReceived = 0,     // exit datagrams received and queued for JS
  kSeqGapLost,       // messages missing between received ones (per-CPU nlmsg_seq gaps)
  kKernelDrops,      // the socket's drop counter (SO_MEMINFO = /proc/net/netlink Drops)
  kEnobufs,          // ENOBUFS returns: congestion episodes
  kTruncated,        // MSG_TRUNC datagrams (received, unusable)
  kMalformed,        // datagrams that failed the bounded parse
  kQueueDropped,     // records delaytop's own bounded queue had no room for
  kUnsolicited,      // messages that are not exit events (tolerated, skipped)
  kCounterCount
};

// One record in a drained batch (8-aligned, little-endian):
//   u32 recLen, u32 cpu, u32 seq, u32 pid, u32 tgid (0 = no TGID record),
//   u32 pidStatsLen, u32 tgidStatsLen, u32 pad, u64 receivedRealtimeNs,
//   pid STATS bytes (8-aligned), tgid STATS bytes (8-aligned)
constexpr size_t kRecHeader = 40;

struct CpuReader {
  int cpu = -1;
  int fd = -1;
  int wakeFd = -1;
  uint32_t portid = 0;
  int rcvbufBytes = 0;
  int realtimeError = -1;    // -1 = not asked; 0 = SCHED_FIFO granted; else positive errno
  int registerError = 0;     // 0 = registered; else positive errno
  bool registerDone = false;
  bool registered = false;
  int deregisterError = 0;
  uint32_t lastSeq = 0;
  bool haveSeq = false;
  std::atomic<uint64_t> counters[kCounterCount];
  std::thread thread;
  CpuReader() { for (auto& c : counters) c.store(0); }
};

class Listener : public Napi::ObjectWrap<Listener> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Listener(const Napi::CallbackInfo& info);
  ~Listener() override;

  void readerMain(CpuReader* r);
  void stopAll();  // deregisters and joins; idempotent
  void onEnvCleanup();

 private:
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  void handleDatagram(CpuReader* r, const uint8_t* buf, size_t len, int flags);
  void enqueue(CpuReader* r, uint32_t seq, const uint8_t* buf, size_t pidOff, uint32_t pidLen,
               uint32_t pid, size_t tgidOff, uint32_t tgidLen, uint32_t tgid);
  Napi::Float64Array counterArray(Napi::Env env);

  uint16_t family_ = 0;
  bool pin_ = false;
  bool realtime_ = true;
  size_t maxQueueBytes_ = 64u << 20;
  std::string possible_;  // cpulist of possible CPUs: deregistered first to clear stale entries
  std::vector<std::unique_ptr<CpuReader>> readers_;

  std::mutex regMu_;
  std::condition_variable regCv_;

  std::mutex qMu_;
  std::vector<uint8_t> queue_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  bool tsfnLive_ = false;
  bool hookLive_ = false;
  Napi::ThreadSafeFunction tsfn_;
};
