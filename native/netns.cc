// Network namespaces the way `ip netns` manages them, with syscalls only:
// a named namespace is a bind mount of a namespace inode on a file under
// /run/netns, and that directory is a shared mount so other mount namespaces
// see new names appear.
#include "netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

#include "common.h"
#include "held_fd.h"

namespace nlkit {
namespace {

// The namespace thread: one per process, started by the first call that needs
// it and gone after kNetnsIdle without one, so entering a namespace costs a
// hand-off instead of a thread start (pthread_create + join, ~0.1-0.4 ms and
// a typed EAGAIN when out of threads). After each job it returns to the
// namespace it started in; if that ever fails it exits instead of serving
// another job from the wrong namespace, and the next call starts a new one.
constexpr auto kNetnsIdle = std::chrono::seconds(2);

struct NetnsThread {
  std::mutex call;  // one job at a time
  std::mutex mu;    // guards what follows
  std::condition_variable posted, finished;
  const std::function<int()>* job = nullptr;
  int result = 0;
  bool done = false;
  bool running = false;
};

// Never destroyed: a detached thread may still wait on it while the process exits.
NetnsThread& TheNetnsThread() {
  static auto* t = new NetnsThread();
  return *t;
}

void NetnsThreadMain(NetnsThread& t) {
  pthread_setname_np(pthread_self(), "nlkit-netns");
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int home_err = home < 0 ? errno : 0;
  std::unique_lock<std::mutex> lock(t.mu);
  for (;;) {
    if (!t.posted.wait_for(lock, kNetnsIdle, [&] { return t.job != nullptr; })) break;  // idle
    const std::function<int()>* job = t.job;
    t.job = nullptr;
    lock.unlock();
    int result = home_err;
    if (result == 0) {
      // A C++ exception leaving this detached thread would std::terminate the
      // process; the jobs build strings, so bad_alloc is possible.
      try {
        result = (*job)();
      } catch (...) {
        result = ENOMEM;
      }
    }
    // Back home; a thread that cannot get back never runs another job.
    bool lost = home_err != 0 || setns(home, CLONE_NEWNET) != 0;
    lock.lock();
    t.result = result;
    t.done = true;
    t.finished.notify_all();
    if (lost) break;
  }
  t.running = false;  // under mu: the next call starts a new thread
  lock.unlock();
  if (home >= 0) close(home);
}

// Makes `dir` a shared mount point, bind-mounting it on itself first when it
// is not a mount point yet (what `ip netns add` does on first use).
int PrepareDir(const std::string& dir, std::string& syscall) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    syscall = "mkdir";
    return errno;
  }
  bool bound = false;
  while (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || bound) {
      syscall = "mount(MS_SHARED)";
      return errno;
    }
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      syscall = "mount(MS_BIND)";
      return errno;
    }
    bound = true;
  }
  return 0;
}

// Creates a fresh namespace on the namespace thread and pins it by bind
// mounting the thread's namespace file on `path`.
int CreateNamed(const std::string& path, std::string& syscall) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    syscall = "open(" + path + ")";
    return errno;
  }
  close(fd);
  std::string step = "pthread_create";
  int result = RunOnNetnsThread([&]() -> int {
    if (unshare(CLONE_NEWNET) != 0) {
      step = "unshare(CLONE_NEWNET)";
      return errno;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      step = "mount(MS_BIND)";
      return errno;
    }
    return 0;
  });
  if (result != 0) {
    unlink(path.c_str());  // roll back the mount point we made
    syscall = step;
  }
  return result;
}

int DeleteNamed(const std::string& path, std::string& syscall) {
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    syscall = "umount2(" + path + ")";
    return errno;
  }
  if (unlink(path.c_str()) != 0) {
    syscall = "unlink(" + path + ")";
    return errno;
  }
  return 0;
}

// A namespace with no name: alive as long as the returned fd (or anything
// inside it) is.
int CreateAnonymous(int* out, std::string& syscall) {
  syscall = "pthread_create";
  return RunOnNetnsThread([&]() -> int {
    if (unshare(CLONE_NEWNET) != 0) {
      syscall = "unshare(CLONE_NEWNET)";
      return errno;
    }
    *out = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*out < 0) {
      syscall = "open(/proc/thread-self/ns/net)";
      return errno;
    }
    return 0;
  });
}

// /proc/sys/net resolves against the opening thread's namespace, so the file
// is opened (and read or written) on a thread inside the target namespace.
int SysctlIo(int nsfd, const std::string& path, const std::string* value,
             std::string* out, std::string& syscall) {
  syscall = "pthread_create";
  return RunInNetns(nsfd, [&]() -> int {
    int fd = open(path.c_str(), (value ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      syscall = "open(" + path + ")";
      return errno;
    }
    int err = 0;
    if (value) {
      if (write(fd, value->data(), value->size()) < 0) {
        err = errno;
        syscall = "write(" + path + ")";
      }
    } else {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) {
        err = errno;
        syscall = "read(" + path + ")";
      } else {
        out->assign(buf, static_cast<size_t>(n));
      }
    }
    close(fd);
    return err;
  });
}

Napi::Value PrepareDirJs(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>();
  std::string syscall;
  int err = PrepareDir(dir, syscall);
  if (err) throw ErrnoError(info.Env(), err, syscall);
  return info.Env().Undefined();
}

// Each call below exists twice, as NAME (a Promise; the work runs on the libuv
// pool) and NAMESync (blocking), built from one body.
Work CreateNamedWork(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  return [path](std::string& s) { return CreateNamed(path, s); };
}

Work DeleteNamedWork(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  return [path](std::string& s) { return DeleteNamed(path, s); };
}

// The new namespace's fd: closed with the job unless the environment's set
// (held_fd.h) takes it, so a worker gone before the promise settles leaks nothing.
struct NewFd {
  int fd = -1;
  ~NewFd() {
    if (fd >= 0) close(fd);
  }
};

Napi::Value CreateAnonymousJs(const Napi::CallbackInfo& info) {
  auto fd = std::make_shared<NewFd>();
  return RunMaybeAsync(
      info.Env(), true, [fd](std::string& s) { return CreateAnonymous(&fd->fd, s); },
      [fd](napi_env env) -> napi_value {
        std::shared_ptr<HeldFds> held = HeldFdsOf(env);
        if (!held) return nullptr;
        int n = held->Hold(fd->fd);
        fd->fd = -1;
        return n < 0 ? nullptr : MakeNumber(env, n);
      });
}

std::pair<Work, Done> SysctlReadWork(const Napi::CallbackInfo& info) {
  int nsfd = ArgInt(info, 0, "netns fd", -1, INT32_MAX);
  std::string path = info[1].As<Napi::String>();
  auto out = std::make_shared<std::string>();
  return {[nsfd, path, out](std::string& s) { return SysctlIo(nsfd, path, nullptr, out.get(), s); },
          [out](napi_env env) { return MakeString(env, *out); }};
}

Work SysctlWriteWork(const Napi::CallbackInfo& info) {
  int nsfd = ArgInt(info, 0, "netns fd", -1, INT32_MAX);
  std::string path = info[1].As<Napi::String>();
  std::string value = info[2].As<Napi::String>();
  return [nsfd, path, value](std::string& s) { return SysctlIo(nsfd, path, &value, nullptr, s); };
}

template <bool Async>
Napi::Value CreateNamedJs(const Napi::CallbackInfo& info) {
  return RunMaybeAsync(info.Env(), Async, CreateNamedWork(info), DoneUndefined);
}

template <bool Async>
Napi::Value DeleteNamedJs(const Napi::CallbackInfo& info) {
  return RunMaybeAsync(info.Env(), Async, DeleteNamedWork(info), DoneUndefined);
}

template <bool Async>
Napi::Value SysctlReadJs(const Napi::CallbackInfo& info) {
  auto [work, done] = SysctlReadWork(info);
  return RunMaybeAsync(info.Env(), Async, std::move(work), std::move(done));
}

template <bool Async>
Napi::Value SysctlWriteJs(const Napi::CallbackInfo& info) {
  return RunMaybeAsync(info.Env(), Async, SysctlWriteWork(info), DoneUndefined);
}

// netnsType(fd) -> the CLONE_NEW* type of the namespace fd refers to, 0 when
// the kernel cannot tell (before 4.11: ENOTTY). Any nsfs file opens alike;
// a reader that never enters the namespace must still know it is a network one.
Napi::Value NetnsTypeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "netnsType(fd)");
  const int type = ioctl(info[0].As<Napi::Number>().Int32Value(), NS_GET_NSTYPE);
  if (type < 0 && errno != ENOTTY) throw ErrnoError(env, errno, "ioctl(NS_GET_NSTYPE)");
  return Napi::Number::New(env, type < 0 ? 0 : type);
}

}  // namespace

int RunOnNetnsThread(const std::function<int()>& fn) {
  NetnsThread& t = TheNetnsThread();
  std::lock_guard<std::mutex> serial(t.call);
  std::unique_lock<std::mutex> lock(t.mu);
  if (!t.running) {
    pthread_t thread;
    int err = StartThread(&thread, [&t] { NetnsThreadMain(t); });
    if (err != 0) return err;
    pthread_detach(thread);  // nobody joins it: it ends by itself when idle
    t.running = true;
  }
  t.done = false;
  t.job = &fn;
  t.posted.notify_one();
  t.finished.wait(lock, [&] { return t.done; });
  return t.result;
}

int RunInNetns(int nsfd, const std::function<int()>& fn) {
  if (nsfd < 0) return fn();
  return RunOnNetnsThread([&]() -> int { return setns(nsfd, CLONE_NEWNET) != 0 ? errno : fn(); });
}

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsPrepareDir", Napi::Function::New(env, PrepareDirJs));
  exports.Set("netnsCreateNamed", Napi::Function::New(env, CreateNamedJs<true>));
  exports.Set("netnsCreateNamedSync", Napi::Function::New(env, CreateNamedJs<false>));
  exports.Set("netnsDeleteNamed", Napi::Function::New(env, DeleteNamedJs<true>));
  exports.Set("netnsDeleteNamedSync", Napi::Function::New(env, DeleteNamedJs<false>));
  exports.Set("netnsType", Napi::Function::New(env, NetnsTypeJs));
  exports.Set("netnsCreateAnonymous", Napi::Function::New(env, CreateAnonymousJs));
  exports.Set("sysctlRead", Napi::Function::New(env, SysctlReadJs<true>));
  exports.Set("sysctlReadSync", Napi::Function::New(env, SysctlReadJs<false>));
  exports.Set("sysctlWrite", Napi::Function::New(env, SysctlWriteJs<true>));
  exports.Set("sysctlWriteSync", Napi::Function::New(env, SysctlWriteJs<false>));
}

}  // namespace nlkit
