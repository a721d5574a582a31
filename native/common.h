// Shared helpers for the addon: errno-carrying JS errors, running work on a
// libuv worker as a Promise, and running work inside a network namespace.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

namespace nlkit {

// A JS Error whose .errno is the positive errno value and whose .syscall names
// the failing call; lib/netlink/errors.ts turns it into a typed error.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall);

// Runs fn on a short-lived thread that has joined the network namespace nsfd
// (or the caller's namespace when nsfd < 0) and returns what fn returned
// (0 or an errno). Only that thread ever enters the namespace, and it exits
// afterwards, so no thread of the process (event loop, libuv pool, I/O
// threads) is left behind in another namespace.
int RunInNetns(int nsfd, const std::function<int()>& fn);

// Runs `work` (returns 0 or an errno, never touches JS) off the event loop and
// settles a Promise: rejected with ErrnoError(syscall) or resolved with
// `done(env)`.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<int(std::string& syscall)>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise Run(Napi::Env env, Work work, Done done);

 private:
  PromiseWorker(Napi::Env env, Work work, Done done);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  int err_ = 0;
  std::string syscall_;
};

// Runs `work` synchronously when `async` is false (throwing on failure) or as a
// Promise when true, so every slow call exists in both shapes with one body.
Napi::Value RunMaybeAsync(Napi::Env env, bool async, PromiseWorker::Work work,
                          PromiseWorker::Done done);

inline Napi::Value Undefined(Napi::Env env) { return env.Undefined(); }

}  // namespace nlkit
