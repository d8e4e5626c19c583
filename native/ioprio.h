// ioprio_get / ioprio_set for one task (IOPRIO_WHO_PROCESS: a thread id, or a process id
// meaning its main thread). glibc has no wrapper; Node has no API.
#pragma once
#include <napi.h>

// ioprioGet(tid: number): {ioClass, level}. ioClass is the kernel's class by the name
// ionice(1) prints: "none", "realtime", "best-effort", "idle". Throws with .code = errno name.
Napi::Value IoprioGet(const Napi::CallbackInfo& info);

// ioprioSet(tid: number, ioClass: string, level: number): undefined. level 0-7 (ignored for
// "none" and "idle"). Throws with .code = errno name (EPERM, ESRCH, EINVAL).
Napi::Value IoprioSet(const Napi::CallbackInfo& info);
