// Exit-event listeners: one netlink socket per CPU of the mask, each registered for its CPU and
// read with its own ExitReader (exit-reader.h) into one ExitQueue that JS drains. Reader
// threads each serve one or several sockets (ReaderGroup); JS says which thread serves which.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exit-reader.h"
#include "transport.h"

struct CpuReader {
  CpuReader(int cpu, uint16_t family, ExitQueue& q) : exits(cpu, family, q) {}
  ExitReader exits;
  nl::NetlinkSocket sock;
  int rcvbufBytes = 0;
  unsigned thread = 0;  // index into Listener::threads_
  // Written by the reader thread, read by info() on the JS thread.
  std::atomic<bool> registered{false};
  std::atomic<int> deregisterError{0};
  int registerError = 0;  // guarded by Listener::regMu_, as registerDone
  bool registerDone = false;
};

struct ReaderThread {
  std::vector<CpuReader*> sockets;
  ReaderGroup group;
  int wakeFd = -1;
  // Written by the thread, read by info() on the JS thread. -1 = not asked, 0 = done, else a
  // positive errno.
  std::atomic<int> pinError{-1};
  std::atomic<int> realtimeError{-1};  // 0 = SCHED_FIFO granted
  std::atomic<int> waitError{0};       // a wait that failed and ended the thread
  std::thread thread;
};

class Listener : public Napi::ObjectWrap<Listener> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Listener(const Napi::CallbackInfo& info);
  ~Listener() override;

  void readerMain(ReaderThread* t);
  void stopAll();  // deregisters and joins; idempotent
  void onEnvCleanup();

 private:
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  void notifyJs();
  Napi::Float64Array counterArray(Napi::Env env);

  uint16_t family_ = 0;
  bool pin_ = false;
  bool realtime_ = true;
  size_t maxQueueBytes_ = 64u << 20;
  std::string possible_;  // cpulist of possible CPUs: deregistered first to clear stale entries
  std::vector<std::unique_ptr<CpuReader>> readers_;  // in the order of the cpus given
  std::vector<std::unique_ptr<ReaderThread>> threads_;

  std::mutex regMu_;
  std::condition_variable regCv_;

  std::unique_ptr<ExitQueue> queue_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  bool tsfnLive_ = false;
  bool hookLive_ = false;
  Napi::ThreadSafeFunction tsfn_;
};
