#include "ioprio.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "errors.h"

namespace {

// From include/uapi/linux/ioprio.h (older distro headers lack it). Since 6.5 bits 3-12
// may carry a hint; the level is the low 3 bits either way.
constexpr int IOPRIO_WHO_PROCESS = 1;
constexpr int IOPRIO_CLASS_SHIFT = 13;
constexpr int IOPRIO_LEVEL_MASK = 0x7;
constexpr int kLevels = 8;

// Indexed by IOPRIO_CLASS_NONE, _RT, _BE, _IDLE: the names ionice(1) prints.
constexpr const char* kClassNames[] = {"none", "realtime", "best-effort", "idle"};
constexpr int kClassCount = sizeof kClassNames / sizeof kClassNames[0];

bool taskId(const Napi::CallbackInfo& info, int* tid) {
  if (info.Length() < 1 || !info[0].IsNumber()) return false;
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 0x3fffffff) || d != double(int(d))) return false;
  *tid = int(d);
  return true;
}

}  // namespace

Napi::Value IoprioGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int tid;
  if (!taskId(info, &tid)) {
    Napi::TypeError::New(env, "ioprioGet(tid: positive integer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  long v = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
  if (v < 0) {
    throwErrno(env, errno, "ioprio_get");
    return env.Undefined();
  }
  int cls = int(v >> IOPRIO_CLASS_SHIFT) & 0x7;
  Napi::Object o = Napi::Object::New(env);
  o.Set("ioClass", cls < kClassCount ? std::string(kClassNames[cls]) : "class " + std::to_string(cls));
  o.Set("level", int(v) & IOPRIO_LEVEL_MASK);
  return o;
}

Napi::Value IoprioSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int tid;
  int cls = -1;
  double level = -1;
  if (taskId(info, &tid) && info.Length() >= 3 && info[1].IsString() && info[2].IsNumber()) {
    std::string name = info[1].As<Napi::String>().Utf8Value();
    for (int i = 0; i < kClassCount; i++)
      if (name == kClassNames[i]) cls = i;
    level = info[2].As<Napi::Number>().DoubleValue();
  }
  if (cls < 0 || !(level >= 0 && level < kLevels) || level != double(int(level))) {
    Napi::TypeError::New(env, "ioprioSet(tid, ioClass: none|realtime|best-effort|idle, level: 0-7)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // none and idle take no level: the kernel refuses one (EINVAL) for none
  int data = cls == 1 || cls == 2 ? int(level) : 0;
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, (cls << IOPRIO_CLASS_SHIFT) | data) < 0)
    throwErrno(env, errno, "ioprio_set");
  return env.Undefined();
}
