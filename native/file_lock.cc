// Advisory file locks (flock) for on-disk state that several processes update
// at once, like IPAM allocations. Node has no flock. tryLockExclusive never
// waits (the caller polls): a flock blocked in a libuv worker holds that
// worker until the lock is free, and when the lock's holder itself needs a
// worker (two processes, four workers each, locks taken in one order) both
// can stall for good. lockExclusive (waits on a worker) is kept for callers
// that hold no other lock.
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

// tryLockExclusive(fd) -> true if the lock is now held, false if another open
// file description holds it (EWOULDBLOCK). Never blocks: fine on the event loop.
Napi::Value TryLockExclusiveJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
  int r;
  do {
    r = flock(fd, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  throw ErrnoError(env, errno, "flock");
}

}  // namespace

void InitFileLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockExclusive", Napi::Function::New(env, LockExclusiveJs));
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusiveJs));
}

}  // namespace nlkit
