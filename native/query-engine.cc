#include "query-engine.h"

#include <errno.h>
#include <string.h>

namespace {

constexpr size_t kReqBytes = 32;  // one GET with a u32 PID/TGID attribute is 28 bytes
static_assert(nl::requestLen(nl::Request{0, 0, 0, 0, 0, nullptr, sizeof(uint32_t)}) <= kReqBytes,
              "a GET fits its request slot");

inline size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

}  // namespace

// The replies of one exchange, written to entries entry0 + index.
class QueryEngine::Answers : public nl::Handler {
 public:
  Answers(QueryEngine& e, size_t entry0, bool* done) : e_(e), entry0_(entry0), done_(done) {}
  bool reply(const nl::Reply& r) override {
    if (done_[r.index]) return false;  // a second answer to one request: keep the first
    e_.answer(entry0_ + r.index, r);
    done_[r.index] = true;
    return true;
  }
  // Anything else on a query socket is a late reply to an earlier request: skipped.
  void overrun() override { e_.overruns_.fetch_add(1, std::memory_order_relaxed); }

 private:
  QueryEngine& e_;
  size_t entry0_;
  bool* done_;
};

QueryEngine::QueryEngine(nl::Transport& t, uint16_t family, int timeoutMs)
    : t_(t), family_(family), timeoutMs_(timeoutMs), reqBuf_(kWindow * kReqBytes), rb_(kWindow, kRecvSlot) {
  for (size_t i = 0; i < kWindow; i++) {
    siov_[i] = {reqBuf_.data() + i * kReqBytes, 0};
    memset(&smsg_[i], 0, sizeof smsg_[i]);
    smsg_[i].msg_hdr.msg_iov = &siov_[i];
    smsg_[i].msg_hdr.msg_iovlen = 1;
  }
}

void QueryEngine::reserve(size_t n) {
  // The entries, the padding that 8-aligns the first payload, then each payload 8-aligned.
  out_.reserve(n * kQueryEntryBytes + 8 + n * align8(maxPayload_));
}

void QueryEngine::put(size_t entry, int32_t status, uint32_t off, uint32_t len) {
  QueryEntry e{status, off, len};
  memcpy(out_.data() + entry * kQueryEntryBytes, &e, sizeof e);
}

void QueryEngine::answer(size_t entry, const nl::Reply& r) {
  const nl::Msg& m = r.m;
  if (r.truncated) return put(entry, EMSGSIZE, 0, 0);  // cannot happen at 4 KiB; never trust it
  if (r.status != nl::ParseStatus::Ok) return put(entry, EBADMSG, 0, 0);
  if (m.type == NLMSG_ERROR) return put(entry, m.error ? m.error : EIO, 0, 0);
  const nl::Aggr& a = tgid_[entry] ? m.tgid : m.pid;
  if (m.type != family_ || !a.present) return put(entry, EIO, 0, 0);
  size_t off = align8(out_.size());
  out_.resize(off + a.statsLen);
  memcpy(out_.data() + off, r.buf + a.statsOffset, a.statsLen);
  if (a.statsLen > maxPayload_) maxPayload_ = a.statsLen;
  put(entry, 0, uint32_t(off), a.statsLen);
}

nl::Request QueryEngine::requestFor(size_t entry, uint32_t seq) const {
  uint16_t attr = tgid_[entry] ? nl::TASKSTATS_CMD_ATTR_TGID : nl::TASKSTATS_CMD_ATTR_PID;
  return nl::Request{family_, nl::TASKSTATS_CMD_GET, 0, seq, attr, &ids_[entry], sizeof ids_[entry]};
}

const std::vector<uint8_t>& QueryEngine::run(const uint32_t* ids, const uint8_t* tgid, size_t n) {
  ids_ = ids;
  tgid_ = tgid;
  out_.assign(n * kQueryEntryBytes, 0);
  nl::Deadline dl = nl::Deadline::in(timeoutMs_);
  for (size_t base = 0; base < n; base += kWindow) runWindow(base, n - base < kWindow ? n - base : kWindow, dl);
  return out_;
}

void QueryEngine::runWindow(size_t base, size_t w, const nl::Deadline& dl) {
  uint32_t seq0 = seq_;
  seq_ += uint32_t(w);
  for (size_t i = 0; i < w; i++) {
    siov_[i].iov_len = nl::buildRequest(reqBuf_.data() + i * kReqBytes, kReqBytes, requestFor(base + i, seq0 + i));
    done_[i] = false;
  }
  size_t sent = 0;
  int sendErr = 0;
  while (sent < w) {
    int r = t_.sendBatch(smsg_ + sent, unsigned(w - sent));
    if (r < 0) {
      sendErr = -r;
      break;
    }
    sent += size_t(r);
  }
  for (size_t i = sent; i < w; i++) {
    put(base + i, sendErr ? sendErr : EIO, 0, 0);
    done_[i] = true;
  }
  Answers answers(*this, base, done_);
  int r = nl::dispatch(t_, rb_, nl::Exchange{family_, seq0, uint32_t(w), true}, sent, dl, answers);
  for (size_t i = 0; i < w; i++) {
    if (done_[i]) continue;
    if (r == -ENOBUFS) {
      queryOne(base + i, dl);  // dropped in an overrun: ask again, alone
    } else {
      if (r == -ETIMEDOUT) timeouts_.fetch_add(1, std::memory_order_relaxed);
      put(base + i, -r, 0, 0);
    }
  }
}

// The slow path after an overrun: one request, its reply alone in the queue.
void QueryEngine::queryOne(size_t entry, const nl::Deadline& dl) {
  bool done = false;
  Answers answers(*this, entry, &done);
  int r = nl::request(t_, rb_, requestFor(entry, seq_++), dl, answers);
  if (r == 0) return;
  if (r == -ETIMEDOUT) timeouts_.fetch_add(1, std::memory_order_relaxed);
  put(entry, -r, 0, 0);
}
