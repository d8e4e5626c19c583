// TASKSTATS_CMD_GET for a batch of ids in one JS-to-native crossing.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "contract.h"

// Result layout, one ArrayBuffer: n entries, then the STATS payloads, each 8-aligned.
struct QueryEntry {
  int32_t status;   // 0 = stats at [offset, offset+length); else a positive errno: ESRCH = gone
  uint32_t offset;
  uint32_t length;
};
constexpr size_t kQueryEntryBytes = sizeof(QueryEntry);

// Exported as contract.queryEntry.
inline constexpr Field kQueryEntryFields[] = {
    DELAYTOP_FIELD(QueryEntry, status),
    DELAYTOP_FIELD(QueryEntry, offset),
    DELAYTOP_FIELD(QueryEntry, length),
};

struct QueryRequest {
  std::vector<uint32_t> ids;
  std::vector<uint8_t> tgid;  // 1 = TGID attribute, 0 = PID attribute
};

class QuerySocket : public Napi::ObjectWrap<QuerySocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit QuerySocket(const Napi::CallbackInfo& info);
  ~QuerySocket() override;

  // Runs the whole batch; fills out. Safe off the JS thread (one batch at a time).
  void runBatch(const QueryRequest& req, std::vector<uint8_t>& out);
  void endBatch() { busy_.store(false); }

 private:
  Napi::Value QuerySync(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  bool parseArgs(const Napi::CallbackInfo& info, QueryRequest* req);
  int queryOne(uint32_t id, bool tgid, uint32_t seq, std::vector<uint8_t>& out, uint32_t* off,
               uint32_t* len);

  int fd_ = -1;
  uint16_t family_ = 0;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1;
  int timeoutMs_ = 1000;
  std::atomic<bool> busy_{false};
  uint64_t overruns_ = 0;
  uint64_t timeouts_ = 0;
};
