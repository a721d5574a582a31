#include "common.h"

#include <sched.h>

#include <thread>

namespace nlkit {

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall) {
  Napi::Error e = Napi::Error::New(env, syscall + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

int RunInNetns(int nsfd, const std::function<int()>& fn) {
  if (nsfd < 0) return fn();
  int result = 0;
  std::thread worker([&] {
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      result = errno;
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Done done)
    : Napi::AsyncWorker(env, "nlkit"),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      done_(std::move(done)) {}

Napi::Promise PromiseWorker::Run(Napi::Env env, Work work, Done done) {
  auto* w = new PromiseWorker(env, std::move(work), std::move(done));
  Napi::Promise p = w->deferred_.Promise();
  w->Queue();
  return p;
}

void PromiseWorker::Execute() {
  err_ = work_(syscall_);
  if (err_ != 0) SetError(syscall_);
}

void PromiseWorker::OnOK() { deferred_.Resolve(done_(Env())); }

void PromiseWorker::OnError(const Napi::Error&) {
  deferred_.Reject(ErrnoError(Env(), err_, syscall_).Value());
}

Napi::Value RunMaybeAsync(Napi::Env env, bool async, PromiseWorker::Work work,
                          PromiseWorker::Done done) {
  if (async) return PromiseWorker::Run(env, std::move(work), std::move(done));
  std::string syscall;
  int err = work(syscall);
  if (err != 0) throw ErrnoError(env, err, syscall);
  return done(env);
}

}  // namespace nlkit
