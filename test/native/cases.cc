// The N-API-free native core (transport.cc's dispatcher, query-engine.cc, exit-reader.cc)
// over FakeKernel, without root or taskstats. One case per behaviour: `cases --list` names
// them, `cases NAME` runs one (test/native/fake-transport.test.ts makes each a subtest),
// `cases` runs them all.
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "../../native/exit-reader.h"
#include "../../native/query-engine.h"
#include "../../native/transport.h"
#include "fake-kernel.h"

namespace {

using fake::Bytes;
using fake::FakeKernel;
using fake::Sent;

// ---- plain checks and the case table

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
std::string show(const T& v) {
  std::ostringstream o;
  if constexpr (std::is_arithmetic<T>::value) o << +v;  // + shows a uint8_t as a number
  else o << '"' << v << '"';
  return o.str();
}

[[noreturn]] void fail(const char* file, int line, const std::string& what) {
  throw Failure(std::string(file) + ":" + std::to_string(line) + ": " + what);
}

#define CHECK(c)                                         \
  do {                                                   \
    if (!(c)) fail(__FILE__, __LINE__, "CHECK(" #c ")"); \
  } while (0)
#define CHECK_EQ(a, b)                                                                          \
  do {                                                                                          \
    auto va_ = (a);                                                                             \
    auto vb_ = (b);                                                                             \
    if (!(va_ == vb_))                                                                          \
      fail(__FILE__, __LINE__, "CHECK_EQ(" #a ", " #b "): " + show(va_) + " != " + show(vb_)); \
  } while (0)

struct Case {
  const char* name;
  void (*fn)();
};
std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
struct Register {
  Register(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};
// A case: a function, and its name in the table (registered before main runs).
#define CASE(fn, name)                     \
  void fn();                               \
  const Register fn##Registered(name, fn); \
  void fn()

// ---- helpers

constexpr uint16_t kFamily = 0x1a;
constexpr int kTimeoutMs = 200;
// How late a timed wait may end on a loaded machine before a case calls it wrong.
constexpr int64_t kSlackMs = 800;

using Clock = std::chrono::steady_clock;
int64_t msSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// A batch of n ids, 1000 + i; every third a TGID.
struct Batch {
  std::vector<uint32_t> ids;
  std::vector<uint8_t> tgid;
  explicit Batch(size_t n) {
    for (size_t i = 0; i < n; i++) {
      ids.push_back(uint32_t(1000 + i));
      tgid.push_back(i % 3 == 0);
    }
  }
  size_t indexOf(uint32_t id) const { return id - 1000; }
};

const std::vector<uint8_t>& run(QueryEngine& e, const Batch& b) {
  e.reserve(b.ids.size());
  return e.run(b.ids.data(), b.tgid.data(), b.ids.size());
}

QueryEntry entryOf(const std::vector<uint8_t>& out, size_t i) {
  QueryEntry e;
  memcpy(&e, out.data() + i * kQueryEntryBytes, sizeof e);
  return e;
}

// Entry i answered with the stats the fake tagged `tag`.
void checkAnswered(const std::vector<uint8_t>& out, const Batch& b, size_t i, uint32_t tag) {
  QueryEntry e = entryOf(out, i);
  CHECK_EQ(e.status, 0);
  CHECK_EQ(e.length, uint32_t(fake::kStatsV16));
  CHECK_EQ(e.offset % 8, 0u);
  CHECK(e.offset + e.length <= out.size());
  CHECK_EQ(fake::get16(out.data() + e.offset), 16);
  CHECK_EQ(fake::get32(out.data() + e.offset + 8), b.ids[i]);
  CHECK_EQ(fake::get32(out.data() + e.offset + 12), tag);
}

Bytes replyTo(const FakeKernel& k, const Sent& s, uint32_t tag) {
  return fake::statsReply(kFamily, s.seq, k.portid(), s.attrType == fake::kAttrTgid, s.id(), tag);
}

// The kernel as it is: every request answered at once, in order.
void answerAll(FakeKernel& k, const std::vector<Sent>& batch) {
  for (const Sent& s : batch) k.deliver(replyTo(k, s, 1));
}

// A batch of n ids over k as scripted: every id answered, each asked once.
void checkEveryIdAnswered(FakeKernel& k, size_t n) {
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(n);
  const auto& out = run(e, b);
  for (size_t i = 0; i < n; i++) checkAnswered(out, b, i, 1);
  CHECK_EQ(k.sent.size(), n);
  CHECK_EQ(e.timeouts(), 0u);
  CHECK_EQ(e.overruns(), 0u);
}

// ---- QueryEngine: batching, late replies, overrun fallback, errors, timeouts

CASE(queryInOrder, "query: 150 ids (windows of 64, 64, 22) answered in order, PID and TGID requests alike") {
  FakeKernel k;
  std::vector<size_t> perSend;
  k.onSend = [&](FakeKernel& k, const std::vector<Sent>& batch) {
    perSend.push_back(batch.size());
    answerAll(k, batch);
  };
  checkEveryIdAnswered(k, 150);
  CHECK(perSend == (std::vector<size_t>{64, 64, 22}));
  Batch b(150);
  std::set<uint32_t> seqs;
  for (size_t i = 0; i < 150; i++) {
    const Sent& s = k.sent[i];
    seqs.insert(s.seq);
    CHECK_EQ(s.type, kFamily);
    CHECK_EQ(s.cmd, fake::kCmdGet);
    CHECK_EQ(s.attrType, b.tgid[i] ? fake::kAttrTgid : fake::kAttrPid);
    CHECK_EQ(s.id(), b.ids[i]);
  }
  CHECK_EQ(seqs.size(), 150u);
}

CASE(queryOutOfOrder, "query: 150 ids answered in reverse order within each window") {
  FakeKernel k;
  k.onSend = [](FakeKernel& k, const std::vector<Sent>& batch) {
    for (auto s = batch.rbegin(); s != batch.rend(); ++s) k.deliver(replyTo(k, *s, 1));
  };
  checkEveryIdAnswered(k, 150);
}

CASE(queryShortSend, "query: a sendmmsg that takes 10 at a time is resumed until the window is out") {
  FakeKernel k;
  k.maxPerSend = 10;
  k.onSend = answerAll;
  checkEveryIdAnswered(k, 100);
}

CASE(queryLateReply, "query: a reply that comes after its batch timed out is ignored by the next batch") {
  FakeKernel k;
  std::vector<Sent> withheld;
  k.onSend = [&](FakeKernel& k, const std::vector<Sent>& batch) {
    for (const Sent& s : batch) {
      if (s.id() == 1003) withheld.push_back(s);
      else k.deliver(replyTo(k, s, 1));
    }
  };
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(100);
  auto t0 = Clock::now();
  const auto& out1 = run(e, b);
  int64_t took = msSince(t0);
  CHECK(took >= kTimeoutMs - 1 && took < kTimeoutMs + kSlackMs);
  CHECK_EQ(entryOf(out1, 3).status, ETIMEDOUT);
  for (size_t i = 0; i < 100; i++)
    if (i != 3) checkAnswered(out1, b, i, 1);
  CHECK_EQ(e.timeouts(), 1u);
  CHECK_EQ(withheld.size(), 1u);

  // Batch 2: first the withheld reply and a repeat of another of batch 1's, then its own.
  Sent first = k.sent[0];
  k.onSend = [&](FakeKernel& k, const std::vector<Sent>& batch) {
    for (const Sent& s : withheld) k.deliver(replyTo(k, s, 1));
    if (!withheld.empty()) k.deliver(replyTo(k, first, 1));
    withheld.clear();
    for (const Sent& s : batch) k.deliver(replyTo(k, s, 2));
  };
  const auto& out2 = run(e, b);
  for (size_t i = 0; i < 100; i++) checkAnswered(out2, b, i, 2);
  CHECK_EQ(e.timeouts(), 1u);
}

CASE(queryForeignPort, "query: a message with our seq from another port id is not our reply") {
  FakeKernel k;
  k.onSend = [](FakeKernel& k, const std::vector<Sent>& batch) {
    for (const Sent& s : batch) {
      if (s.id() == 1001) {
        k.deliver(fake::statsReply(kFamily, s.seq, k.portid() + 1, false, s.id(), 9));
        k.deliver(fake::errorReply(s.seq, k.portid() + 1, ESRCH, kFamily));
      }
      k.deliver(replyTo(k, s, 1));
    }
  };
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(10);
  const auto& out = run(e, b);
  for (size_t i = 0; i < 10; i++) checkAnswered(out, b, i, 1);
}

CASE(queryOverrunFallback, "query: ENOBUFS and 10 replies lost: those 10 are asked again one by one, at once") {
  FakeKernel k;
  k.onSend = [](FakeKernel& k, const std::vector<Sent>& batch) {
    if (batch.size() == 1) return k.deliver(replyTo(k, batch[0], 2));  // a retry
    for (const Sent& s : batch)
      if (s.id() < 1005 || s.id() >= 1015) k.deliver(replyTo(k, s, 1));
    k.overrun(10);
  };
  QueryEngine e(k, kFamily, 5000);  // a wait for the lost replies would show
  Batch b(64);
  auto t0 = Clock::now();
  const auto& out = run(e, b);
  CHECK(msSince(t0) < kSlackMs);
  for (size_t i = 0; i < 64; i++) checkAnswered(out, b, i, i >= 5 && i < 15 ? 2 : 1);
  CHECK_EQ(k.sent.size(), 74u);
  std::set<uint32_t> seqs;
  for (const Sent& s : k.sent) seqs.insert(s.seq);
  CHECK_EQ(seqs.size(), 74u);  // a retry is a new request, not a resend
  for (size_t i = 0; i < 10; i++) CHECK_EQ(k.sent[64 + i].id(), uint32_t(1005 + i));
  CHECK_EQ(e.overruns(), 1u);
  CHECK_EQ(e.timeouts(), 0u);
}

CASE(queryGone, "query: NLMSG_ERROR with ESRCH for a gone task, the others answered") {
  FakeKernel k;
  k.onSend = [](FakeKernel& k, const std::vector<Sent>& batch) {
    for (const Sent& s : batch) {
      if (s.id() % 5 == 0) k.deliver(fake::errorReply(s.seq, k.portid(), ESRCH, kFamily));
      else k.deliver(replyTo(k, s, 1));
    }
  };
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(100);
  const auto& out = run(e, b);
  for (size_t i = 0; i < 100; i++) {
    if (b.ids[i] % 5 == 0) CHECK_EQ(entryOf(out, i).status, ESRCH);
    else checkAnswered(out, b, i, 1);
  }
  CHECK_EQ(e.timeouts(), 0u);
}

CASE(queryBadReplies, "query: a truncated reply is EMSGSIZE, a malformed one EBADMSG, a wrong nest EIO, at once") {
  FakeKernel k;
  k.onSend = [](FakeKernel& k, const std::vector<Sent>& batch) {
    for (const Sent& s : batch) {
      bool tg = s.attrType == fake::kAttrTgid;
      if (s.id() == 1002) {  // longer than a 4-KiB receive slot
        k.deliver(fake::statsReply(kFamily, s.seq, k.portid(), tg, s.id(), 1, 5000));
      } else if (s.id() == 1004) {  // AGGR_PID without its PID
        Bytes nest = fake::nla(fake::kAggrPid, fake::nla(fake::kTypeStats, fake::stats(s.id(), 1)));
        k.deliver(fake::nlmsg(kFamily, 0, s.seq, k.portid(), fake::genl(fake::kCmdNew, nest)));
      } else if (s.id() == 1006) {  // a TGID request answered with AGGR_PID
        k.deliver(fake::statsReply(kFamily, s.seq, k.portid(), false, s.id(), 1));
      } else {
        k.deliver(replyTo(k, s, 1));
      }
    }
  };
  QueryEngine e(k, kFamily, 5000);
  Batch b(10);
  CHECK(b.tgid[6]);
  auto t0 = Clock::now();
  const auto& out = run(e, b);
  CHECK(msSince(t0) < kSlackMs);
  CHECK_EQ(entryOf(out, 2).status, EMSGSIZE);
  CHECK_EQ(entryOf(out, 4).status, EBADMSG);
  CHECK_EQ(entryOf(out, 6).status, EIO);
  for (size_t i : {0, 1, 3, 5, 7, 8, 9}) checkAnswered(out, b, i, 1);
}

CASE(queryTimeout, "query: no answer at all: every id ETIMEDOUT within the caller's timeout") {
  FakeKernel k;
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(150);
  auto t0 = Clock::now();
  const auto& out = run(e, b);
  int64_t took = msSince(t0);
  CHECK(took >= kTimeoutMs - 1);
  CHECK(took < kTimeoutMs + kSlackMs);
  for (size_t i = 0; i < 150; i++) CHECK_EQ(entryOf(out, i).status, ETIMEDOUT);
  CHECK_EQ(e.timeouts(), 150u);
  CHECK_EQ(k.sent.size(), 150u);  // each asked once: no one-by-one retries of a silent kernel
}

CASE(querySendError, "query: a send that fails answers its ids with the errno, without waiting") {
  FakeKernel k;
  k.sendError = ENOBUFS;
  QueryEngine e(k, kFamily, 5000);
  Batch b(70);
  auto t0 = Clock::now();
  const auto& out = run(e, b);
  CHECK(msSince(t0) < kSlackMs);
  for (size_t i = 0; i < 70; i++) CHECK_EQ(entryOf(out, i).status, ENOBUFS);
}

CASE(queryBuffersKept, "query: a steady batch reuses the engine's result buffer: run() allocates nothing") {
  FakeKernel k;
  k.onSend = answerAll;
  QueryEngine e(k, kFamily, kTimeoutMs);
  Batch b(300);
  run(e, b);  // the first batch learns the payload size
  e.reserve(b.ids.size());
  const uint8_t* before = e.result().data();
  size_t capacity = e.result().capacity();
  for (int i = 0; i < 3; i++) {
    const auto& out = run(e, b);
    CHECK(out.data() == before);
    CHECK_EQ(out.capacity(), capacity);
    checkAnswered(out, b, 299, 1);
  }
}

// ---- requestAck and resolveFamily: one dispatcher, the caller's timeout

nl::Request registerRequest(uint32_t seq) {
  static const char mask[] = "0";
  uint16_t attr = nl::TASKSTATS_CMD_ATTR_REGISTER_CPUMASK;
  return nl::Request{kFamily, nl::TASKSTATS_CMD_GET, 0, seq, attr, mask, sizeof mask};
}

CASE(ackTimeout, "requestAck: no answer is ETIMEDOUT after the caller's 100 ms, not a fixed wait") {
  FakeKernel k;
  nl::RecvBuffers rb(4, 8192);
  auto t0 = Clock::now();
  CHECK_EQ(nl::requestAck(k, rb, registerRequest(7), 100, nullptr), -ETIMEDOUT);
  int64_t took = msSince(t0);
  CHECK(took >= 99 && took < 100 + kSlackMs);
  CHECK_EQ(k.sent.size(), 1u);
  CHECK((k.sent[0].flags & fake::kFlagAck) != 0);
  CHECK_EQ(k.sent[0].text(), std::string("0"));
}

CASE(ackAnswer, "requestAck: the ACK ends it; exit events, foreign ACKs and ENOBUFS meanwhile go to the caller") {
  struct Events : nl::Handler {
    int others = 0, overruns = 0;
    void other(const uint8_t*, size_t, int) override { others++; }
    void overrun() override { overruns++; }
  } events;
  FakeKernel k;
  int answer = 0;
  k.onSend = [&](FakeKernel& k, const std::vector<Sent>& batch) {
    const Sent& s = batch[0];
    k.deliver(fake::exitEvent(kFamily, 100, 555));
    k.overrun(1);
    k.deliver(fake::errorReply(s.seq + 1, k.portid(), 0, kFamily));  // another request's
    k.deliver(fake::errorReply(s.seq, k.portid() + 1, 0, kFamily));  // another socket's
    k.deliver(fake::exitEvent(kFamily, 101, 556));
    k.deliver(fake::errorReply(s.seq, k.portid(), answer, kFamily));
  };
  nl::RecvBuffers rb(4, 8192);
  CHECK_EQ(nl::requestAck(k, rb, registerRequest(2), 1000, &events), 0);
  CHECK_EQ(events.others, 4);
  CHECK_EQ(events.overruns, 1);
  answer = EINVAL;
  CHECK_EQ(nl::requestAck(k, rb, registerRequest(3), 1000, &events), -EINVAL);
}

CASE(familyLookup, "resolveFamily: CTRL_ATTR_FAMILY_ID of the reply with our seq; ENOENT passed on") {
  FakeKernel k;
  uint16_t id = kFamily;
  k.onSend = [&](FakeKernel& k, const std::vector<Sent>& batch) {
    const Sent& s = batch[0];
    CHECK_EQ(s.type, fake::kCtrl);
    CHECK_EQ(s.cmd, 3);       // CTRL_CMD_GETFAMILY
    CHECK_EQ(s.attrType, 2);  // CTRL_ATTR_FAMILY_NAME
    CHECK_EQ(s.text(), std::string("TASKSTATS"));
    if (!id) return k.deliver(fake::errorReply(s.seq, k.portid(), ENOENT, fake::kCtrl));
    auto reply = [&](uint32_t seq, uint16_t famId) {
      Bytes name(s.attr), idBytes{uint8_t(famId), uint8_t(famId >> 8)};
      Bytes attrs = fake::cat({fake::nla(2 /* NAME */, name), fake::nla(1 /* ID */, idBytes)});
      return fake::nlmsg(fake::kCtrl, 0, seq, k.portid(), fake::genl(1 /* CTRL_CMD_NEWFAMILY */, attrs));
    };
    k.deliver(reply(s.seq - 1, 0x99));  // a stale answer to an earlier lookup
    k.deliver(reply(s.seq, id));
  };
  CHECK_EQ(nl::resolveFamily(k, "TASKSTATS", 500), int(kFamily));
  id = 0;
  CHECK_EQ(nl::resolveFamily(k, "TASKSTATS", 500), -ENOENT);
}

// ---- ExitReader: loss counting, the queue, the reader loop

constexpr size_t kPidRecord = kRecHeader + fake::kStatsV16;  // one exit without a TGID record

struct Reader {
  FakeKernel k;
  ExitQueue q;
  ExitReader r;
  nl::RecvBuffers rb{16, 8192};
  std::atomic<int> notified{0};
  explicit Reader(int cpu = 0, size_t maxQueueBytes = 64u << 20, bool keepNewest = false)
      : q(maxQueueBytes, [this] { notified++; }, keepNewest), r(cpu, kFamily, q) {}
  void deliverExits(std::initializer_list<uint32_t> seqs) {
    for (uint32_t s : seqs) k.deliver(fake::exitEvent(kFamily, s, 100 + s));
  }
  uint64_t operator[](Counter c) const { return r.counter(c); }
};

CASE(exitsSeqGaps, "exits: per-CPU seq gaps counted exactly, each CPU its own chain, across the u32 wrap") {
  Reader cpu0(0), cpu1(1);
  cpu0.deliverExits({10, 11, 14, 15, 20});
  CHECK_EQ(cpu0.r.readQueued(cpu0.k, cpu0.rb), 5);
  cpu1.deliverExits({0xfffffffe, 0xffffffff, 0, 3});
  CHECK_EQ(cpu1.r.readQueued(cpu1.k, cpu1.rb), 4);
  CHECK_EQ(cpu0[kReceived], 5u);
  CHECK_EQ(cpu0[kSeqGapLost], 2u + 4u);
  CHECK_EQ(cpu1[kReceived], 4u);
  CHECK_EQ(cpu1[kSeqGapLost], 2u);
  // More than one recvmmsg's worth (16 slots) in one read.
  for (uint32_t s = 21; s < 61; s++) cpu0.k.deliver(fake::exitEvent(kFamily, s, s));
  CHECK_EQ(cpu0.r.readQueued(cpu0.k, cpu0.rb), 40);
  CHECK_EQ(cpu0[kReceived], 45u);
  CHECK_EQ(cpu0[kSeqGapLost], 6u);
  // A seq that goes back starts the chain again: no loss of four billion messages.
  cpu0.deliverExits({3, 4});
  CHECK_EQ(cpu0.r.readQueued(cpu0.k, cpu0.rb), 2);
  CHECK_EQ(cpu0[kSeqGapLost], 6u);
}

CASE(exitsEnobufs, "exits: each ENOBUFS counted once, and the queue behind it still read") {
  Reader x;
  x.deliverExits({1});
  x.k.overrun(5);
  x.deliverExits({7});
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 2);
  x.k.overrun(3);
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 0);
  CHECK_EQ(x[kEnobufs], 2u);
  CHECK_EQ(x[kReceived], 2u);
  CHECK_EQ(x[kSeqGapLost], 5u);
  CHECK_EQ(x.k.drops(), 8);
}

CASE(exitsTruncated, "exits: a MSG_TRUNC datagram is counted truncated, and the seq chain stays whole") {
  Reader x;
  x.deliverExits({1});
  Bytes inner = fake::cat({fake::nla(fake::kAttrPid, fake::u32(7)),  // longer than an 8-KiB slot
                           fake::nla(fake::kTypeStats, fake::stats(7, 2, 9000))});
  x.k.deliver(fake::nlmsg(kFamily, 0, 2, 0, fake::genl(fake::kCmdNew, fake::nla(fake::kAggrPid, inner))));
  x.deliverExits({3, 5});
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 4);
  CHECK_EQ(x[kTruncated], 1u);
  CHECK_EQ(x[kReceived], 3u);
  CHECK_EQ(x[kSeqGapLost], 1u);  // seq 4 only: 2 arrived, cut short
  CHECK_EQ(x[kMalformed], 0u);
}

CASE(exitsMalformedUnsolicited, "exits: malformed datagrams and unsolicited messages counted, each kind") {
  Reader x;
  x.deliverExits({1});
  // Malformed: AGGR_PID without its PID (seq 2 still counts in the chain); a datagram shorter
  // than a netlink header; an nlmsg_len longer than the datagram.
  Bytes noPid = fake::nla(fake::kAggrPid, fake::nla(fake::kTypeStats, fake::stats(2, 2)));
  x.k.deliver(fake::nlmsg(kFamily, 0, 2, 0, fake::genl(fake::kCmdNew, noPid)));
  x.k.deliver(Bytes(10, 0));
  Bytes longer = fake::exitEvent(kFamily, 1000, 9);
  fake::put32(longer, 0, uint32_t(longer.size() + 64));
  x.k.deliver(longer);
  // Unsolicited: a query reply (our port id), nlctrl, a GET from port 0, an NLMSG_ERROR.
  x.k.deliver(fake::statsReply(kFamily, 2000, x.k.portid(), false, 9, 1));
  x.k.deliver(fake::nlmsg(fake::kCtrl, 0, 2001, 0, fake::genl(1, {})));
  x.k.deliver(fake::nlmsg(kFamily, 0, 2002, 0, fake::genl(fake::kCmdGet, {})));
  x.k.deliver(fake::errorReply(2003, 0, EINVAL, kFamily));
  x.deliverExits({3, 4});
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 10);
  CHECK_EQ(x[kReceived], 3u);
  CHECK_EQ(x[kMalformed], 3u);
  CHECK_EQ(x[kUnsolicited], 4u);
  CHECK_EQ(x[kSeqGapLost], 0u);
  CHECK_EQ(x[kTruncated], 0u);
}

CASE(exitsQueueKeepNewest, "exits: a keepNewest queue, full, lets its oldest records give way (summarized, per CPU), never the newest") {
  // Room for 10 records; two CPUs' readers share the queue.
  FakeKernel k1;
  Reader x(0, 10 * kPidRecord, true);
  ExitReader other(1, kFamily, x.q);
  x.deliverExits({1, 2, 3, 4, 5, 6, 7, 8});
  for (uint32_t s = 1; s <= 2; s++) k1.deliver(fake::exitEvent(kFamily, s, 900 + s));
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 8);
  CHECK_EQ(other.readQueued(k1, x.rb), 2);
  CHECK_EQ(x.q.summarized(0), 0u);
  // The 11th: the oldest give way down to half the queue (5 records, the new one included).
  x.deliverExits({9});
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 1);
  CHECK_EQ(x.q.summarized(0), 6u);  // seqs 1-6 of CPU 0
  CHECK_EQ(x.q.summarized(1), 0u);
  for (uint32_t s = 10; s <= 15; s++) x.deliverExits({s});
  // the 15th finds 10 queued: 7, 8, CPU 1's two, 9 and 10 give way
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 6);
  CHECK_EQ(x.q.summarized(0), 10u);
  CHECK_EQ(x.q.summarized(1), 2u);
  CHECK_EQ(x[kReceived], 15u);
  CHECK_EQ(x[kQueueDropped], 0u);
  CHECK_EQ(other.counter(kReceived), 2u);
  std::vector<uint8_t> got;
  x.q.drain([&](const uint8_t* p, size_t n) { got.assign(p, p + n); });
  CHECK_EQ(got.size(), 5 * kPidRecord);
  for (uint32_t i = 0; i < 5; i++) {
    RecHeader h;
    memcpy(&h, got.data() + i * kPidRecord, sizeof h);
    CHECK_EQ(h.seq, 11 + i);  // the newest, in order
  }
  // received = summarized + delivered, per CPU
  CHECK_EQ(x[kReceived], x.q.summarized(0) + 5);
  CHECK_EQ(other.counter(kReceived), x.q.summarized(1));
}

CASE(exitsQueueFull, "exits: a full queue drops and counts; one notification per drain; records as laid out") {
  Reader x(7, 2 * kPidRecord + 100);
  x.deliverExits({1, 2, 3, 4, 5});
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 5);
  CHECK_EQ(x[kReceived], 2u);
  CHECK_EQ(x[kQueueDropped], 3u);
  CHECK_EQ(x[kSeqGapLost], 0u);
  CHECK_EQ(x.notified.load(), 1);
  std::vector<uint8_t> got;
  x.q.drain([&](const uint8_t* p, size_t n) { got.assign(p, p + n); });
  CHECK_EQ(got.size(), 2 * kPidRecord);
  for (uint32_t i = 0; i < 2; i++) {
    RecHeader h;
    memcpy(&h, got.data() + i * kPidRecord, sizeof h);
    CHECK_EQ(h.recLen, uint32_t(kPidRecord));
    CHECK_EQ(h.cpu, 7u);
    CHECK_EQ(h.seq, i + 1);
    CHECK_EQ(h.pid, 100 + i + 1);
    CHECK_EQ(h.tgid, 0u);
    CHECK_EQ(h.pidStatsLen, uint32_t(fake::kStatsV16));
    CHECK_EQ(h.tgidStatsLen, 0u);
    CHECK(h.receivedRealtimeNs > 0);
    CHECK_EQ(fake::get32(got.data() + i * kPidRecord + kRecHeader + 8), 100 + i + 1);
  }
  // Room again; the last thread of a multi-threaded process brings its TGID record along.
  x.k.deliver(fake::exitEvent(kFamily, 6, 60, 50));
  CHECK_EQ(x.r.readQueued(x.k, x.rb), 1);
  CHECK_EQ(x.notified.load(), 2);
  x.q.drain([&](const uint8_t* p, size_t n) { got.assign(p, p + n); });
  RecHeader h;
  memcpy(&h, got.data(), sizeof h);
  CHECK_EQ(h.recLen, uint32_t(kRecHeader + 2 * fake::kStatsV16));
  CHECK_EQ(got.size(), size_t(h.recLen));
  CHECK_EQ(h.pid, 60u);
  CHECK_EQ(h.tgid, 50u);
  CHECK_EQ(h.tgidStatsLen, uint32_t(fake::kStatsV16));
  CHECK_EQ(fake::get32(got.data() + kRecHeader + fake::kStatsV16 + 8), 50u);
  CHECK_EQ(x[kSeqGapLost], 0u);
}

CASE(exitsHighWater, "exits: a notification at the first record after a drain, and one more at the high-water mark") {
  Reader x;
  const uint32_t toHigh = uint32_t((ExitQueue::kHighWaterBytes + kPidRecord - 1) / kPidRecord);
  uint32_t seq = 1;
  auto deliver = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; i++, seq++) x.k.deliver(fake::exitEvent(kFamily, seq, 100 + seq));
    while (x.r.readQueued(x.k, x.rb) > 0) {
    }
  };
  deliver(toHigh - 1);
  CHECK_EQ(x.notified.load(), 1);  // the first record only
  deliver(1);
  CHECK_EQ(x.notified.load(), 2);  // the queue reached the mark
  deliver(toHigh);
  CHECK_EQ(x.notified.load(), 2);  // once a drain
  x.q.drain([](const uint8_t*, size_t) {});
  deliver(1);
  CHECK_EQ(x.notified.load(), 3);
  CHECK_EQ(x[kReceived], uint64_t(2 * toHigh + 1));
  // A small queue's mark is a quarter of it.
  Reader small(1, 8 * kPidRecord);
  small.deliverExits({1});
  while (small.r.readQueued(small.k, small.rb) > 0) {
  }
  CHECK_EQ(small.notified.load(), 1);
  small.deliverExits({2});
  while (small.r.readQueued(small.k, small.rb) > 0) {
  }
  CHECK_EQ(small.notified.load(), 2);
}

CASE(exitsQuietDrains, "exits: after a drain of quietBytes or less, no notice until the high-water mark; after a larger one, at the first record") {
  Reader x;
  x.q.setQuietBytes(2 * kPidRecord);
  const uint32_t toHigh = uint32_t((ExitQueue::kHighWaterBytes + kPidRecord - 1) / kPidRecord);
  uint32_t seq = 1;
  auto deliver = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; i++, seq++) x.k.deliver(fake::exitEvent(kFamily, seq, 100 + seq));
    while (x.r.readQueued(x.k, x.rb) > 0) {
    }
  };
  size_t drained = 0;
  auto drain = [&] { x.q.drain([&](const uint8_t*, size_t n) { drained = n; }); };
  drain();  // empty: quiet
  deliver(3);
  CHECK_EQ(x.notified.load(), 0);  // quiet: the drainer comes by itself
  drain();
  CHECK_EQ(drained, 3 * kPidRecord);  // more than quietBytes: the next record is announced
  deliver(1);
  CHECK_EQ(x.notified.load(), 1);
  drain();  // one record: quiet again
  deliver(toHigh - 1);
  CHECK_EQ(x.notified.load(), 1);
  deliver(1);
  CHECK_EQ(x.notified.load(), 2);  // but a storm is announced at the high-water mark
}

// ---- ReaderGroup: one thread, one or several sockets, each with its own counters

// Until pred holds, or ms pass: whether it held.
template <class P>
bool waitFor(P pred, int ms = 5000) {
  auto t0 = Clock::now();
  while (!pred()) {
    if (msSince(t0) > ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The VmFlags line of the mapping that holds addr, from /proc/self/smaps ("" if none).
std::string vmFlagsOf(const void* addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  CHECK(f != nullptr);
  char line[512];
  bool inside = false;
  std::string flags;
  uintptr_t a = uintptr_t(addr);
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) inside = a >= lo && a < hi;
    if (inside && strncmp(line, "VmFlags:", 8) == 0) { flags = line + 8; break; }
  }
  fclose(f);
  return flags;
}

CASE(byteBufferReserved, "ByteBuffer: one mapping reserved whole, never moved, apart from V8's (wf); the limit holds") {
  // The reader that appends must never take the mmap lock: the address stays, whatever is
  // appended.
  ByteBuffer b(1 << 20);
  uint8_t* at = b.data();
  CHECK(at != nullptr);
  CHECK_EQ(b.mapError(), 0);
  CHECK(vmFlagsOf(at).find(" wf") != std::string::npos);  // MADV_WIPEONFORK: never merged with V8's mappings
  for (int i = 0; i < 1024; i++) {
    uint8_t* p = b.append(1024);
    CHECK(p == at + size_t(i) * 1024);
    memset(p, 0xab, 1024);
  }
  CHECK_EQ(b.size(), size_t(1) << 20);
  CHECK(b.append(1) == nullptr);  // past the limit: refused, nothing changed
  CHECK_EQ(b.size(), size_t(1) << 20);
  CHECK_EQ(b.touched(), size_t(1) << 20);
  b.release();
  CHECK_EQ(b.size(), 0u);
  CHECK_EQ(b.touched(), 0u);
  CHECK(b.data() == at);
  CHECK_EQ(b.append(8)[0], 0);  // given back: the pages come back zeroed

  // a mapping that cannot be made (larger than the address space): said, and nothing taken
  ByteBuffer huge(size_t(1) << 62);
  CHECK_EQ(huge.mapError(), ENOMEM);
  CHECK(huge.append(1) == nullptr);
  ExitQueue q(size_t(1) << 62, nullptr);
  CHECK_EQ(q.mapError(), ENOMEM);
}

CASE(drainBufferSize, "a drained batch too large for the scratch: twice the scratch, at most the limit, or the batch") {
  CHECK_EQ(drainBufferBytes(100, 0, 1 << 20), 100u);  // no scratch: the batch's size
  CHECK_EQ(drainBufferBytes(100, 60, 1 << 20), 120u);  // twice the scratch
  CHECK_EQ(drainBufferBytes(300, 100, 1 << 20), 300u);  // the batch, when larger
  CHECK_EQ(drainBufferBytes(700, 600, 1000), 1000u);  // the queue's limit caps it
  CHECK_EQ(drainBufferBytes(1000, 999, 1000), 1000u);  // a full queue's batch still fits
  CHECK_EQ(drainBufferBytes(0, 0, 1000), 0u);
}

// The tests' bound on a reader whose wake never comes (the listener's is ReaderGroup::kStopCheckMs).
constexpr int kTestStopCheckMs = 1000;

// n fake sockets for CPUs 10, 11, ..., each read by its own ExitReader into one queue (as the
// addon's listener does), served by one ReaderGroup on a thread of its own.
struct Group {
  ExitQueue q{64u << 20, nullptr};
  std::vector<std::unique_ptr<FakeKernel>> k;
  std::vector<std::unique_ptr<ExitReader>> r;
  ReaderGroup g;
  int wake = -1;
  std::atomic<bool> stopping{false};
  std::atomic<int> result{1};
  std::thread t;
  Group(size_t n, bool withWake = true) {
    if (withWake) wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    std::vector<ReaderGroup::Member> members;
    for (size_t i = 0; i < n; i++) {
      k.push_back(std::make_unique<FakeKernel>(uint32_t(5000 + i)));
      r.push_back(std::make_unique<ExitReader>(int(10 + i), kFamily, q));
      members.push_back({k.back().get(), r.back().get()});
    }
    if (g.open(members, wake) != 0) throw Failure("ReaderGroup::open failed");
  }
  ~Group() {
    stopping = true;
    if (t.joinable()) t.join();
    if (wake >= 0) close(wake);
  }
  void start(long coalesceNs) {
    t = std::thread([this, coalesceNs] {
      nl::RecvBuffers rb(16, 8192);
      result = g.run(rb, stopping, coalesceNs, kTestStopCheckMs);
    });
  }
  // Wake the thread; how long it took to end.
  int64_t wakeAndJoin() {
    uint64_t one = 1;
    if (write(wake, &one, sizeof one) != ssize_t(sizeof one)) throw Failure("wake write failed");
    auto t0 = Clock::now();
    t.join();
    return msSince(t0);
  }
  uint64_t at(size_t i, Counter c) const { return r[i]->counter(c); }
};

CASE(groupOne, "group: one socket is read as exits come, and the loop ends as soon as it is woken") {
  Group x(1);
  x.start(1000000);
  for (uint32_t s = 1; s <= 50; s++) x.k[0]->deliver(fake::exitEvent(kFamily, s, s));
  CHECK(waitFor([&] { return x.at(0, kReceived) == 50; }));
  CHECK(x.wakeAndJoin() < 500);
  CHECK_EQ(x.result.load(), 0);
  CHECK_EQ(x.at(0, kSeqGapLost), 0u);
}

CASE(groupExact, "group: one thread serving 8 sockets keeps each socket's seq gaps, ENOBUFS, drops and kinds exact") {
  constexpr size_t kSockets = 8, kRounds = 30, kPerRound = 20;
  Group x(kSockets);
  x.start(1000000);
  struct Expect {
    uint64_t received = 0, gaps = 0, enobufs = 0, truncated = 0, unsolicited = 0, drops = 0;
    uint32_t next = 0, last = 0;
    bool have = false;
    std::vector<uint32_t> seqs;  // of the records queued, in order
  };
  std::vector<Expect> want(kSockets);
  for (size_t i = 0; i < kSockets; i++) want[i].next = uint32_t(i * 100000 + (i == 2 ? 0xfffffff0u : 0));
  auto chain = [](Expect& e, uint32_t seq) {
    if (e.have) e.gaps += uint32_t(seq - e.last - 1);
    e.last = seq;
    e.have = true;
  };
  for (size_t round = 0; round < kRounds; round++) {
    for (size_t i = 0; i < kSockets; i++) {
      FakeKernel& k = *x.k[i];
      Expect& e = want[i];
      if (i == 6) continue;  // an idle CPU: its socket stays silent throughout
      if (i == 4 && round % 3 == 0) {
        // an overrun with nothing queued behind it: the ENOBUFS alone must wake the thread
        k.overrun(2);
        e.enobufs++;
        e.drops += 2;
        e.next += 2;
        continue;
      }
      for (size_t n = 0; n < kPerRound; n++) {
        uint32_t seq = e.next++;
        if (i == 3 && n == 5) {  // a congestion episode of 4 messages
          k.overrun(4);
          e.enobufs++;
          e.drops += 4;
          e.next += 3;
          continue;
        }
        if (i == 5 && n == 7) {  // cut short: counted truncated, its seq still in the chain
          Bytes inner = fake::cat({fake::nla(fake::kAttrPid, fake::u32(seq)),
                                   fake::nla(fake::kTypeStats, fake::stats(seq, seq, 9000))});
          k.deliver(fake::nlmsg(kFamily, 0, seq, 0, fake::genl(fake::kCmdNew, fake::nla(fake::kAggrPid, inner))));
          e.truncated++;
          chain(e, seq);
          continue;
        }
        // socket i loses every (i + 2)th message on the way: a seq gap
        if (i != 0 && seq % (i + 2) == 0) continue;
        if (i == 7 && n % 4 == 0) {  // a stale registration's neighbour: not an exit event
          k.deliver(fake::statsReply(kFamily, 9000 + uint32_t(n), k.portid(), false, 9, 1));
          e.unsolicited++;
        }
        k.deliver(fake::exitEvent(kFamily, seq, uint32_t(1000 * i + n)));
        e.received++;
        e.seqs.push_back(seq);
        chain(e, seq);
      }
    }
    // Round by round, so a fake socket's buffer never overflows on a slow (sanitized) build.
    CHECK(waitFor([&] {
      for (size_t i = 0; i < kSockets; i++)
        if (x.at(i, kReceived) != want[i].received || x.at(i, kEnobufs) != want[i].enobufs ||
            x.at(i, kTruncated) != want[i].truncated || x.at(i, kUnsolicited) != want[i].unsolicited)
          return false;
      return true;
    }));
  }
  CHECK(x.wakeAndJoin() < 500);
  CHECK_EQ(x.result.load(), 0);
  std::vector<std::vector<uint32_t>> got(kSockets);
  x.q.drain([&](const uint8_t* p, size_t len) {
    for (size_t off = 0; off < len;) {
      RecHeader h;
      memcpy(&h, p + off, sizeof h);
      CHECK(h.cpu >= 10 && h.cpu < 10 + kSockets);
      got[h.cpu - 10].push_back(h.seq);
      off += h.recLen;
    }
  });
  for (size_t i = 0; i < kSockets; i++) {
    const Expect& e = want[i];
    CHECK_EQ(x.at(i, kReceived), e.received);
    CHECK_EQ(x.at(i, kSeqGapLost), e.gaps);
    CHECK_EQ(x.at(i, kEnobufs), e.enobufs);
    CHECK_EQ(x.at(i, kTruncated), e.truncated);
    CHECK_EQ(x.at(i, kUnsolicited), e.unsolicited);
    CHECK_EQ(x.at(i, kMalformed), 0u);
    CHECK_EQ(x.at(i, kQueueDropped), 0u);
    CHECK_EQ(uint64_t(x.k[i]->drops()), e.drops);
    CHECK(got[i] == e.seqs);  // every record under its own CPU, in its socket's order
  }
  // The patterns above did produce each kind of loss somewhere.
  CHECK(want[0].gaps == 0 && want[1].gaps > 0 && want[3].gaps > 0 && want[3].enobufs == kRounds);
  CHECK(want[4].enobufs == kRounds / 3 && want[5].truncated == kRounds && want[6].received == 0);
}

CASE(groupStormWake, "group: a wake during a storm on every socket ends the loop promptly, mid-pause or mid-read") {
  Group x(4);
  x.start(1000000);
  std::atomic<bool> storming{true};
  std::thread storm([&] {
    std::vector<uint32_t> seq(4, 1);
    while (storming.load())
      for (size_t i = 0; i < 4; i++) {
        // a full fake socket (the reader has stopped) is the storm's end, not an error
        try {
          x.k[i]->deliver(fake::exitEvent(kFamily, seq[i], seq[i]));
          seq[i]++;
        } catch (const std::runtime_error&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
  });
  CHECK(waitFor([&] { return x.at(0, kReceived) > 200 && x.at(3, kReceived) > 200; }));
  int64_t took = x.wakeAndJoin();
  storming = false;
  storm.join();
  CHECK(took < 500);
  CHECK_EQ(x.result.load(), 0);
  for (size_t i = 0; i < 4; i++) CHECK_EQ(x.at(i, kSeqGapLost), 0u);
}

CASE(groupStopping, "group: 16 sockets whose wake never comes still stop within stopCheckMs") {
  Group x(16, false);
  x.start(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  x.stopping = true;
  auto t0 = Clock::now();
  x.t.join();
  CHECK(msSince(t0) < kTestStopCheckMs + kSlackMs);
  CHECK_EQ(x.result.load(), 0);
}

CASE(groupReadError, "group: a socket whose read fails gets its errno and is left out; the others are still read") {
  // Socket 1 fails every read once readable; socket 0 must not notice.
  struct Broken : FakeKernel {
    using FakeKernel::FakeKernel;
    int recvBatch(struct mmsghdr*, unsigned) override { return -EBADF; }
  };
  ExitQueue q(1 << 20, nullptr);
  FakeKernel good(1);
  Broken bad(2);
  ExitReader r0(0, kFamily, q), r1(1, kFamily, q);
  ReaderGroup g;
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK_EQ(g.open({{&good, &r0}, {&bad, &r1}}, wake), 0);
  std::atomic<bool> stopping{false};
  int result = 1;
  std::thread t([&] {
    nl::RecvBuffers rb(16, 8192);
    result = g.run(rb, stopping, 0, kTestStopCheckMs);
  });
  bad.deliver(fake::exitEvent(kFamily, 1, 1));
  CHECK(waitFor([&] { return r1.readError() == EBADF; }));
  for (uint32_t s = 1; s <= 30; s++) good.deliver(fake::exitEvent(kFamily, s, s));
  CHECK(waitFor([&] { return r0.counter(kReceived) == 30; }));
  uint64_t one = 1;
  CHECK_EQ(write(wake, &one, sizeof one), ssize_t(sizeof one));
  t.join();
  close(wake);
  CHECK_EQ(result, 0);
  CHECK_EQ(r0.readError(), 0);
  CHECK_EQ(r1.counter(kReceived), 0u);
  // A group whose every socket failed has nothing left to wait for: it ends by itself.
  ReaderGroup alone;
  Broken bad2(3);
  ExitReader r2(2, kFamily, q);
  CHECK_EQ(alone.open({{&bad2, &r2}}, -1), 0);
  bad2.deliver(fake::exitEvent(kFamily, 1, 1));
  nl::RecvBuffers rb(16, 8192);
  auto t0 = Clock::now();
  CHECK_EQ(alone.run(rb, stopping, 0), 0);
  CHECK(msSince(t0) < kSlackMs);
  CHECK_EQ(r2.readError(), EBADF);
}

CASE(groupOpenError, "group: a socket that cannot be polled fails open() with its errno, before any thread runs") {
  struct Unpollable : FakeKernel {
    int pollFd() const override { return -1; }
  } k;
  ExitQueue q(1 << 20, nullptr);
  ExitReader r(0, kFamily, q);
  ReaderGroup g;
  CHECK_EQ(g.open({{&k, &r}}, -1), -EBADF);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--list") {
    for (const Case& c : registry()) printf("%s\n", c.name);
    return 0;
  }
  int ran = 0, failed = 0;
  for (const Case& c : registry()) {
    if (argc > 1 && c.name != std::string(argv[1])) continue;
    ran++;
    try {
      c.fn();
      printf("ok - %s\n", c.name);
    } catch (const std::exception& e) {
      failed++;
      printf("not ok - %s\n", c.name);
      fprintf(stderr, "%s: %s\n", c.name, e.what());
    }
  }
  if (!ran) {
    fprintf(stderr, "no case named \"%s\" (--list names them)\n", argv[1]);
    return 2;
  }
  return failed ? 1 : 0;
}
