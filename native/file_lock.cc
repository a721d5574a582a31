// Advisory file locks (flock) for on-disk state that several processes update
// at once, like IPAM allocations. Node has no flock. tryLockExclusive never
// waits; lockExclusive waits on a libuv worker, which it holds until the
// lock is free (lib/system/file-lock.ts lets one waiter per process do that,
// the others poll).
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
