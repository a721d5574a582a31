#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <cmath>
#include <memory>

namespace nlkit {
namespace {

// Enough for the syscalls and small frames our threads run; the default
// (8 MiB of address space each) adds up with thousands of sockets.
constexpr size_t kThreadStack = 256 * 1024;

void* ThreadMain(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  (*fn)();
  return nullptr;
}

napi_value ErrnoErrorValue(napi_env env, int err, const std::string& syscall) {
  std::string text = syscall + ": " + std::strerror(err);
  napi_value msg, error, num, sys;
  if (napi_create_string_utf8(env, text.c_str(), text.size(), &msg) != napi_ok) return nullptr;
  if (napi_create_error(env, nullptr, msg, &error) != napi_ok) return nullptr;
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, syscall.c_str(), syscall.size(), &sys) == napi_ok)
    napi_set_named_property(env, error, "syscall", sys);
  return error;
}

// One promise-returning job on the libuv pool (raw N-API: see common.h).
struct AsyncJob {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  Work fn;
  Done done;
  int err = 0;
  std::string syscall;

  static void Execute(napi_env, void* data) {
    auto* job = static_cast<AsyncJob*>(data);
    job->err = job->fn(job->syscall);
  }

  static void Complete(napi_env env, napi_status status, void* data) {
    std::unique_ptr<AsyncJob> job(static_cast<AsyncJob*>(data));
    napi_delete_async_work(env, job->work);
    if (status == napi_cancelled) job->err = ECANCELED, job->syscall = "async work";
    napi_value value = nullptr;
    if (job->err == 0) {
      value = job->done(env);
      if (value != nullptr) {
        napi_resolve_deferred(env, job->deferred, value);
        return;
      }
      job->err = EIO, job->syscall = "result";
    }
    value = ErrnoErrorValue(env, job->err, job->syscall);
    if (value == nullptr) napi_get_undefined(env, &value);
    // Fails only while the environment is going away: nobody is left to tell.
    napi_reject_deferred(env, job->deferred, value);
  }
};

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall) {
  Napi::Error e = Napi::Error::New(env, syscall + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

int StartThread(pthread_t* thread, std::function<void()> fn) {
  auto* arg = new (std::nothrow) std::function<void()>(std::move(fn));
  if (arg == nullptr) return ENOMEM;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kThreadStack);
  int err = pthread_create(thread, &attr, ThreadMain, arg);
  pthread_attr_destroy(&attr);
  if (err != 0) delete arg;
  return err;
}

// RunInNetns: netns.cc, with the thread that enters namespaces.

napi_value RunAsync(napi_env env, Work work, Done done) {
  auto* job = new AsyncJob();
  job->fn = std::move(work);
  job->done = std::move(done);
  napi_value promise = nullptr, name = nullptr;
  napi_create_string_utf8(env, "nlkit", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, nullptr, name, AsyncJob::Execute, AsyncJob::Complete, job, &job->work) != napi_ok) {
    delete job;
    NAPI_THROW(Napi::Error::New(env, "nlkit: cannot queue async work"), nullptr);
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    delete job;
    NAPI_THROW(Napi::Error::New(env, "nlkit: cannot queue async work"), nullptr);
  }
  return promise;
}

Napi::Value RunMaybeAsync(Napi::Env env, bool async, Work work, Done done) {
  if (async) return Napi::Value(env, RunAsync(env, std::move(work), std::move(done)));
  std::string syscall;
  int err = work(syscall);
  if (err != 0) throw ErrnoError(env, err, syscall);
  napi_value v = done(env);
  if (v == nullptr) throw Napi::Error::New(env);
  return Napi::Value(env, v);
}

napi_value DoneUndefined(napi_env env) {
  napi_value v = nullptr;
  napi_get_undefined(env, &v);
  return v;
}

napi_value MakeNumber(napi_env env, double d) {
  napi_value v = nullptr;
  napi_create_double(env, d, &v);
  return v;
}

napi_value MakeString(napi_env env, const std::string& s) {
  napi_value v = nullptr;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

bool PageBuffer::Ensure(size_t bytes) {
  if (data_ != nullptr) return true;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
  return true;
}

void PageBuffer::Release() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t min, int32_t max) {
  Napi::Value v = info[i];
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
  if (!(d >= min && d <= max) || d != std::trunc(d)) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an integer from " + std::to_string(min) +
                                               " to " + std::to_string(max));
  }
  return static_cast<int32_t>(d);
}

}  // namespace nlkit
