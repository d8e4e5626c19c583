#include "exit-lines.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exit-reader.h"

namespace lines {
namespace {

// The output of one line: checked against its room once per line (kLineRoom), not per write.
struct Out {
  uint8_t* p;
  void put(char c) { *p++ = uint8_t(c); }
  void put(const char* s, size_t n) {
    memcpy(p, s, n);
    p += n;
  }
  void put(const std::string& s) { put(s.data(), s.size()); }
  template <size_t N>
  void lit(const char (&s)[N]) {
    put(s, N - 1);
  }
  void spaces(size_t n) {
    memset(p, ' ', n);
    p += n;
  }
  // decimal digits of v; returns how many
  size_t u64(uint64_t v) {
    char buf[20];
    size_t n = 0;
    do {
      buf[n++] = char('0' + v % 10);
      v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) p[i] = uint8_t(buf[n - 1 - i]);
    p += n;
    return n;
  }
  void i64(int64_t v) {
    if (v < 0) {
      put('-');
      u64(uint64_t(0) - uint64_t(v));
    } else {
      u64(uint64_t(v));
    }
  }
  // padNum(String(v), w, true): left-aligned, never cut
  void padEnd(uint64_t v, size_t w) {
    size_t n = u64(v);
    if (n < w) spaces(w - n);
  }
};

inline uint8_t rd8(const uint8_t* b, int32_t o) { return b[o]; }
inline uint16_t rd16(const uint8_t* b, int32_t o) {
  uint16_t v;
  memcpy(&v, b + o, 2);
  return v;
}
inline uint32_t rd32(const uint8_t* b, int32_t o) {
  uint32_t v;
  memcpy(&v, b + o, 4);
  return v;
}
inline uint64_t rd64(const uint8_t* b, int32_t o) {
  uint64_t v;
  memcpy(&v, b + o, 8);
  return v;
}
// num(): a u64 as a JS number (rounded above 2^53, as Number(bigint) rounds)
inline double num64(const uint8_t* b, int32_t o) { return double(rd64(b, o)); }

constexpr uint64_t kTwo53 = uint64_t(1) << 53;
constexpr int64_t kMaxSafe = int64_t(kTwo53) - 1;

// The plan of a STATS payload: its version as sent, at exactly that version's struct size.
const Plan* planOf(const Config& c, const uint8_t* s, uint32_t len) {
  if (len < 2) return nullptr;
  uint16_t v = rd16(s, 0);
  if (v == 0 || v >= c.plans.size()) return nullptr;
  const Plan& p = c.plans[v];
  return p.length && p.length == len ? &p : nullptr;
}

// ac_comm as printable ASCII (the JS fast path of printable()): its length, or -1 if any
// byte is not (JS escapes it: a hole).
int commLength(const uint8_t* s, int32_t at) {
  int n = 0;
  for (; n < 32 && s[at + n]; n++)
    if (s[at + n] < 0x20 || s[at + n] > 0x7e) return -1;
  return n;
}

// Nothing src/model/plausibility.ts can flag in an exit record (exitSuspects): each rule's
// bound without its slack, which only makes the test stricter.
bool surelyPlausible(const Plan& p, const uint8_t* s, double receivedMs, double switchedOnMs) {
  if (p.etime < 0) return false;
  double lifeNs = num64(s, p.etime) * 1000;
  // switchSuspects: a switch-on during the thread's life (startMs as exitContext has it)
  if (switchedOnMs >= receivedMs - lifeNs / 1e6 - 1) return false;
  const PlanCategory* io = nullptr;
  const PlanCategory* cpu = nullptr;
  for (const PlanCategory& cat : p.cats) {
    double total = num64(s, cat.total);
    double count = num64(s, cat.count);
    if (total > lifeNs) return false;
    if (cat.max >= 0) {
      double max = num64(s, cat.max);
      if (max > lifeNs) return false;
      if (count > 0 && max > total) return false;
    }
    if (!cat.isCpu && count == 0 && total > 0) return false;
    if (cat.isCpu) cpu = &cat;
    if (cat.isIo) io = &cat;
  }
  if (io && cpu && p.runVirtual >= 0) {
    double ioNs = num64(s, io->total);
    if (ioNs > 0 && ioNs + num64(s, cpu->total) + num64(s, p.runVirtual) > lifeNs) return false;
  }
  return true;
}

// new Date(ms).toISOString(): 2026-11-30T18:33:20.136Z (24 characters)
void isoTime(Out& o, uint64_t ms) {
  uint64_t secs = ms / 1000;
  int64_t days = int64_t(secs / 86400);
  uint32_t sod = uint32_t(secs % 86400);
  // civil_from_days (H. Hinnant)
  int64_t z = days + 719468;
  int64_t era = z / 146097;
  uint32_t doe = uint32_t(z - era * 146097);
  uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = int64_t(yoe) + era * 400;
  uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint32_t mp = (5 * doy + 2) / 153;
  uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  auto digits = [&](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--, v /= 10) o.p[i] = uint8_t('0' + v % 10);
    o.p += n;
  };
  digits(uint64_t(y), 4);
  o.put('-');
  digits(m, 2);
  o.put('-');
  digits(d, 2);
  o.put('T');
  digits(sod / 3600, 2);
  o.put(':');
  digits(sod / 60 % 60, 2);
  o.put(':');
  digits(sod % 60, 2);
  o.put('.');
  digits(ms % 1000, 3);
  o.put('Z');
}

// output/format.ts exitStatusText, cut or padded to 14 (pad(…, 14, true))
void exitStatus(Out& o, const Config& c, uint32_t st) {
  uint8_t buf[64];
  Out t{buf};
  uint32_t sig = st & 0x7f;
  if (sig == 0) {
    t.lit("exit ");
    t.u64((st >> 8) & 0xff);
  } else {
    if (sig < c.signalNames.size() && !c.signalNames[sig].empty() && c.signalNames[sig].size() < 32) {
      t.put(c.signalNames[sig]);
    } else {
      t.lit("signal ");
      t.u64(sig);
    }
    if (st & 0x80) t.lit(" core");
  }
  size_t n = std::min(size_t(t.p - buf), size_t(14));
  o.put(reinterpret_cast<const char*>(buf), n);
  o.spaces(14 - n);
}

void jsonComm(Out& o, const uint8_t* s, int32_t at, int n) {
  o.put('"');
  for (int i = 0; i < n; i++) {
    char ch = char(s[at + i]);
    if (ch == '"' || ch == '\\') o.put('\\');
    o.put(ch);
  }
  o.put('"');
}

// A value as jsonLine writes it: a number while exact, a decimal string above 2^53-1.
void jsonU64(Out& o, uint64_t v) {
  if (v < kTwo53) {
    o.u64(v);
  } else {
    o.put('"');
    o.u64(v);
    o.put('"');
  }
}
void jsonS64(Out& o, int64_t v) {
  bool exact = v >= -kMaxSafe && v <= kMaxSafe;
  if (!exact) o.put('"');
  o.i64(v);
  if (!exact) o.put('"');
}

// stats.raw as JSON: every field of the plan, in layout order. False: a name JS would escape.
bool jsonStats(Out& o, const Plan& p, const uint8_t* s) {
  o.put('{');
  bool first = true;
  for (const PlanField& f : p.fields) {
    if (!first) o.put(',');
    first = false;
    o.put(f.key);
    switch (f.type) {
      case FieldType::U8:
        o.u64(rd8(s, f.offset));
        break;
      case FieldType::U16:
        o.u64(rd16(s, f.offset));
        break;
      case FieldType::U32:
        o.u64(rd32(s, f.offset));
        break;
      case FieldType::U64:
        jsonU64(o, rd64(s, f.offset));
        break;
      case FieldType::Comm: {
        int n = commLength(s, f.offset);
        if (n < 0) return false;
        jsonComm(o, s, f.offset, n);
        break;
      }
      case FieldType::Timespec: {
        int64_t sec, nsec;
        memcpy(&sec, s + f.offset, 8);
        memcpy(&nsec, s + f.offset + 8, 8);
        o.lit("{\"tv_sec\":");
        jsonS64(o, sec);
        o.lit(",\"tv_nsec\":");
        jsonS64(o, nsec);
        o.put('}');
        break;
      }
    }
  }
  o.put('}');
  return true;
}

// Number.prototype.toFixed(digits) of x (finite, 0 <= x < 1e21, digits <= 2), exactly: the
// decimal nearest x's exact binary value, ties up (toFixed picks the larger n), into buf.
size_t toFixed(char* buf, double x, int digits) {
  static const uint64_t kPow10[] = {1, 10, 100};
  int e;
  double m = frexp(x, &e);  // x = m * 2^e, 0.5 <= m < 1
  uint64_t mant = uint64_t(ldexp(m, 53));
  int ex = e - 53;  // x = mant * 2^ex exactly
  unsigned __int128 v = (unsigned __int128)mant * kPow10[digits];
  unsigned __int128 n;
  if (ex >= 0) {
    n = v << ex;  // x < 1e21: fits
  } else if (-ex >= 120) {
    n = 0;  // v < 2^63: far below one half
  } else {
    int sh = -ex;
    n = v >> sh;
    unsigned __int128 rem = v - (n << sh);
    if (rem >= (unsigned __int128)1 << (sh - 1)) n++;
  }
  char rev[48];
  size_t k = 0;
  do {
    rev[k++] = char('0' + int(n % 10));
    n /= 10;
  } while (n);
  while (k <= size_t(digits)) rev[k++] = '0';
  size_t len = 0;
  for (size_t i = k; i-- > 0;) {
    buf[len++] = rev[i];
    if (i == size_t(digits) && digits) buf[len++] = '.';
  }
  return len;
}

// src/output/format.ts fmtNs(ns) without a width (its plain form), into buf (64 bytes)
size_t fmtNs(char* buf, double ns) {
  size_t n;
  const char* unit;
  if (ns < 1e3) {
    n = toFixed(buf, ns, 0);
    unit = "ns";
  } else if (ns < 1e6) {
    n = toFixed(buf, ns / 1e3, ns < 1e4 ? 2 : 1);
    unit = "us";
  } else if (ns < 1e9) {
    n = toFixed(buf, ns / 1e6, ns < 1e7 ? 2 : 1);
    unit = "ms";
  } else {
    n = toFixed(buf, ns / 1e9, ns < 1e10 ? 2 : 1);
    unit = "s";
  }
  for (; *unit; unit++) buf[n++] = *unit;
  return n;
}

struct Rec {
  const RecHeader* h;
  const uint8_t* pid;
  const uint8_t* tgid;  // null: no TGID record
  const Plan* p;
  uint64_t ms;
};

// One record's line (exitJson / exitText of src/output/listen.ts); false: a hole.
bool line(Out& o, const Config& c, const Rec& r) {
  const Plan& p = *r.p;
  const uint8_t* s = r.pid;
  int commLen = commLength(s, p.comm);
  if (commLen < 0) return false;
  uint32_t st = rd32(s, p.exitcode);
  uint32_t sig = st & 0x7f;
  bool ended = (rd8(s, p.flag) & 0x20) != 0 || r.tgid;
  uint64_t tgid = r.h->tgid ? r.h->tgid : p.tgid >= 0 && rd32(s, p.tgid) ? rd32(s, p.tgid) : r.h->pid;
  uint32_t ppid = rd32(s, p.ppid);
  uint32_t uid = rd32(s, p.uid);
  // JS decodes (validates) the TGID record too, and counts a bad one lost: only a planned one here
  const Plan* tp = nullptr;
  if (r.tgid) {
    tp = planOf(c, r.tgid, r.h->tgidStatsLen);
    if (!tp) return false;
  }
  if (c.json) {
    o.lit("{\"type\":\"exit\",\"time\":\"");
    isoTime(o, r.ms);
    o.lit("\",\"cpu\":");
    o.u64(r.h->cpu);
    o.lit(",\"seq\":");
    o.u64(r.h->seq);
    o.lit(",\"pid\":");
    o.u64(r.h->pid);
    o.lit(",\"tgid\":");
    o.u64(tgid);
    o.lit(",\"ppid\":");
    o.u64(ppid);
    o.lit(",\"uid\":");
    o.u64(uid);
    o.lit(",\"gid\":");
    o.u64(rd32(s, p.gid));
    o.lit(",\"comm\":");
    jsonComm(o, s, p.comm, commLen);
    if (sig == 0) {
      o.lit(",\"exit_code\":");
      o.u64((st >> 8) & 0xff);
      o.lit(",\"signal\":null,\"core_dumped\":false");
    } else {
      o.lit(",\"exit_code\":null,\"signal\":");
      o.u64(sig);
      if (st & 0x80)
        o.lit(",\"core_dumped\":true");
      else
        o.lit(",\"core_dumped\":false");
    }
    if (ended)
      o.lit(",\"process_ended\":true,\"stats\":");
    else
      o.lit(",\"process_ended\":false,\"stats\":");
    if (!jsonStats(o, p, s)) return false;
    if (tp) {
      o.lit(",\"tgid_stats\":");
      if (!jsonStats(o, *tp, r.tgid)) return false;
    }
    o.lit("}\n");
    return true;
  }
  // text: 18:33:20.136 cpu 1   pid 17229   tgid 17229   ppid 11668   uid 0     forker          exit 0         P life   5.00us waited-most CPU 1.16us
  char life[64];
  size_t lifeLen = fmtNs(life, num64(s, p.etime) * 1000);
  if (lifeLen > 8) return false;  // JS's narrower forms (minutes, hours...)
  Out t{o.p};
  isoTime(t, r.ms);
  memmove(o.p, o.p + 11, 12);  // HH:MM:SS.mmm of the ISO time
  o.p += 12;
  o.lit(" cpu ");
  o.padEnd(r.h->cpu, 3);
  o.lit(" pid ");
  o.padEnd(r.h->pid, 7);
  o.lit(" tgid ");
  o.padEnd(tgid, 7);
  o.lit(" ppid ");
  o.padEnd(ppid, 7);
  o.lit(" uid ");
  o.padEnd(uid, 5);
  o.put(' ');
  // padText(comm, 15): printable() doubles a backslash, so an escape always means a byte
  size_t width = 0;
  for (int i = 0; i < commLen; i++, width++) {
    char ch = char(s[p.comm + i]);
    if (ch == '\\') {
      o.put('\\');
      width++;
    }
    o.put(ch);
  }
  if (width < 15) o.spaces(15 - width);
  o.put(' ');
  exitStatus(o, c, st);
  o.put(' ');
  o.put(ended ? 'P' : 'T');
  o.lit(" life ");
  o.spaces(8 - lifeLen);
  o.put(life, lifeLen);
  o.lit(" waited-most ");
  // lifeSummary: the first category with the largest total, among those above 0
  const PlanCategory* best = nullptr;
  double bestNs = 0;
  for (const PlanCategory& cat : p.cats) {
    double total = num64(s, cat.total);
    if (total > bestNs) {
      best = &cat;
      bestNs = total;
    }
  }
  if (best) {
    char ns[64];
    o.put(best->key);
    o.put(' ');
    o.put(ns, fmtNs(ns, bestNs));
  } else {
    o.put('-');
  }
  o.put('\n');
  return true;
}

}  // namespace

size_t widestJson(const Plan& p) {
  size_t n = 2;  // {}
  for (const PlanField& f : p.fields) {
    n += f.key.size() + 1;  // and its comma
    switch (f.type) {
      case FieldType::U8:
      case FieldType::U16:
      case FieldType::U32:
        n += 10;
        break;
      case FieldType::U64:
        n += 22;  // 20 digits and quotes
        break;
      case FieldType::Comm:
        n += 2 + 2 * 32;  // quotes, every byte escaped
        break;
      case FieldType::Timespec:
        n += 25 + 2 * 22;
        break;
    }
  }
  return n;
}

Result formatBatch(const Config& c, const uint8_t* data, size_t len, size_t from, uint8_t* out, size_t cap,
                   double switchedOnMs, Hole* holes, size_t maxHoles) {
  Result res{from, 0, 0};
  Out o{out};
  while (res.next + kRecHeader <= len) {
    if (size_t(o.p - out) + kLineRoom > cap || res.holes == maxHoles) break;
    size_t off = res.next;
    RecHeader h;
    memcpy(&h, data + off, kRecHeader);
    bool corrupt = h.recLen < kRecHeader || off + h.recLen > len;
    size_t pidAt = off + kRecHeader;
    size_t tgidAt = pidAt + ((size_t(h.pidStatsLen) + 7) & ~size_t(7));
    bool fits = !corrupt && pidAt + h.pidStatsLen <= off + h.recLen &&
                (!h.tgidStatsLen || tgidAt + h.tgidStatsLen <= off + h.recLen);
    Rec r{&h, data + pidAt, h.tgidStatsLen ? data + tgidAt : nullptr, nullptr, h.receivedRealtimeNs / 1000000};
    if (fits) r.p = planOf(c, r.pid, h.pidStatsLen);
    uint8_t* start = o.p;
    if (!r.p || !surelyPlausible(*r.p, r.pid, double(r.ms), switchedOnMs) || !line(o, c, r)) {
      o.p = start;
      holes[res.holes++] = Hole{uint32_t(off), uint32_t(o.p - out)};
    }
    res.next = corrupt ? len : off + h.recLen;
  }
  res.used = size_t(o.p - out);
  return res;
}

}  // namespace lines
