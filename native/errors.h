#pragma once
#include <napi.h>
#include <string.h>

#include <string>

// Errors cross into JS with the errno name in .code and the number in .errno, so the
// TypeScript layer (src/kernel/errors.ts) can turn them into advice.
inline const char* errnoName(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "EUNKNOWN";
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
