// delaytop's native addon: taskstats over generic netlink, and the ioprio syscalls Node lacks.
#include <napi.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cgroup.h"
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
  exports.Set("parseDatagram", Napi::Function::New(env, ParseDatagram));
  exports.Set("cgroupStats", Napi::Function::New(env, CgroupStats));
  exports.Set("ioprioGet", Napi::Function::New(env, IoprioGet));
  exports.Set("ioprioSet", Napi::Function::New(env, IoprioSet));
  exports.Set("contract", contract(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(delaytop, Init)
