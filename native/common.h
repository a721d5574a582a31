// Shared helpers for the addon: errno-carrying JS errors, threads that report
// failure as an errno instead of throwing, running work inside a network
// namespace, and running work off the event loop as a Promise.
//
// Rule for everything that runs outside a JS call (worker threads, libuv
// completions, thread-safe-function callbacks): no C++ exception, and raw
// N-API calls whose failures are tolerated, because the environment may be
// tearing down (process exit, worker.terminate()) at that moment.
// Inside a JS call, node-addon-api turns a C++ exception into a JS one; when
// the environment is terminating that rethrow fails too, and binding.gyp's
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS makes it give up quietly instead of
// throwing out of its catch handler (std::terminate, SIGABRT).
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

namespace nlkit {

// A JS Error whose .errno is the positive errno value and whose .syscall names
// the failing call; lib/netlink/errors.ts turns it into a typed error. Only
// for use inside a JS call (it throws through node-addon-api).
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall);

// Starts a joinable thread running fn with a small stack (our threads keep
// their buffers on the heap). Returns 0 or the errno of pthread_create
// (EAGAIN when the process or user is out of threads).
int StartThread(pthread_t* thread, std::function<void()> fn);

// Runs fn inside the network namespace nsfd (in the caller's thread when
// nsfd < 0) and returns what fn returned (0 or an errno), or the errno of
// entering it. The process's namespace thread (netns.cc) enters it, runs fn
// and returns to its own namespace; no other thread of the process (event
// loop, libuv pool, I/O threads) ever changes namespace.
int RunInNetns(int nsfd, const std::function<int()>& fn);

// Runs fn on the namespace thread, which may change namespace inside fn
// (setns, unshare(CLONE_NEWNET)) and is back in the process's namespace
// afterwards. Calls are served one at a time; 0 or an errno.
int RunOnNetnsThread(const std::function<int()>& fn);

// Work for the libuv pool: returns 0 or an errno and names the failing call
// in `syscall`; must not touch JS.
using Work = std::function<int(std::string& syscall)>;
// Turns the work's outcome into a JS value on the event loop; raw N-API,
// returns nullptr when the value cannot be made (environment going away).
using Done = std::function<napi_value(napi_env)>;

// Runs `work` off the event loop and settles a Promise: rejected with the
// errno error or resolved with `done(env)`.
napi_value RunAsync(napi_env env, Work work, Done done);

// Runs `work` synchronously when `async` is false (throwing on failure) or as a
// Promise when true, so every slow call exists in both shapes with one body.
Napi::Value RunMaybeAsync(Napi::Env env, bool async, Work work, Done done);

// Done callbacks for the common results.
napi_value DoneUndefined(napi_env env);
napi_value MakeNumber(napi_env env, double v);
napi_value MakeString(napi_env env, const std::string& s);

// A receive buffer mapped straight from the kernel: its pages cost memory
// only once a datagram is written into them, and all of them go back to the
// system when it is released (a malloc'd buffer would stay in a thread's
// arena after free).
class PageBuffer {
 public:
  PageBuffer() = default;
  ~PageBuffer() { Release(); }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  // Maps `bytes` if not mapped yet; false when out of memory.
  bool Ensure(size_t bytes);
  void Release();
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Argument checks for JS methods: throw a TypeError naming the argument.
int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t min, int32_t max);

}  // namespace nlkit
