#include "exit-reader.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <utility>

namespace {

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

uint64_t realtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // cannot fail for CLOCK_REALTIME with a valid pointer
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Sleep ns unless wakeFd becomes readable first: kWoken, 0, or -errno.
int pauseUnlessWoken(int wakeFd, long ns) {
  struct pollfd p = {wakeFd, POLLIN, 0};
  struct timespec pause = {0, ns};
  int r = ppoll(&p, 1, &pause, nullptr);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  return r > 0 ? nl::Transport::kWoken : 0;
}

}  // namespace

ExitQueue::ExitQueue(size_t maxBytes, std::function<void()> notify) : maxBytes_(maxBytes), notify_(std::move(notify)) {}

bool ExitQueue::push(const RecHeader& h, const uint8_t* pidStats, const uint8_t* tgidStats) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (queue_.size() + h.recLen > maxBytes_) return false;
    size_t at = queue_.size();
    queue_.resize(at + h.recLen);
    uint8_t* p = queue_.data() + at;
    memcpy(p, &h, sizeof h);
    memcpy(p + kRecHeader, pidStats, h.pidStatsLen);
    if (h.tgidStatsLen) memcpy(p + kRecHeader + align8(h.pidStatsLen), tgidStats, h.tgidStatsLen);
  }
  if (!notified_.exchange(true) && notify_) notify_();
  return true;
}

ExitReader::ExitReader(int cpu, uint16_t family, ExitQueue& q) : cpu_(cpu), family_(family), queue_(q) {
  for (auto& c : counters_) c.store(0);
}

void ExitReader::trackSeq(uint32_t seq) {
  if (haveSeq_) {
    uint32_t gap = seq - lastSeq_ - 1;
    if (gap < 0x80000000u) add(kSeqGapLost, gap);  // a seq that went back (a reordering) is no loss
  }
  lastSeq_ = seq;
  haveSeq_ = true;
}

void ExitReader::handleDatagram(const uint8_t* buf, size_t len, int flags) {
  size_t off = 0;
  while (off < len) {
    nl::Msg m;
    size_t next;
    nl::ParseStatus s = nl::parseMsg(buf, len, off, family_, &m, &next);
    bool isExit = s != nl::ParseStatus::Truncated && m.type == family_ && m.portid == 0;
    if (flags & MSG_TRUNC) {
      // Received but cut short: count it lost once, and keep the seq chain whole.
      add(kTruncated, 1);
      if (isExit) trackSeq(m.seq);
      return;
    }
    if (s != nl::ParseStatus::Ok) {
      add(kMalformed, 1);
      if (s == nl::ParseStatus::BadAttr && isExit) trackSeq(m.seq);
      return;
    }
    if (isExit && m.cmd == nl::TASKSTATS_CMD_NEW && m.pid.present) {
      trackSeq(m.seq);
      RecHeader h{};
      h.cpu = uint32_t(cpu_);
      h.seq = m.seq;
      h.pid = m.pid.id;
      h.pidStatsLen = m.pid.statsLen;
      if (m.tgid.present) {
        h.tgid = m.tgid.id;
        h.tgidStatsLen = m.tgid.statsLen;
      }
      h.recLen = uint32_t(kRecHeader + align8(h.pidStatsLen) + align8(h.tgidStatsLen));
      h.receivedRealtimeNs = realtimeNs();
      add(queue_.push(h, buf + m.pid.statsOffset, buf + m.tgid.statsOffset) ? kReceived : kQueueDropped, 1);
    } else {
      add(kUnsolicited, 1);
    }
    off = next;
  }
}

int ExitReader::run(nl::Transport& t, nl::RecvBuffers& rb, int wakeFd, const std::atomic<bool>& stopping,
                    long coalesceNs) {
  while (!stopping.load()) {
    int w = t.wait(kStopCheckMs, wakeFd);
    if (w < 0) return w;
    if (w == nl::Transport::kWoken) return 0;
    if (w != nl::Transport::kReadable) continue;
    int n = readQueued(t, rb);
    if (n < 0) return n;
    if (n > 0 && coalesceNs > 0) {
      w = pauseUnlessWoken(wakeFd, coalesceNs);  // close() still wakes us at once
      if (w < 0) return w;
      if (w == nl::Transport::kWoken) return 0;
    }
  }
  return 0;
}
