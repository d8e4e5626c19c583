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

#include "contract.h"

// Per-CPU counters, delivered to JS as a Float64Array of kCounterCount per CPU. This list is
// their one definition: the enum and the names the addon exports, in order (contract.counterNames).
#define DELAYTOP_COUNTERS(X)                                                                       \
  X(kReceived, "received")         /* exit datagrams received and queued for JS */                 \
  X(kSeqGapLost, "seqGapLost")     /* messages missing between received ones (per-CPU seq gaps) */ \
  X(kKernelDrops, "kernelDrops")   /* the socket's drop counter (SO_MEMINFO = netlink Drops) */    \
  X(kEnobufs, "enobufs")           /* ENOBUFS returns: congestion episodes */                      \
  X(kTruncated, "truncated")       /* MSG_TRUNC datagrams (received, unusable) */                  \
  X(kMalformed, "malformed")       /* datagrams that failed the bounded parse */                   \
  X(kQueueDropped, "queueDropped") /* records delaytop's own bounded queue had no room for */      \
  X(kUnsolicited, "unsolicited")   /* messages that are not exit events (tolerated, skipped) */

enum Counter : int {
#define DELAYTOP_COUNTER_ENUM(id, name) id,
  DELAYTOP_COUNTERS(DELAYTOP_COUNTER_ENUM)
#undef DELAYTOP_COUNTER_ENUM
  kCounterCount
};

inline constexpr const char* kCounterNames[kCounterCount] = {
#define DELAYTOP_COUNTER_NAME(id, name) name,
    DELAYTOP_COUNTERS(DELAYTOP_COUNTER_NAME)
#undef DELAYTOP_COUNTER_NAME
};

// One record in a drained batch (8-aligned, little-endian): this header, then the pid STATS
// bytes (8-aligned), then the tgid STATS bytes (8-aligned).
struct RecHeader {
  uint32_t recLen;
  uint32_t cpu;
  uint32_t seq;
  uint32_t pid;
  uint32_t tgid;  // 0 = no TGID record
  uint32_t pidStatsLen;
  uint32_t tgidStatsLen;
  uint32_t pad;
  uint64_t receivedRealtimeNs;
};
static_assert(sizeof(RecHeader) % 8 == 0, "the STATS bytes after the header stay 8-aligned");
constexpr size_t kRecHeader = sizeof(RecHeader);
// Queue capacity kept between drains (a second's worth at ~1,000 exits/s); more is freed.
constexpr size_t kKeepQueueBytes = 1 << 20;

// Exported as contract.exitRecordHeader (pad is left out: nothing reads it).
inline constexpr Field kRecHeaderFields[] = {
    DELAYTOP_FIELD(RecHeader, recLen),
    DELAYTOP_FIELD(RecHeader, cpu),
    DELAYTOP_FIELD(RecHeader, seq),
    DELAYTOP_FIELD(RecHeader, pid),
    DELAYTOP_FIELD(RecHeader, tgid),
    DELAYTOP_FIELD(RecHeader, pidStatsLen),
    DELAYTOP_FIELD(RecHeader, tgidStatsLen),
    DELAYTOP_FIELD(RecHeader, receivedRealtimeNs),
};

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
  // Drain swaps queue_ with this one and copies out: both keep their capacity, so the reader
  // threads stop allocating once warm, and nothing allocated on one thread is freed on
  // another (glibc then keeps growing per-thread arenas: RSS crept ~0.7 MB/min at 300 exits/s).
  std::vector<uint8_t> spare_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  bool tsfnLive_ = false;
  bool hookLive_ = false;
  Napi::ThreadSafeFunction tsfn_;
};
