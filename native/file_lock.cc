// Advisory file locks (flock) for on-disk state that several processes update
// at once, like IPAM allocations. Node has no flock; waiting for a lock must
// not block the event loop, so the async form waits on a libuv worker.
#include "file_lock.h"

#include <sys/file.h>

#include "common.h"

namespace nlkit {
namespace {

// lockExclusive(fd) -> Promise: waits for the lock on a libuv worker. The
// lock is released by closing the fd.
Napi::Value LockExclusiveJs(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
  return RunMaybeAsync(
      info.Env(), true,
      [fd](std::string& syscall) -> int {
        int r;
        do {
          r = flock(fd, LOCK_EX);
        } while (r != 0 && errno == EINTR);
        syscall = "flock";
        return r == 0 ? 0 : errno;
      },
      DoneUndefined);
}

}  // namespace

void InitFileLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockExclusive", Napi::Function::New(env, LockExclusiveJs));
}

}  // namespace nlkit
