// TASKSTATS_CMD_GET for a batch of ids: windows of requests in one sendmmsg, their replies
// matched by seq, late replies to earlier requests ignored, replies lost to a receive-queue
// overrun asked again one by one. No N-API here (query.cc is the JS face): tests drive it
// over a fake transport.
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "contract.h"
#include "transport.h"

// Result layout, one buffer: n entries, then the STATS payloads, each 8-aligned.
struct QueryEntry {
  int32_t status;   // 0 = stats at [offset, offset+length); else a positive errno: ESRCH = gone
  uint32_t offset;
  uint32_t length;
};
constexpr size_t kQueryEntryBytes = sizeof(QueryEntry);

// Exported as contract.queryEntry.
inline constexpr Field kQueryEntryFields[] = {
    DELAYTOP_FIELD(QueryEntry, status),
    DELAYTOP_FIELD(QueryEntry, offset),
    DELAYTOP_FIELD(QueryEntry, length),
};

class QueryEngine {
 public:
  // Requests in flight per sendmmsg/recvmmsg round. The kernel answers a GET inside sendmsg,
  // so a window's replies are queued before sendmmsg returns; the socket's receive buffer
  // (kRcvbufBytes) holds a whole window with room to spare.
  static constexpr size_t kWindow = 64;
  static constexpr size_t kRecvSlot = 4096;  // a v16 reply is 596 bytes; v17 ~ 730
  static constexpr int kRcvbufBytes = 4 << 20;

  // timeoutMs bounds a batch's wait for replies that are not queued (see run).
  QueryEngine(nl::Transport& t, uint16_t family, int timeoutMs);
  QueryEngine(const QueryEngine&) = delete;
  QueryEngine& operator=(const QueryEngine&) = delete;

  // Make room for a batch of n ids before run(), on the thread that owns the engine, so that
  // run() on a worker thread does not allocate once batches have a steady size.
  void reserve(size_t n);
  // Query ids[i] (a TGID when tgid[i], else a PID) for i < n; the result stays valid until
  // the next run. One batch at a time. Replies not queued by timeoutMs after the start are
  // ETIMEDOUT; what is queued is always read first, so a batch the kernel answered is
  // answered, however long it took us.
  const std::vector<uint8_t>& run(const uint32_t* ids, const uint8_t* tgid, size_t n);
  const std::vector<uint8_t>& result() const { return out_; }

  // Read from any thread.
  uint64_t overruns() const { return overruns_.load(std::memory_order_relaxed); }
  uint64_t timeouts() const { return timeouts_.load(std::memory_order_relaxed); }

 private:
  class Answers;
  void put(size_t entry, int32_t status, uint32_t off, uint32_t len);
  void answer(size_t entry, const nl::Reply& r);
  void runWindow(size_t base, size_t w, const nl::Deadline& dl);
  void queryOne(size_t entry, const nl::Deadline& dl);
  nl::Request requestFor(size_t entry, uint32_t seq) const;

  nl::Transport& t_;
  uint16_t family_;
  int timeoutMs_;
  uint32_t seq_ = 1;
  // The batch being run (pointers into the caller's arrays) and its working buffers, kept
  // from batch to batch.
  const uint32_t* ids_ = nullptr;
  const uint8_t* tgid_ = nullptr;
  std::vector<uint8_t> out_;
  size_t maxPayload_ = 0;  // the largest STATS payload seen: what reserve() plans for
  std::vector<uint8_t> reqBuf_;
  struct iovec siov_[kWindow];
  struct mmsghdr smsg_[kWindow];
  bool done_[kWindow];
  nl::RecvBuffers rb_;
  std::atomic<uint64_t> overruns_{0};
  std::atomic<uint64_t> timeouts_{0};
};
