#pragma once
#include <napi.h>

namespace nlkit {
// flock(fd, exclusive, async): advisory whole-file locks for state shared
// between processes (IPAM). The async form waits on a libuv worker.
void InitFileLock(Napi::Env env, Napi::Object exports);
}  // namespace nlkit
