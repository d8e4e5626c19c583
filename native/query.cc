#include "query.h"

#include <string.h>

#include "errors.h"
#include "nl.h"

namespace {

class QueryWorker : public Napi::AsyncWorker {
 public:
  QueryWorker(Napi::Env env, QuerySocket* sock, Napi::Object keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), sock_(sock) {
    keep_ = Napi::Persistent(keep);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { sock_->runBatch(); }
  void OnOK() override { deferred_.Resolve(sock_->finishBatch(Env())); }
  void OnError(const Napi::Error& e) override {
    sock_->abortBatch();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  QuerySocket* sock_;
  Napi::ObjectReference keep_;  // keeps the socket object alive while we run
};

}  // namespace

Napi::Function QuerySocket::Init(Napi::Env env) {
  return DefineClass(env, "QuerySocket",
                     {InstanceMethod("querySync", &QuerySocket::QuerySync),
                      InstanceMethod("query", &QuerySocket::Query),
                      InstanceMethod("close", &QuerySocket::Close),
                      InstanceMethod("info", &QuerySocket::Info)});
}

QuerySocket::QuerySocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<QuerySocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsNumber()) timeoutMs_ = info[0].As<Napi::Number>().Int32Value();
  if (timeoutMs_ <= 0) timeoutMs_ = 1000;
  const char* what = "";
  int r = sock_.open(QueryEngine::kRcvbufBytes, true, &what);
  if (r < 0) {
    throwErrno(env, -r, what);
    return;
  }
  int fam = nl::resolveFamily(sock_, "TASKSTATS", timeoutMs_);
  if (fam < 0) {
    sock_.close();
    throwErrno(env, -fam, "resolve generic netlink family TASKSTATS");
    return;
  }
  family_ = uint16_t(fam);
  engine_ = std::make_unique<QueryEngine>(sock_, family_, timeoutMs_);
}

Napi::Value QuerySocket::Close(const Napi::CallbackInfo& info) {
  if (busy_.load()) {
    Napi::Error::New(info.Env(), "QuerySocket.close: a batch is still running").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  sock_.close();
  return info.Env().Undefined();
}

Napi::Value QuerySocket::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("familyId", family_);
  o.Set("portId", sock_.portid());
  int rb = 0;
  if (sock_.fd() >= 0) {
    rb = sock_.rcvbufBytes();
    if (rb < 0) {
      throwErrno(env, -rb, "getsockopt(SO_RCVBUF)");
      return env.Undefined();
    }
  }
  o.Set("rcvbufBytes", rb);
  o.Set("overruns", double(engine_ ? engine_->overruns() : 0));
  o.Set("timeouts", double(engine_ ? engine_->timeouts() : 0));
  return o;
}

bool QuerySocket::beginBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sock_.fd() < 0) {
    Napi::Error::New(env, "QuerySocket is closed").ThrowAsJavaScriptException();
    return false;
  }
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray() ||
      (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsArrayBuffer())) {
    Napi::TypeError::New(env, "query(ids: Uint32Array, tgid: Uint8Array, scratch?: ArrayBuffer)")
        .ThrowAsJavaScriptException();
    return false;
  }
  auto ids = info[0].As<Napi::TypedArray>();
  auto kinds = info[1].As<Napi::TypedArray>();
  if (ids.TypedArrayType() != napi_uint32_array || kinds.TypedArrayType() != napi_uint8_array ||
      ids.ElementLength() != kinds.ElementLength()) {
    Napi::TypeError::New(env, "query(ids: Uint32Array, tgid: Uint8Array) of equal length")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (busy_.exchange(true)) {
    Napi::Error::New(env, "QuerySocket: a batch is already running").ThrowAsJavaScriptException();
    return false;
  }
  auto idArr = info[0].As<Napi::Uint32Array>();
  auto kArr = info[1].As<Napi::Uint8Array>();
  ids_.assign(idArr.Data(), idArr.Data() + idArr.ElementLength());
  tgid_.assign(kArr.Data(), kArr.Data() + kArr.ElementLength());
  engine_->reserve(ids_.size());
  if (info.Length() > 2 && info[2].IsArrayBuffer()) scratch_ = Napi::Persistent(info[2].As<Napi::ArrayBuffer>());
  return true;
}

void QuerySocket::runBatch() { engine_->run(ids_.data(), tgid_.data(), ids_.size()); }

Napi::ArrayBuffer QuerySocket::finishBatch(Napi::Env env) {
  // No other batch can begin before this returns: we are on the JS thread.
  busy_.store(false);
  // A V8-owned copy: the engine keeps its buffer for the next batch. Into the caller's
  // scratch when it fits and the result fills at least a quarter of it: a new buffer each
  // refresh is memory the allocator takes from the system and gives back each time, and
  // every page of it faults in again (docs/performance.md, "Where the dashboard's 1.5%...").
  // Else a new one with room to grow, which the caller keeps as its next scratch.
  const std::vector<uint8_t>& out = engine_->result();
  Napi::ArrayBuffer scratch = scratch_.IsEmpty() ? Napi::ArrayBuffer() : scratch_.Value();
  scratch_.Reset();
  Napi::ArrayBuffer ab;
  if (scratch.IsEmpty()) {
    ab = Napi::ArrayBuffer::New(env, out.size());
  } else if (out.size() <= scratch.ByteLength() && out.size() >= scratch.ByteLength() / 4) {
    ab = scratch;
  } else {
    ab = Napi::ArrayBuffer::New(env, out.size() + out.size() / 4);
  }
  if (!out.empty()) memcpy(ab.Data(), out.data(), out.size());
  return ab;
}

Napi::Value QuerySocket::QuerySync(const Napi::CallbackInfo& info) {
  if (!beginBatch(info)) return info.Env().Undefined();
  runBatch();
  return finishBatch(info.Env());
}

Napi::Value QuerySocket::Query(const Napi::CallbackInfo& info) {
  if (!beginBatch(info)) return info.Env().Undefined();
  auto* w = new QueryWorker(info.Env(), this, info.This().As<Napi::Object>());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}
