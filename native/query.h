// The JS face of QueryEngine: new QuerySocket(timeoutMs), query()/querySync() of a batch.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "query-engine.h"
#include "transport.h"

class QuerySocket : public Napi::ObjectWrap<QuerySocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit QuerySocket(const Napi::CallbackInfo& info);

  // Runs the batch begun by beginBatch. Safe off the JS thread (one batch at a time).
  void runBatch();
  // The result as a V8-owned ArrayBuffer (the batch's scratch, when it was given one that
  // the result fits and fills a quarter of or more); the batch is over. On the JS thread.
  Napi::ArrayBuffer finishBatch(Napi::Env env);
  void abortBatch() {
    scratch_.Reset();
    busy_.store(false);
  }

 private:
  Napi::Value QuerySync(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  // Checks the arguments, copies them into ids_/tgid_ and claims the socket; false after
  // throwing.
  bool beginBatch(const Napi::CallbackInfo& info);

  nl::NetlinkSocket sock_;
  uint16_t family_ = 0;
  int timeoutMs_ = 1000;
  std::unique_ptr<QueryEngine> engine_;
  // The batch's ids, kept from batch to batch like the engine's buffers.
  std::vector<uint32_t> ids_;
  std::vector<uint8_t> tgid_;
  // The caller's buffer for the batch's result (query's third argument), held while it runs.
  Napi::Reference<Napi::ArrayBuffer> scratch_;
  std::atomic<bool> busy_{false};
};
