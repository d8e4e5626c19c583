// CGROUPSTATS_CMD_GET: how many tasks of a cgroup v1 directory sleep, run, wait on IO.
#pragma once
#include <napi.h>

// cgroupStats(path: string): ArrayBuffer, the CGROUPSTATS_TYPE_CGROUP_STATS payload
// (struct cgroupstats, five u64). Throws with .code = errno name (EINVAL on cgroup v2).
Napi::Value CgroupStats(const Napi::CallbackInfo& info);
