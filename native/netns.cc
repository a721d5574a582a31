// Network namespaces the way `ip netns` manages them, with syscalls only:
// a named namespace is a bind mount of a namespace inode on a file under
// /run/netns, and that directory is a shared mount so other mount namespaces
// see new names appear.
#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "common.h"

namespace nlkit {
namespace {

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

// Creates a fresh namespace on a throw-away thread and pins it by bind
// mounting the thread's namespace file on `path`.
int CreateNamed(const std::string& path, std::string& syscall) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    syscall = "open(" + path + ")";
    return errno;
  }
  close(fd);
  std::string step = "pthread_create";
  int result = 0;
  pthread_t worker;
  int err = StartThread(&worker, [&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = errno;
      step = "unshare(CLONE_NEWNET)";
      return;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      result = errno;
      step = "mount(MS_BIND)";
    }
  });
  if (err != 0) result = err;
  else pthread_join(worker, nullptr);
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
  int result = 0;
  pthread_t worker;
  int err = StartThread(&worker, [&] {
    if (unshare(CLONE_NEWNET) != 0) {
      result = errno;
      syscall = "unshare(CLONE_NEWNET)";
      return;
    }
    *out = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (*out < 0) {
      result = errno;
      syscall = "open(/proc/thread-self/ns/net)";
    }
  });
  if (err != 0) {
    syscall = "pthread_create";
    return err;
  }
  pthread_join(worker, nullptr);
  return result;
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

Napi::Value CreateNamedJs(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  bool async = info[1].ToBoolean();
  return RunMaybeAsync(
      info.Env(), async, [path](std::string& s) { return CreateNamed(path, s); },
      DoneUndefined);
}

Napi::Value DeleteNamedJs(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  bool async = info[1].ToBoolean();
  return RunMaybeAsync(
      info.Env(), async, [path](std::string& s) { return DeleteNamed(path, s); },
      DoneUndefined);
}

Napi::Value CreateAnonymousJs(const Napi::CallbackInfo& info) {
  bool async = info[0].ToBoolean();
  auto fd = std::make_shared<int>(-1);
  return RunMaybeAsync(
      info.Env(), async, [fd](std::string& s) { return CreateAnonymous(fd.get(), s); },
      [fd](napi_env env) { return MakeNumber(env, *fd); });
}

Napi::Value SysctlReadJs(const Napi::CallbackInfo& info) {
  int nsfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>();
  bool async = info[2].ToBoolean();
  auto out = std::make_shared<std::string>();
  return RunMaybeAsync(
      info.Env(), async,
      [nsfd, path, out](std::string& s) { return SysctlIo(nsfd, path, nullptr, out.get(), s); },
      [out](napi_env env) { return MakeString(env, *out); });
}

Napi::Value SysctlWriteJs(const Napi::CallbackInfo& info) {
  int nsfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>();
  std::string value = info[2].As<Napi::String>();
  bool async = info[3].ToBoolean();
  return RunMaybeAsync(
      info.Env(), async,
      [nsfd, path, value](std::string& s) { return SysctlIo(nsfd, path, &value, nullptr, s); },
      DoneUndefined);
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsPrepareDir", Napi::Function::New(env, PrepareDirJs));
  exports.Set("netnsCreateNamed", Napi::Function::New(env, CreateNamedJs));
  exports.Set("netnsDeleteNamed", Napi::Function::New(env, DeleteNamedJs));
  exports.Set("netnsCreateAnonymous", Napi::Function::New(env, CreateAnonymousJs));
  exports.Set("sysctlRead", Napi::Function::New(env, SysctlReadJs));
  exports.Set("sysctlWrite", Napi::Function::New(env, SysctlWriteJs));
}

}  // namespace nlkit
