// Exit events, read from one listener socket a CPU: the loss counters, the per-CPU seq chain,
// the bounded queue of records JS drains, and the loop with which one thread serves one or
// several of those sockets. No N-API here (listener.cc is the JS face, and owns the threads):
// tests drive it over fake transports.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "contract.h"
#include "transport.h"

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
  X(kUnsolicited, "unsolicited")   /* messages that are not exit events (tolerated, skipped) */    \
  X(kSummarized, "summarized")     /* received, then gave way to newer ones (keepNewest): counted */

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

// Bytes appended without being zeroed first (std::vector's resize writes each byte twice), in
// one mapping of their own, reserved whole when made (limit bytes, MAP_NORESERVE: pages become
// resident as they are written) and never moved or grown: the reader thread that appends
// never takes the process's mmap lock, which another task can hold for seconds in a storm
// (docs/performance.md, "Every exit written"). MADV_WIPEONFORK keeps V8's mappings from
// merging into it. Pages are given back by MADV_DONTNEED, never left in a malloc arena.
class ByteBuffer {
 public:
  explicit ByteBuffer(size_t limit);
  ~ByteBuffer();
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  // bytes written since the last release (resident, at most)
  size_t touched() const { return touched_; }
  // the errno of a mapping that could not be made (0: made, or limit 0)
  int mapError() const { return mapError_; }
  // n more bytes at the end, to be written; null (nothing changed) past the limit, or when
  // the mapping could not be made
  uint8_t* append(size_t n);
  void dropFront(size_t n);
  void clear() { size_ = 0; }
  // empties it and gives its pages back; the mapping stays
  void release();
  void swap(ByteBuffer& o) {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(touched_, o.touched_);
    std::swap(reserved_, o.reserved_);
  }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t touched_ = 0;
  size_t reserved_ = 0;
  int mapError_ = 0;  // not swapped: the two buffers of a queue are checked when it is made
};

// The records of every CPU's reader, in one buffer of at most maxBytes, drained by one thread.
// Full, it either refuses the newest record (the reader counts it queueDropped: for consumers
// that must have every record, such as -l and -w) or, keepNewest, lets the oldest records
// give way, counted per CPU as summarized (for a view that shows the newest and counts the rest:
// the dashboard's feed, whose per-CPU counts stay exact however long a storm lasts).
class ExitQueue {
 public:
  // Queue pages kept resident between drains (a second's worth at ~1,000 exits/s); more
  // are given back once a drain is this small again (while a storm lasts they stay).
  static constexpr size_t kKeepBytes = 1 << 20;

  // A queue this full (or a quarter full, if less) is no quiet moment: see notify.
  static constexpr size_t kHighWaterBytes = 256 << 10;

  // notify runs (on the reader's thread) for the first record after a drain: the drainer
  // takes everything queued when it runs, so one pending notification is enough. It runs
  // once more when the queue reaches the high-water mark before the drain: a drainer that
  // waits long after a quiet notice (to gather exits now and then into fewer wake-ups)
  // learns that a storm began.
  ExitQueue(size_t maxBytes, std::function<void()> notify, bool keepNewest = false);
  // A drainer that drains on its own schedule after a drain of `bytes` or less (a quiet
  // moment): until the next drain, notify runs only at the high-water mark. 0 (the
  // default): every drain is followed by a notice at the first record. Set before readers run.
  void setQuietBytes(size_t bytes) { quietBytes_ = bytes; }
  // Append one record; false (nothing queued) when it would pass maxBytes and the queue does
  // not keep the newest (or the record alone is larger than maxBytes).
  bool push(const RecHeader& h, const uint8_t* pidStats, const uint8_t* tgidStats);
  // Hand everything queued to take(bytes, len) and empty the queue. The two buffers swap and
  // keep their pages, so the readers stop faulting pages in once warm; a storm's are given
  // back at the first drain that is small again (a storm's end).
  template <class F>
  void drain(F take) {
    notified_.store(false);
    highNotified_.store(false);
    {
      std::lock_guard<std::mutex> g(mu_);
      queue_.swap(spare_);  // the readers go on into the emptied spare, its pages kept
      quiet_.store(quietBytes_ > 0 && spare_.size() <= quietBytes_);
    }
    take(spare_.data(), spare_.size());
    if (spare_.touched() > kKeepBytes && spare_.size() <= kKeepBytes) spare_.release();
    spare_.clear();
  }

 private:
  std::mutex mu_;
  size_t maxBytes_;
  ByteBuffer queue_;  // guarded by mu_
  ByteBuffer spare_;  // the drainer's
  std::function<void()> notify_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> highNotified_{false};
  size_t highWater_;
  size_t quietBytes_ = 0;
  std::atomic<bool> quiet_{false};  // since the last drain (see setQuietBytes)
  bool keepNewest_;
  std::map<uint32_t, uint64_t> summarized_;  // per CPU; guarded by mu_

 public:
  // Records of this CPU that gave way to newer ones (keepNewest), ever.
  uint64_t summarized(uint32_t cpu) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = summarized_.find(cpu);
    return it == summarized_.end() ? 0 : it->second;
  }
  // The errno of a buffer that could not be mapped (0: both were): such a queue takes nothing.
  int mapError() const { return queue_.mapError() ? queue_.mapError() : spare_.mapError(); }
};

// The size of the buffer a drained batch of len bytes gets when the caller's scratch
// (scratchLen bytes; 0: none) is too small for it: twice the scratch, at most the queue's
// limit, or the batch's own size if larger. Kept by the caller, it soon fits a storm's drains.
inline size_t drainBufferBytes(size_t len, size_t scratchLen, size_t limit) {
  return std::max(len, std::min(2 * scratchLen, limit));
}

// One CPU's listener: what it reads goes to the queue, what it loses to the counters.
class ExitReader : public nl::Handler {
 public:
  ExitReader(int cpu, uint16_t family, ExitQueue& q);
  int cpu() const { return cpu_; }

  // Read what is queued on t now. Returns the datagrams read, or -errno.
  int readQueued(nl::Transport& t, nl::RecvBuffers& rb) { return nl::drainQueued(t, rb, *this); }

  // One exit datagram as received: queued, or counted as lost or unsolicited.
  void handleDatagram(const uint8_t* buf, size_t len, int flags);
  void other(const uint8_t* buf, size_t len, int flags) override { handleDatagram(buf, len, flags); }
  void overrun() override { add(kEnobufs, 1); }

  // Read from any thread.
  uint64_t counter(Counter c) const { return counters_[c].load(std::memory_order_relaxed); }
  void setCounter(Counter c, uint64_t v) { counters_[c].store(v, std::memory_order_relaxed); }
  // The errno of a read that failed and ended reading from this socket (0 = none).
  int readError() const { return readError_.load(); }
  void setReadError(int e) { readError_.store(e); }

 private:
  void add(Counter c, uint64_t n) { counters_[c].fetch_add(n, std::memory_order_relaxed); }
  void trackSeq(uint32_t seq);

  int cpu_;
  uint16_t family_;
  ExitQueue& queue_;
  uint32_t lastSeq_ = 0;  // the reader thread's alone
  bool haveSeq_ = false;
  std::atomic<uint64_t> counters_[kCounterCount];
  std::atomic<int> readError_{0};
};

// One reader thread's sockets: each with its own ExitReader (its CPU's seq chain and counters,
// touched by this thread alone), all waited on with one epoll set, so a thread may serve one
// socket or many and every loss count stays what it would be with a thread per socket.
class ReaderGroup {
 public:
  struct Member {
    nl::Transport* t;
    ExitReader* r;
  };
  ReaderGroup() = default;
  ~ReaderGroup();
  ReaderGroup(const ReaderGroup&) = delete;
  ReaderGroup& operator=(const ReaderGroup&) = delete;

  // The epoll set: every member's pollFd and wakeFd. Returns 0, or -errno (nothing kept).
  int open(std::vector<Member> members, int wakeFd);
  // The thread's loop: wait on every member at once, read each that is ready, until wakeFd is
  // readable or stopping is set (seen within stopCheckMs even if the wake never comes). After
  // a round that found exits and woke less than kBusyGapMs after the last such round ended,
  // pause coalesceNs (0 = not) so that a storm is read in recvmmsg batches rather than one
  // wake-up per exit. A member whose read fails gets the errno as its readError and is left
  // out from then on; the others go on. Returns 0 (woken, stopping, or no member left), or
  // -errno of a wait that failed.
  int run(nl::RecvBuffers& rb, const std::atomic<bool>& stopping, long coalesceNs, int stopCheckMs = kStopCheckMs);
  // The wake is an eventfd write, which does not fail: this only bounds a close whose write
  // did. Each check is a wake-up of a reader that has nothing to read.
  static constexpr int kStopCheckMs = 10000;
  static constexpr int64_t kBusyGapMs = 10;

 private:
  std::vector<Member> members_;
  int epfd_ = -1;
  int wakeFd_ = -1;
};
