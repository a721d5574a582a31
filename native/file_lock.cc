// Advisory file locks (flock) for on-disk state that several processes update
// at once, like IPAM allocations. Node has no flock; waiting for a lock must
// not block the event loop, so the async form waits on a libuv worker.
#include "file_lock.h"

#include <sys/file.h>

#include "common.h"

namespace nlkit {
namespace {

// flock(fd, mode, async): mode "exclusive" | "shared" | "unlock".
Napi::Value FlockJs(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string mode = info[1].As<Napi::String>();
  bool async = info[2].ToBoolean();
  int op = mode == "unlock" ? LOCK_UN : mode == "shared" ? LOCK_SH : LOCK_EX;
  return RunMaybeAsync(
      info.Env(), async,
      [fd, op](std::string& syscall) -> int {
        int r;
        do {
          r = flock(fd, op);
        } while (r != 0 && errno == EINTR);
        syscall = "flock";
        return r == 0 ? 0 : errno;
      },
      DoneUndefined);
}

}  // namespace

void InitFileLock(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, FlockJs));
}

}  // namespace nlkit
