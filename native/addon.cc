// delaytop's native addon: taskstats over generic netlink, and the ioprio syscalls Node lacks.
#include <napi.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include <algorithm>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cgroup.h"
#include "errors.h"
#include "exit-lines.h"
#include "ioprio.h"
#include "listener.h"
#include "nl.h"
#include "query.h"

namespace {

Napi::Object aggrObject(Napi::Env env, const nl::Aggr& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", a.id);
  o.Set("offset", a.statsOffset);
  o.Set("length", a.statsLen);
  return o;
}

// parseDatagram(buf: Uint8Array, familyId: number): every message of one datagram as
// the native walker sees it. Exposed for the decoder fixtures and the fuzz tests.
Napi::Value ParseDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "parseDatagram(buf: Uint8Array, familyId: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto u8 = info[0].As<Napi::Uint8Array>();
  uint16_t family = uint16_t(info[1].As<Napi::Number>().Uint32Value());
  const uint8_t* buf = u8.Data();
  size_t len = u8.ByteLength();
  Napi::Array msgs = Napi::Array::New(env);
  size_t off = 0;
  uint32_t k = 0;
  while (off < len) {
    nl::Msg m;
    size_t next;
    nl::ParseStatus s = nl::parseMsg(buf, len, off, family, &m, &next);
    Napi::Object o = Napi::Object::New(env);
    if (s != nl::ParseStatus::Ok) {
      o.Set("error", nl::parseStatusText(s));
      msgs.Set(k++, o);
      break;
    }
    o.Set("type", m.type);
    o.Set("seq", m.seq);
    o.Set("portId", m.portid);
    o.Set("cmd", m.cmd);
    if (m.type == NLMSG_ERROR) o.Set("errno", m.error);
    if (m.pid.present) o.Set("pid", aggrObject(env, m.pid));
    if (m.tgid.present) o.Set("tgid", aggrObject(env, m.tgid));
    msgs.Set(k++, o);
    if (next <= off) break;
    off = next;
  }
  return msgs;
}

// new ExitLines(config): exit-lines.h's formatter, with the plans src/kernel/exit-lines.ts
// builds from the layout table. format(batch: ArrayBuffer, length, from, out: Uint8Array,
// switchedOnMs, holes: Uint32Array) -> {next, used, holes}: the batch is its first length
// bytes; holes[2i] is the batch offset of a record JS formats, holes[2i+1] where its line
// goes in out.
class ExitLines : public Napi::ObjectWrap<ExitLines> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ExitLines", {InstanceMethod("format", &ExitLines::Format)});
  }

  explicit ExitLines(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExitLines>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "new ExitLines(config)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object c = info[0].As<Napi::Object>();
    config_.json = c.Get("json").ToBoolean();
    Napi::Array sigs = c.Get("signalNames").As<Napi::Array>();
    for (uint32_t i = 0; i < sigs.Length(); i++) config_.signalNames.push_back(sigs.Get(i).ToString());
    Napi::Array plans = c.Get("plans").As<Napi::Array>();
    config_.plans.resize(plans.Length());
    for (uint32_t v = 0; v < plans.Length(); v++) {
      Napi::Value pv = plans.Get(v);
      if (!pv.IsObject()) continue;
      if (!readPlan(env, pv.As<Napi::Object>(), config_.plans[v])) return;
    }
  }

 private:
  static int32_t offsetOf(Napi::Object o, const char* name) { return o.Get(name).As<Napi::Number>().Int32Value(); }

  // Every offset is checked against the plan's length here, so the formatter reads inside
  // any STATS payload it accepts (it accepts only payloads of exactly that length).
  static bool readPlan(Napi::Env env, Napi::Object o, lines::Plan& p) {
    static const std::pair<const char*, std::pair<lines::FieldType, uint32_t>> kTypes[] = {
        {"u8", {lines::FieldType::U8, 1}},      {"u16", {lines::FieldType::U16, 2}},
        {"u32", {lines::FieldType::U32, 4}},    {"u64", {lines::FieldType::U64, 8}},
        {"comm", {lines::FieldType::Comm, 32}}, {"timespec", {lines::FieldType::Timespec, 16}},
    };
    p.length = o.Get("length").As<Napi::Number>().Uint32Value();
    auto bad = [&](const std::string& what) {
      Napi::RangeError::New(env, "ExitLines plan: " + what).ThrowAsJavaScriptException();
      p.length = 0;
      return false;
    };
    auto inside = [&](int32_t off, uint32_t size) { return off < 0 || uint64_t(off) + size <= p.length; };
    Napi::Array fields = o.Get("fields").As<Napi::Array>();
    for (uint32_t i = 0; i < fields.Length(); i++) {
      Napi::Object f = fields.Get(i).As<Napi::Object>();
      std::string name = f.Get("name").ToString();
      std::string type = f.Get("type").ToString();
      int32_t off = offsetOf(f, "offset");
      const auto* t = std::find_if(std::begin(kTypes), std::end(kTypes), [&](auto& k) { return type == k.first; });
      if (t == std::end(kTypes) || off < 0 || !inside(off, t->second.second)) return bad(name);
      p.fields.push_back({"\"" + name + "\":", t->second.first, uint32_t(off)});
    }
    struct Named {
      const char* name;
      int32_t* at;
      uint32_t size;
    } named[] = {{"exitcode", &p.exitcode, 4}, {"flag", &p.flag, 1},  {"comm", &p.comm, 32},
                 {"uid", &p.uid, 4},           {"gid", &p.gid, 4},    {"ppid", &p.ppid, 4},
                 {"tgid", &p.tgid, 4},         {"etime", &p.etime, 8}, {"runVirtual", &p.runVirtual, 8}};
    for (const Named& n : named) {
      *n.at = offsetOf(o, n.name);
      if (!inside(*n.at, n.size)) return bad(n.name);
    }
    if (p.exitcode < 0 || p.flag < 0 || p.comm < 0 || p.uid < 0 || p.gid < 0 || p.ppid < 0 || p.etime < 0)
      return bad("a field every line needs is missing");
    Napi::Array cats = o.Get("cats").As<Napi::Array>();
    for (uint32_t i = 0; i < cats.Length(); i++) {
      Napi::Object k = cats.Get(i).As<Napi::Object>();
      std::string key = k.Get("key").ToString();
      lines::PlanCategory cat{key, key == "CPU", key == "IO", offsetOf(k, "count"), offsetOf(k, "total"),
                              offsetOf(k, "max")};
      if (cat.count < 0 || cat.total < 0 || !inside(cat.count, 8) || !inside(cat.total, 8) || !inside(cat.max, 8))
        return bad(cat.key);
      p.cats.push_back(cat);
    }
    // a line: its own fields (under 1 KB) and two structs
    if (1024 + 2 * lines::widestJson(p) > lines::kLineRoom) return bad("its lines would not fit kLineRoom");
    return true;
  }

  Napi::Value Format(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsArrayBuffer() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        !info[4].IsNumber() || !info[5].IsTypedArray() ||
        info[5].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env,
                           "format(batch: ArrayBuffer, length: number, from: number, out: Uint8Array, switchedOnMs: "
                           "number, holes: Uint32Array)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::ArrayBuffer data = info[0].As<Napi::ArrayBuffer>();
    double length = info[1].As<Napi::Number>().DoubleValue();
    double from = info[2].As<Napi::Number>().DoubleValue();
    Napi::Uint8Array out = info[3].As<Napi::Uint8Array>();
    Napi::Uint32Array holes = info[5].As<Napi::Uint32Array>();
    // compared as doubles: a negative or fractional number is refused, never cast first
    if (!(length >= 0 && length <= double(data.ByteLength()) && length == double(size_t(length))) ||
        !(from >= 0 && from <= length && from == double(size_t(from))) || out.ByteLength() < lines::kLineRoom ||
        holes.ElementLength() < 2) {
      Napi::RangeError::New(env, "format: length past the buffer, from past the batch, or out or holes too small")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    static_assert(sizeof(lines::Hole) == 2 * sizeof(uint32_t), "holes are pairs of u32");
    lines::Result r = lines::formatBatch(config_, static_cast<const uint8_t*>(data.Data()), size_t(length),
                                         size_t(from), out.Data(), out.ByteLength(),
                                         info[4].As<Napi::Number>().DoubleValue(),
                                         reinterpret_cast<lines::Hole*>(holes.Data()), holes.ElementLength() / 2);
    Napi::Object o = Napi::Object::New(env);
    o.Set("next", double(r.next));
    o.Set("used", double(r.used));
    o.Set("holes", double(r.holes));
    return o;
  }

  lines::Config config_;
};

// realtimeWriter(): every thread of the process not yet real-time (the calling JS thread,
// V8's and node's helper threads; not the exit readers, already at 2) to SCHED_FIFO at the
// lowest priority, below the readers (listener.cc) so that they preempt it; '' or the errno
// name of the first that failed. For -l, whose lines must all be written: an exit storm in
// another session otherwise leaves the JS thread runnable but unscheduled for seconds, and the
// queue behind it fills. Its helpers too: a GC makes the JS thread wait for V8's helper
// threads, which a storm can otherwise keep off the CPU (docs/performance.md, "Every exit
// written"). They all sleep between batches, and the kernel caps real-time threads at 95% of
// a CPU.
Napi::Value RealtimeWriter(const Napi::CallbackInfo& info) {
  int first = 0;
  DIR* d = opendir("/proc/self/task");
  if (!d) return Napi::String::New(info.Env(), errnoName(errno));
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long tid = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end) continue;  // . and ..
    int policy = sched_getscheduler(pid_t(tid)) & ~SCHED_RESET_ON_FORK;  // -1 stays negative
    if (policy < 0 || policy == SCHED_FIFO || policy == SCHED_RR) continue;  // ended meanwhile, or already real-time
    struct sched_param sp;
    sp.sched_priority = 1;
    // reset on fork: threads started later (libuv's pool starts on first use) do not inherit it
    if (sched_setscheduler(pid_t(tid), SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0 && errno != ESRCH && !first)
      first = errno;
  }
  closedir(d);
  return Napi::String::New(info.Env(), first ? errnoName(first) : "");
}

// {bytes, fields: {name: {offset, size, signed}}} for one of the structs the addon hands over.
template <size_t N>
Napi::Object structLayout(Napi::Env env, size_t bytes, const Field (&fields)[N]) {
  Napi::Object fs = Napi::Object::New(env);
  for (const Field& f : fields) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("offset", double(f.offset));
    o.Set("size", double(f.size));
    o.Set("signed", f.isSigned);
    fs.Set(f.name, o);
  }
  Napi::Object s = Napi::Object::New(env);
  s.Set("bytes", double(bytes));
  s.Set("fields", fs);
  return s;
}

// What the TypeScript side must agree on to read what the addon hands over; it reads these
// instead of keeping copies, and checks them when the addon loads (src/kernel/addon.ts).
Napi::Object contract(Napi::Env env) {
  Napi::Array names = Napi::Array::New(env, kCounterCount);
  for (uint32_t i = 0; i < kCounterCount; i++) names.Set(i, kCounterNames[i]);
  Napi::Object c = Napi::Object::New(env);
  c.Set("counterNames", names);
  c.Set("exitRecordHeader", structLayout(env, kRecHeader, kRecHeaderFields));
  c.Set("queryEntry", structLayout(env, kQueryEntryBytes, kQueryEntryFields));
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // A fixed threshold: blocks of 1 MiB and more (an exit storm's queue, large buffers) are
  // mapped and given back when freed. glibc's moving threshold otherwise rises to the
  // largest block freed and serves the next ones from the heap, which keeps a storm's
  // memory: RSS 177 MB instead of 130 MB 50 s after a 100,000-exit storm (docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  exports.Set("QuerySocket", QuerySocket::Init(env));
  exports.Set("Listener", Listener::Init(env));
  exports.Set("ExitLines", ExitLines::Init(env));
  exports.Set("realtimeWriter", Napi::Function::New(env, RealtimeWriter));
  exports.Set("parseDatagram", Napi::Function::New(env, ParseDatagram));
  exports.Set("cgroupStats", Napi::Function::New(env, CgroupStats));
  exports.Set("ioprioGet", Napi::Function::New(env, IoprioGet));
  exports.Set("ioprioSet", Napi::Function::New(env, IoprioSet));
  exports.Set("contract", contract(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(delaytop, Init)
