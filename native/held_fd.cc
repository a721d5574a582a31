#include "held_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common.h"

namespace nlkit {
namespace {

// Only the environment's own thread touches its set (JS calls, pool-job
// completions, its cleanup hook), so there is no lock.
using Shared = std::shared_ptr<HeldFds>;

// The hook's own reference: the set is closed, then let go.
void EndHook(void* arg) {
  auto* hook = static_cast<Shared*>(arg);
  (*hook)->CloseAll();
  delete hook;
}

void FreeShared(napi_env, void* data, void*) { delete static_cast<Shared*>(data); }

// heldFdOpen(path) -> fd: opened here, not with Node's fs, because in a worker
// fs tracks what it opens (trackUnmanagedFds) and would close the number a
// second time at the worker's end.
Napi::Value OpenJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "heldFdOpen(path)");
  std::string path = info[0].As<Napi::String>();
  Shared held = HeldFdsOf(env);
  if (!held) throw ErrnoError(env, ECANCELED, "open(" + path + ")");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, errno, "open(" + path + ")");
  return Napi::Number::New(env, held->Hold(fd));
}

Napi::Value CloseJs(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
  Shared held = HeldFdsOf(info.Env());
  return Napi::Boolean::New(info.Env(), held && held->Release(fd));
}

// heldFdTake(fd) -> bool: JS has taken fd over (a Node socket adopts it): forgotten, not closed.
Napi::Value TakeJs(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
  Shared held = HeldFdsOf(info.Env());
  return Napi::Boolean::New(info.Env(), held && held->Take(fd));
}

}  // namespace

int HeldFds::Hold(int fd) {
  if (ended_) {
    close(fd);
    return -1;
  }
  fds_.insert(fd);
  return fd;
}

bool HeldFds::Release(int fd) {
  if (fds_.erase(fd) == 0) return false;
  close(fd);
  return true;
}

void HeldFds::CloseAll() {
  for (int fd : fds_) close(fd);
  fds_.clear();
  ended_ = true;
}

Shared HeldFdsOf(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) return nullptr;
  return *static_cast<Shared*>(data);
}

void InitHeldFds(Napi::Env env, Napi::Object exports) {
  // Two owners of one set: the instance data (freed last, with the N-API
  // environment) and the cleanup hook, which runs at the environment's end.
  auto* data = new Shared(std::make_shared<HeldFds>());
  auto* hook = new Shared(*data);
  if (napi_set_instance_data(env, data, FreeShared, nullptr) != napi_ok) {
    delete data;
    delete hook;
    throw Napi::Error::New(env, "nlkit: cannot keep per-environment data");
  }
  if (napi_add_env_cleanup_hook(env, EndHook, hook) != napi_ok) {
    delete hook;
    throw Napi::Error::New(env, "nlkit: cannot add an environment cleanup hook");
  }
  exports.Set("heldFdOpen", Napi::Function::New(env, OpenJs));
  exports.Set("heldFdClose", Napi::Function::New(env, CloseJs));
  exports.Set("heldFdTake", Napi::Function::New(env, TakeJs));
}

}  // namespace nlkit
