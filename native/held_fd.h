// Namespace fds that JS keeps as plain numbers (lib/netns/namespace.ts,
// lib/netlink/one-shot.ts), and sockets made off the event loop until their
// owner adopts them (netlinkSocketOpen, inetSocket: the worker's JS may never
// run again to adopt or close one). Each environment (the main thread, a worker) has
// its set and closes what is still in it when it goes away, so a worker that
// ends or is terminated without close() does not keep a namespace alive (an
// open nsfs fd pins the namespace, its links and routes).
#pragma once
#include <napi.h>

#include <memory>
#include <unordered_set>

namespace nlkit {

class HeldFds {
 public:
  // Keeps fd until Release() or the environment's end; once that end has come
  // (a job finishing during teardown) the fd is closed at once and -1 returned.
  int Hold(int fd);
  // Closes fd if this set holds it; false (and nothing closed) otherwise.
  bool Release(int fd);
  // fd has a new owner (a socket object adopting it): forgotten, not closed.
  bool Take(int fd) { return fds_.erase(fd) > 0; }
  // The environment's end: closes every fd still held.
  void CloseAll();

 private:
  std::unordered_set<int> fds_;
  bool ended_ = false;
};

// The set of env (shared: a pool job may finish after the environment's end); null once it is gone.
std::shared_ptr<HeldFds> HeldFdsOf(napi_env env);

// heldFdOpen(path) -> fd, heldFdClose(fd) -> boolean.
void InitHeldFds(Napi::Env env, Napi::Object exports);

}  // namespace nlkit
