#pragma once
#include <napi.h>
#include <string.h>
#include <uv.h>

#include <string>

// Errors cross into JS with the errno name in .code and the number in .errno, so the
// TypeScript layer (src/kernel/errors.ts) can turn them into advice. The name comes from
// libuv's table, which every Node exports and util.getSystemErrorName reads: the addon and
// the TypeScript side (errnoName in src/kernel/errors.ts) name errnos from that one table,
// on any libc (strerrorname_np is glibc 2.32+ only).
inline std::string errnoName(int e) {
  char buf[64];
  uv_err_name_r(-e, buf, sizeof buf);  // libuv codes are negated errnos on Unix
  return buf[0] == 'E' ? buf : "EUNKNOWN";  // else "Unknown system error N"
}

inline Napi::Error errnoError(Napi::Env env, int e, const std::string& what) {
  Napi::Error err = Napi::Error::New(env, what + ": " + strerror(e));
  err.Set("code", Napi::String::New(env, errnoName(e)));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, what));
  return err;
}

inline void throwErrno(Napi::Env env, int e, const std::string& what) {
  errnoError(env, e, what).ThrowAsJavaScriptException();
}
