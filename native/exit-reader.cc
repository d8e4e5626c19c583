#include "exit-reader.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace {

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

constexpr uint64_t kWakeTag = ~uint64_t(0);  // the wake fd's epoll tag; members are tagged by index

uint64_t realtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // cannot fail for CLOCK_REALTIME with a valid pointer
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Sleep ns unless wakeFd (if >= 0) becomes readable first: kWoken, 0, or -errno.
int pauseUnlessWoken(int wakeFd, long ns) {
  struct pollfd p = {wakeFd, POLLIN, 0};
  struct timespec pause = {0, ns};
  int r = ppoll(&p, 1, &pause, nullptr);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  return r > 0 ? nl::Transport::kWoken : 0;
}

}  // namespace

ByteBuffer::ByteBuffer(size_t limit) {
  if (!limit) return;
  void* p = mmap(nullptr, limit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    mapError_ = errno;  // the listener refuses to start (listener.cc)
    return;
  }
  // A flag none of V8's mappings has (V8 maps its pages MADV_DONTFORK, never
  // MADV_WIPEONFORK), so that none is merged into it: a merge write-locks this mapping, and
  // a page fault of the reader's would then wait for the mmap lock. Best effort: without it
  // the buffer works the same. Our children exec or write no queue.
  (void)madvise(p, limit, MADV_WIPEONFORK);
  // The first write gives the mapping its anon_vma here, on the thread that makes the queue:
  // a fault that has to make one takes the mmap lock, and the reader's then never do.
  static_cast<volatile uint8_t*>(p)[0] = 0;
  data_ = static_cast<uint8_t*>(p);
  reserved_ = limit;
}

ByteBuffer::~ByteBuffer() {
  if (data_) munmap(data_, reserved_);
}

uint8_t* ByteBuffer::append(size_t n) {
  if (!data_ || n > reserved_ - size_) return nullptr;
  uint8_t* at = data_ + size_;
  size_ += n;
  if (size_ > touched_) touched_ = size_;
  return at;
}

void ByteBuffer::dropFront(size_t n) {
  memmove(data_, data_ + n, size_ - n);
  size_ -= n;
}

void ByteBuffer::release() {
  if (data_ && touched_) {
    size_t page = size_t(sysconf(_SC_PAGESIZE));
    (void)madvise(data_, (touched_ + page - 1) / page * page, MADV_DONTNEED);  // cannot fail on our own mapping
  }
  size_ = touched_ = 0;
}

ExitQueue::ExitQueue(size_t maxBytes, std::function<void()> notify, bool keepNewest)
    : maxBytes_(maxBytes),
      queue_(maxBytes),
      spare_(maxBytes),
      notify_(std::move(notify)),
      highWater_(std::min(kHighWaterBytes, maxBytes / 4)),
      keepNewest_(keepNewest) {}

bool ExitQueue::push(const RecHeader& h, const uint8_t* pidStats, const uint8_t* tgidStats) {
  size_t queued;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (queue_.size() + h.recLen > maxBytes_) {
      if (!keepNewest_ || h.recLen > maxBytes_) return false;
      // The oldest give way, down to half the queue: one move per half a queue of records
      // in a storm, not one per record.
      size_t off = 0;
      while (off < queue_.size() && queue_.size() - off + h.recLen > maxBytes_ / 2) {
        RecHeader old;
        memcpy(&old, queue_.data() + off, sizeof old);
        summarized_[old.cpu]++;
        off += old.recLen;
      }
      queue_.dropFront(off);
    }
    uint8_t* p = queue_.append(h.recLen);
    if (!p) return false;
    memcpy(p, &h, sizeof h);
    memcpy(p + kRecHeader, pidStats, h.pidStatsLen);
    if (h.tgidStatsLen) memcpy(p + kRecHeader + align8(h.pidStatsLen), tgidStats, h.tgidStatsLen);
    queued = queue_.size();
  }
  bool first = !quiet_.load() && !notified_.exchange(true);
  bool high = queued >= highWater_ && !highNotified_.exchange(true);
  if ((first || high) && notify_) notify_();
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

ReaderGroup::~ReaderGroup() {
  if (epfd_ >= 0) close(epfd_);
}

int ReaderGroup::open(std::vector<Member> members, int wakeFd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -errno;
  auto add = [ep](int fd, uint64_t tag) {
    struct epoll_event e = {};
    e.events = EPOLLIN;  // EPOLLERR (an overrun) is always reported
    e.data.u64 = tag;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  };
  for (size_t i = 0; i < members.size(); i++) {
    if (add(members[i].t->pollFd(), i) < 0) {
      int e = errno;
      close(ep);
      return -e;
    }
  }
  if (wakeFd >= 0 && add(wakeFd, kWakeTag) < 0) {
    int e = errno;
    close(ep);
    return -e;
  }
  if (epfd_ >= 0) close(epfd_);
  epfd_ = ep;
  members_ = std::move(members);
  wakeFd_ = wakeFd;
  return 0;
}

int ReaderGroup::run(nl::RecvBuffers& rb, const std::atomic<bool>& stopping, long coalesceNs, int stopCheckMs) {
  std::vector<struct epoll_event> ready(members_.size() + 1);
  size_t live = members_.size();
  int64_t lastFoundMs = -1;  // when the last round that found exits ended (-1: none yet)
  while (!stopping.load() && live > 0) {
    int n = epoll_wait(epfd_, ready.data(), int(ready.size()), stopCheckMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int64_t wokeMs = nl::monotonicMs();
    for (int i = 0; i < n; i++)
      if (ready[i].data.u64 == kWakeTag) return 0;
    bool found = false;
    for (int i = 0; i < n; i++) {
      Member& m = members_[ready[i].data.u64];
      int got = m.r->readQueued(*m.t, rb);
      if (got > 0) found = true;
      if (got >= 0) continue;
      m.r->setReadError(-got);
      // Level-triggered: a failed socket left in the set would be reported ready forever.
      if (epoll_ctl(epfd_, EPOLL_CTL_DEL, m.t->pollFd(), nullptr) < 0) return -errno;
      live--;
    }
    if (!found || coalesceNs <= 0) continue;
    // Exits now and then (a quiet machine) are read as they come: a pause there would only
    // cost a second sleep and wake-up for each exit.
    // (the gap is from the end of the last such round, its pause included, to this wake-up)
    bool busy = lastFoundMs >= 0 && wokeMs - lastFoundMs < kBusyGapMs;
    if (busy) {
      int w = pauseUnlessWoken(wakeFd_, coalesceNs);  // close() still wakes us at once
      if (w < 0) return w;
      if (w == nl::Transport::kWoken) return 0;
    }
    lastFoundMs = nl::monotonicMs();
  }
  return 0;
}
