#include "netlink_socket.h"

#include <linux/netlink.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <new>

#include "common.h"
#include "held_fd.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace nlkit {
namespace {

constexpr int kDefaultRcvbuf = 4 << 20;
// Replies up to this size are copied into a JS-owned Buffer; bigger ones (a
// large dump) are handed over without a copy.
constexpr size_t kCopyRepliesBytes = 64 * 1024;
// What an open async socket holds natively while in use (receive and send
// buffers, at most the datagrams actually read); told to V8 so garbage
// collection weighs it.
constexpr int64_t kReportedSocketBytes = 256 * 1024;

void AdjustExternal(napi_env env, int64_t delta) {
  int64_t total;
  if (delta != 0) napi_adjust_external_memory(env, delta, &total);
}

void FreeReply(napi_env env, void*, void* hint) {
  auto* v = static_cast<std::vector<uint8_t>*>(hint);
  AdjustExternal(env, -static_cast<int64_t>(v->size()));
  delete v;
}

// Delivers one event of the I/O thread on the event loop. Runs outside any JS
// call and possibly while the environment tears down, so: raw N-API, every
// failure tolerated, no C++ exception (common.h).
// A send error or an overrun holds the I/O thread's sending until handled (netlink_io.h).
struct ReleaseHold {
  NetlinkIo* io;
  bool hold;
  ~ReleaseHold() {
    if (hold) io->Release();
  }
};

void CallJs(napi_env env, napi_value callback, void* context, void* data) {
  std::unique_ptr<NetlinkIo::Event> ev(static_cast<NetlinkIo::Event*>(data));
  auto* io = static_cast<NetlinkIo*>(context);
  // Teardown (env null): Node runs the TSFN's finalizer (FinalizeIo, which may
  // drop the last reference to io) before it drains the queue through here, so
  // io must not be touched; nothing is sent any more anyway.
  if (env == nullptr || callback == nullptr) return;  // teardown: just free it
  ReleaseHold release{io, NetlinkIo::Holds(ev->kind)};
  size_t bytes = ev->kind == NetlinkIo::kMessages ? ev->data.size() : 0;
  napi_value payload = nullptr;
  if (ev->kind == NetlinkIo::kMessages && bytes <= kCopyRepliesBytes) {
    void* copy;
    if (napi_create_buffer_copy(env, bytes, ev->data.data(), &copy, &payload) != napi_ok) payload = nullptr;
  } else if (ev->kind == NetlinkIo::kMessages) {
    auto* owned = new (std::nothrow) std::vector<uint8_t>(std::move(ev->data));
    if (owned != nullptr &&
        napi_create_external_buffer(env, owned->size(), owned->data(), FreeReply, owned, &payload) == napi_ok) {
      AdjustExternal(env, static_cast<int64_t>(owned->size()));
    } else {
      delete owned;
      payload = nullptr;
    }
  } else if (napi_create_array_with_length(env, ev->tokens.size(), &payload) == napi_ok) {
    for (size_t i = 0; i < ev->tokens.size(); i++) {
      napi_value t;
      if (napi_create_double(env, ev->tokens[i], &t) == napi_ok) napi_set_element(env, payload, i, t);
    }
  } else {
    payload = nullptr;
  }
  // Before the call: the callback may pause or resume reading.
  io->Delivered(bytes);
  if (payload == nullptr) return;
  napi_value argv[3], recv;
  if (napi_create_int32(env, ev->kind, &argv[0]) != napi_ok || napi_create_int32(env, ev->err, &argv[2]) != napi_ok ||
      napi_get_undefined(env, &recv) != napi_ok)
    return;
  argv[1] = payload;
  // A JS exception stays pending; Node reports it as uncaught.
  napi_call_function(env, recv, callback, 3, argv, nullptr);
}

// The TSFN is being destroyed (the socket was closed, or the environment is
// tearing down): stop and join the thread before anything it uses goes away.
void FinalizeIo(napi_env, void* data, void*) {
  std::unique_ptr<std::shared_ptr<NetlinkIo>> io(static_cast<std::shared_ptr<NetlinkIo>*>(data));
  (*io)->Finalize();
}

struct SocketOptions {
  int protocol = 0;
  int nsfd = -1;
  int adopt_fd = -1;
  int rcvbuf = kDefaultRcvbuf;
  int sndbuf = -1;
  std::vector<int> groups;
};

// An adopted descriptor from netlinkSocketOpen is held by the environment
// until now (held_fd.h): the socket object owns it from here on.
void ForgetHeld(napi_env env, int fd) {
  std::shared_ptr<HeldFds> held = fd >= 0 ? HeldFdsOf(env) : nullptr;
  if (held) held->Take(fd);
}

SocketOptions ParseOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketOptions o;
  if (info.Length() >= 3 && info[2].IsObject()) {
    Napi::Object opts = info[2].As<Napi::Object>();
    Napi::Value fd = opts.Get("fd");
    if (fd.IsNumber()) o.adopt_fd = fd.As<Napi::Number>().Int32Value();
  }
  ForgetHeld(env, o.adopt_fd);
  // The adopted descriptor is ours from here on: close it if an argument is bad.
  try {
    o.protocol = ArgInt(info, 0, "protocol", 0, 31);
    o.nsfd = ArgInt(info, 1, "netns fd", -1, INT32_MAX);
    if (info.Length() >= 3 && info[2].IsObject()) {
      Napi::Object opts = info[2].As<Napi::Object>();
      auto positive = [&](const char* key, int* out) {
        Napi::Value v = opts.Get(key);
        if (v.IsUndefined()) return;
        double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
        if (!(d >= 1 && d <= INT32_MAX) || d != static_cast<double>(static_cast<int32_t>(d)))
          throw Napi::TypeError::New(env, std::string(key) + " must be an integer from 1 to 2147483647");
        *out = static_cast<int>(d);
      };
      positive("rcvbuf", &o.rcvbuf);
      positive("sndbuf", &o.sndbuf);
      Napi::Value fd = opts.Get("fd");
      if (!fd.IsUndefined() && (!fd.IsNumber() || o.adopt_fd < 0))
        throw Napi::TypeError::New(env, "fd must be an open descriptor");
      Napi::Value groups = opts.Get("groups");
      if (!groups.IsUndefined()) {
        if (!groups.IsArray()) throw Napi::TypeError::New(env, "groups must be an array of group numbers");
        Napi::Array a = groups.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) {
          Napi::Value g = a.Get(i);
          double d = g.IsNumber() ? g.As<Napi::Number>().DoubleValue() : 0;
          if (!(d >= 1 && d <= 1024) || d != static_cast<double>(static_cast<int>(d)))
            throw Napi::TypeError::New(env, "groups must be an array of group numbers (1-1024)");
          o.groups.push_back(static_cast<int>(d));
        }
      }
    } else if (info.Length() >= 3 && !info[2].IsUndefined()) {
      throw Napi::TypeError::New(env, "options must be an object");
    }
  } catch (...) {
    if (o.adopt_fd >= 0) close(o.adopt_fd);
    throw;
  }
  return o;
}

// Makes (or adopts) the socket and configures it; throws and closes it on
// failure. Returns the fd; sets the port id and the send buffer size.
int OpenConfigured(Napi::Env env, const SocketOptions& o, uint32_t* port_id, int* sndbuf) {
  int fd = o.adopt_fd;
  if (fd < 0) {
    int err = RunInNetns(o.nsfd, [&]() -> int {
      fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, o.protocol);
      return fd < 0 ? errno : 0;
    });
    if (err) throw ErrnoError(env, err, fd < 0 && o.nsfd >= 0 ? "pthread_create/setns/socket(AF_NETLINK)" : "socket(AF_NETLINK)");
  }
  auto fail = [&](int err, const char* what) {
    close(fd);
    throw ErrnoError(env, err, what);
  };
  int one = 1;
  // Extended acks carry the kernel's error text; capped acks do not echo the
  // whole request back; strict checking makes rtnetlink honour dump filters.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  SetBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, o.rcvbuf);
  if (o.sndbuf > 0) SetBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, o.sndbuf);
  socklen_t len = sizeof *sndbuf;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &len);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  socklen_t alen = sizeof addr;
  // An adopted socket may be bound already (a short-lived handle's, used by its first round).
  if (o.adopt_fd >= 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 && addr.nl_pid != 0) {
    *port_id = addr.nl_pid;
  } else {
    addr = sockaddr_nl{};
    addr.nl_family = AF_NETLINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(errno, "bind(AF_NETLINK)");
    alen = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen);
    *port_id = addr.nl_pid;
  }
  for (int g : o.groups) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
      fail(errno, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
  }
  return fd;
}

// A socket made by a pool job for JS to keep: closed if JS never gets it.
struct KeptFd {
  int fd = -1;
  ~KeptFd() {
    if (fd >= 0) close(fd);
  }
};

// The kept socket as JS holds it: an external whose finalizer closes the
// socket unless JS took or closed it, so a handle never closed (a worker that
// ends or is terminated, a handle dropped) does not leak it; a plain fd
// number would (and a netlink socket keeps its namespace alive).
void FinalizeKept(napi_env, void* data, void*) { delete static_cast<KeptFd*>(data); }

KeptFd* KeptArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "a kept netlink socket (from netlinkTransactIn with keep)");
  return info[i].As<Napi::External<KeptFd>>().Data();
}

// netlinkKeptTake(kept) -> fd: the socket is the caller's from here on (-1 if closed or taken).
Napi::Value KeptTakeJs(const Napi::CallbackInfo& info) {
  KeptFd* k = KeptArg(info, 0);
  int fd = k->fd;
  k->fd = -1;
  return Napi::Number::New(info.Env(), fd);
}

// netlinkKeptClose(kept): closes the socket now (a no-op once taken or closed).
Napi::Value KeptCloseJs(const Napi::CallbackInfo& info) {
  KeptFd* k = KeptArg(info, 0);
  if (k->fd >= 0) close(k->fd);
  k->fd = -1;
  return info.Env().Undefined();
}

// A pool job's replies as a Buffer for its promise (on the JS thread).
napi_value RepliesBuffer(napi_env e, const std::vector<uint8_t>& replies) {
  napi_value out = nullptr;
  void* data;
  if (napi_create_buffer_copy(e, replies.size(), replies.data(), &data, &out) != napi_ok) return nullptr;
  return out;
}

// The body of transact() (a pool thread; no JS): 0 or an errno and its syscall.
// With `late_err`, a receive error met after some replies were read is stored
// there and 0 returned: those replies were queued before it (sk_err is
// reported ahead of the queue) and must reach the caller, not be dropped.
int TransactOn(int fd, const std::vector<uint8_t>& request, int wait_ms, int* sndbuf, std::vector<uint8_t>* replies,
               std::string& syscall, int* late_err = nullptr) {
  if (!request.empty()) {
    FitSendBuffer(fd, request.size(), sndbuf);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      syscall = "sendmsg(netlink)";
      return errno;
    }
  }
  // Mapped for this job only (pages the kernel does not fill are never touched). Not
  // thread_local: that would make the addon need the dynamic loader's TLS
  // (__tls_get_addr), which the prebuilds must not depend on.
  PageBuffer scratch;
  if (!scratch.Ensure(kDatagramBytes)) {
    syscall = "recvmsg(netlink)";
    return ENOMEM;
  }
  for (bool waited = wait_ms == 0;;) {
    ssize_t n = recv(fd, scratch.data(), kDatagramBytes, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && replies->empty() && !waited) {
      waited = true;
      pollfd pfd{fd, POLLIN, 0};
      poll(&pfd, 1, wait_ms);
      continue;
    }
    if (n < 0 && errno == EAGAIN) return 0;
    int err = n < 0 ? errno : static_cast<size_t>(n) > kDatagramBytes ? EMSGSIZE : 0;  // ENOBUFS: a reply was lost
    if (err != 0) {
      syscall = "recvmsg(netlink)";
      if (late_err == nullptr || replies->empty()) return err;
      *late_err = err;
      return 0;
    }
    replies->insert(replies->end(), scratch.data(), scratch.data() + n);
  }
}

}  // namespace

void NetlinkSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "NetlinkSocket",
      {
          InstanceMethod<&NetlinkSocket::Send>("send"),
          InstanceMethod<&NetlinkSocket::Transact>("transact"),
          InstanceMethod<&NetlinkSocket::Ref>("ref"),
          InstanceMethod<&NetlinkSocket::Unref>("unref"),
          InstanceMethod<&NetlinkSocket::Pause>("pause"),
          InstanceMethod<&NetlinkSocket::Resume>("resume"),
          InstanceMethod<&NetlinkSocket::Close>("close"),
          InstanceMethod<&NetlinkSocket::LinkName>("linkName"),
          InstanceMethod<&NetlinkSocket::Cancel>("cancel"),
          InstanceMethod<&NetlinkSocket::Unsent>("unsent"),
          InstanceAccessor<&NetlinkSocket::GetPortId>("portId"),
      });
  exports.Set("NetlinkSocket", ctor);
  exports.Set("netlinkSocketOpen", Napi::Function::New(env, OpenJs));
  exports.Set("netlinkTransactIn", Napi::Function::New(env, TransactInJs));
  exports.Set("netlinkTransactFd", Napi::Function::New(env, TransactFdJs));
  exports.Set("netlinkKeptTake", Napi::Function::New(env, KeptTakeJs));
  exports.Set("netlinkKeptClose", Napi::Function::New(env, KeptCloseJs));
  // cpusContended() -> boolean: more tasks runnable than CPUs (reads /proc/loadavg, a few µs).
  exports.Set("cpusContended", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Boolean::New(info.Env(), CpusContended());
              }));
}

// netlinkSocketOpen(protocol, nsfd) -> Promise<fd>: the socket created inside
// the namespace on a worker, because entering a namespace is a hand-off to the
// namespace thread and a setns (it may also wait while that thread serves
// another call) the event loop should not wait for.
Napi::Value NetlinkSocket::OpenJs(const Napi::CallbackInfo& info) {
  int protocol = ArgInt(info, 0, "protocol", 0, 31);
  int nsfd = ArgInt(info, 1, "netns fd", -1, INT32_MAX);
  auto fd = std::make_shared<KeptFd>();  // closed with the job unless the environment's set takes it
  return RunMaybeAsync(
      info.Env(), true,
      [protocol, nsfd, fd](std::string& syscall) -> int {
        syscall = nsfd < 0 ? "socket(AF_NETLINK)" : "pthread_create/setns/socket(AF_NETLINK)";
        return RunInNetns(nsfd, [&]() -> int {
          fd->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
          return fd->fd < 0 ? errno : 0;
        });
      },
      [fd](napi_env env) -> napi_value {
        // Held by the environment until a socket object adopts it (ForgetHeld): a worker ending now, whose JS
        // never runs again, has it closed by the environment's cleanup, or at once if that already ran.
        std::shared_ptr<HeldFds> held = HeldFdsOf(env);
        if (!held) return nullptr;
        int n = held->Hold(fd->fd);
        fd->fd = -1;
        napi_value v = n < 0 ? nullptr : MakeNumber(env, n);
        if (n >= 0 && v == nullptr) held->Release(n);
        return v;
      });
}

// netlinkTransactIn(protocol, nsfd, request, waitMs) -> Promise<Buffer>: one
// round of requests into a namespace without a socket object (the sandbox side
// of an attach, lib/netlink/one-shot.ts). One pool job: the socket is made in
// the namespace (a hand-off to the namespace thread), configured as an async
// socket is, the request sent as one datagram and every reply read as
// transact() does; then the socket is closed, or with `keep` handed back
// ([replies, kept]: a short-lived handle's first round, lib/netlink/first-round.ts)
// when the round succeeded. nsfd is the caller's own reference, open until the
// promise settles.
Napi::Value NetlinkSocket::TransactInJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int protocol = ArgInt(info, 0, "protocol", 0, 31);
  int nsfd = ArgInt(info, 1, "netns fd", -1, INT32_MAX);
  if (!info[2].IsTypedArray()) throw Napi::TypeError::New(env, "netlinkTransactIn(protocol, nsfd, buffer, waitMs, keep)");
  int wait_ms = ArgInt(info, 3, "waitMs", 0, 60000);
  bool keep = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  auto buf = info[2].As<Napi::Uint8Array>();
  auto request = std::make_shared<std::vector<uint8_t>>(buf.Data(), buf.Data() + buf.ByteLength());
  auto replies = std::make_shared<std::vector<uint8_t>>();
  // The kept socket until JS has its number: closed with the job otherwise (environment going away).
  auto kept = std::make_shared<KeptFd>();
  return RunMaybeAsync(
      env, true,
      [protocol, nsfd, wait_ms, request, replies, keep, kept](std::string& syscall) -> int {
        int fd = -1;
        int err = RunInNetns(nsfd, [&]() -> int {
          fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
          return fd < 0 ? errno : 0;
        });
        if (err != 0) {
          syscall = nsfd < 0 ? "socket(AF_NETLINK)" : "pthread_create/setns/socket(AF_NETLINK)";
          return err;
        }
        int one = 1;
        setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
        setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
        setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
        SetBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, kDefaultRcvbuf);
        int sndbuf = 0;
        socklen_t len = sizeof sndbuf;
        getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
        sockaddr_nl addr{};
        addr.nl_family = AF_NETLINK;
        if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
          err = errno;
          syscall = "bind(AF_NETLINK)";
        } else {
          err = TransactOn(fd, *request, wait_ms, &sndbuf, replies.get(), syscall);
        }
        if (keep && err == 0)
          kept->fd = fd;
        else
          close(fd);
        return err;
      },
      [replies, keep, kept](napi_env e) -> napi_value {
        napi_value out = RepliesBuffer(e, *replies);
        if (!keep || out == nullptr) return out;
        auto* holder = new (std::nothrow) KeptFd();
        napi_value pair = nullptr, ext = nullptr;
        if (holder == nullptr) return nullptr;
        if (napi_create_external(e, holder, FinalizeKept, nullptr, &ext) != napi_ok) {
          delete holder;
          return nullptr;
        }
        // The external owns the socket from here on (its finalizer closes it).
        holder->fd = kept->fd;
        kept->fd = -1;
        if (napi_create_array_with_length(e, 2, &pair) != napi_ok || napi_set_element(e, pair, 0, out) != napi_ok ||
            napi_set_element(e, pair, 1, ext) != napi_ok)
          return nullptr;
        return pair;
      });
}

// netlinkTransactFd(kept, request, waitMs) -> Promise<Buffer>: the next round on
// a socket a short-lived handle's first round kept (lib/netlink/one-shot.ts),
// without a socket object: one pool job sends and reads as transact() does, on
// a dup of the descriptor (the caller may close it meanwhile).
Napi::Value NetlinkSocket::TransactFdJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = KeptArg(info, 0)->fd;
  if (fd < 0) throw ErrnoError(env, EBADF, "dup");
  if (!info[1].IsTypedArray()) throw Napi::TypeError::New(env, "netlinkTransactFd(kept, buffer, waitMs)");
  int wait_ms = ArgInt(info, 2, "waitMs", 0, 60000);
  auto buf = info[1].As<Napi::Uint8Array>();
  auto request = std::make_shared<std::vector<uint8_t>>(buf.Data(), buf.Data() + buf.ByteLength());
  auto replies = std::make_shared<std::vector<uint8_t>>();
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) throw ErrnoError(env, errno, "dup");
  return RunMaybeAsync(
      env, true,
      [own, wait_ms, request, replies](std::string& syscall) -> int {
        int sndbuf = 0;
        socklen_t len = sizeof sndbuf;
        getsockopt(own, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
        int err = TransactOn(own, *request, wait_ms, &sndbuf, replies.get(), syscall);
        close(own);
        return err;
      },
      [replies](napi_env e) { return RepliesBuffer(e, *replies); });
}

// new NetlinkSocket(protocol, nsfd, { rcvbuf, sndbuf, groups, fd }, onEvent)
NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[3].IsFunction()) {
    if (info.Length() >= 3 && info[2].IsObject()) {
      Napi::Value fd = info[2].As<Napi::Object>().Get("fd");
      if (fd.IsNumber() && fd.As<Napi::Number>().Int32Value() >= 0) {
        ForgetHeld(env, fd.As<Napi::Number>().Int32Value());
        close(fd.As<Napi::Number>().Int32Value());
      }
    }
    throw Napi::TypeError::New(env, "new NetlinkSocket(protocol, nsfd, options, onEvent): onEvent must be a function");
  }
  SocketOptions o = ParseOptions(info);
  int sndbuf = 0;
  int fd = OpenConfigured(env, o, &port_id_, &sndbuf);
  sndbuf_ = sndbuf;
  threaded_ = !o.groups.empty();
  closed_ = true;  // until everything below succeeded
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, e, "eventfd");
  }
  io_ = std::make_shared<NetlinkIo>(fd, wake_fd, sndbuf, !o.groups.empty());  // owns both fds now
  napi_value name;
  napi_create_string_utf8(env, "nlkit-netlink", NAPI_AUTO_LENGTH, &name);
  auto* keep = new std::shared_ptr<NetlinkIo>(io_);
  if (napi_create_threadsafe_function(env, info[3], nullptr, name, 0, 1, keep, FinalizeIo, io_.get(), CallJs,
                                      &tsfn_) != napi_ok) {
    delete keep;
    io_.reset();  // closes the fds
    throw Napi::Error::New(env, "nlkit: cannot create the netlink event channel");
  }
  io_->SetTsfn(tsfn_);
  napi_unref_threadsafe_function(env, tsfn_);  // TS refs it while requests or subscriptions are live
  if (!o.groups.empty()) {
    int err = io_->StartListening();
    if (err != 0) {
      io_->Stop();  // releases the TSFN: its finalizer closes the fds
      throw ErrnoError(env, err, "pthread_create");
    }
  }
  closed_ = false;
  reported_bytes_ = kReportedSocketBytes;
  AdjustExternal(env, reported_bytes_);
}

// ifName(index) on a socket's own descriptor: SIOCGIFNAME in the socket's
// namespace, no netlink round trip (a netlink socket has no ioctls of its own,
// so the kernel's generic interface ioctls answer). Null: no such link
// (ENODEV); any other failure throws (the caller must not mistake it for a
// link that is gone).
static Napi::Value LinkNameOn(const Napi::CallbackInfo& info, int fd) {
  Napi::Env env = info.Env();
  int index = ArgInt(info, 0, "index", 1, 0x7fffffff);
  ifreq ifr{};
  ifr.ifr_ifindex = index;
  if (ioctl(fd, SIOCGIFNAME, &ifr) < 0) {
    if (errno == ENODEV) return env.Null();
    throw ErrnoError(env, errno, "ioctl(SIOCGIFNAME)");
  }
  return Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
}

NetlinkSocket::~NetlinkSocket() { Shutdown(Env()); }

std::vector<double> NetlinkSocket::Shutdown(napi_env env) {
  std::vector<double> unsent;
  if (closed_) return unsent;
  closed_ = true;
  cancelled_->store(true);
  unsent = io_->Stop();  // the thread (or the TSFN finalizer) closes the fds
  AdjustExternal(env, -reported_bytes_);
  reported_bytes_ = 0;
  return unsent;
}

// send(buffer, token, exclusive)
Napi::Value NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw ErrnoError(env, EBADF, "send");
  if (!info[0].IsTypedArray() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "send(buffer, token, exclusive)");
  auto buf = info[0].As<Napi::Uint8Array>();
  // A plain type check, not ToBoolean(): coercion may run JS, which fails while a worker is being terminated.
  bool exclusive = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  threaded_ = true;
  int err = io_->Enqueue(buf.Data(), buf.ByteLength(), info[1].As<Napi::Number>().DoubleValue(), exclusive);
  if (err != 0) throw ErrnoError(env, err, err == EBADF ? "send" : "pthread_create");
  return env.Undefined();
}

// transact(buffer, waitMs) -> Promise<Buffer>: the thread-less path of a
// socket whose I/O thread never started (lib/netlink/connection.ts uses it for
// a handle's first requests). On the libuv pool: sends the buffer as one
// datagram (nothing if empty), then reads every datagram available, waiting up
// to waitMs for the first. rtnetlink answers each request while sendmsg runs
// and makes the next part of a dump while the previous is read, so one call
// returns the acks of all the requests and whole dumps. It works on a dup of
// the descriptor: close() may run meanwhile, and the number the job uses is
// never another file's.
Napi::Value NetlinkSocket::Transact(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw ErrnoError(env, EBADF, "send");
  if (threaded_) throw ErrnoError(env, EBUSY, "transact");  // the I/O thread would read the replies
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "transact(buffer, waitMs)");
  int wait_ms = ArgInt(info, 1, "waitMs", 0, 60000);
  auto buf = info[0].As<Napi::Uint8Array>();
  auto request = std::make_shared<std::vector<uint8_t>>(buf.Data(), buf.Data() + buf.ByteLength());
  int fd = fcntl(io_->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, errno, "dup");
  auto replies = std::make_shared<std::vector<uint8_t>>();
  auto late_err = std::make_shared<int>(0);
  int sndbuf = sndbuf_;
  auto cancelled = cancelled_;
  return RunMaybeAsync(
      env, true,
      [fd, wait_ms, request, replies, late_err, sndbuf, cancelled](std::string& syscall) mutable -> int {
        if (cancelled->load()) {  // closed while the job waited for a pool thread: never sent
          close(fd);
          syscall = "transact";
          return ECANCELED;
        }
        int err = TransactOn(fd, *request, wait_ms, &sndbuf, replies.get(), syscall, late_err.get());
        close(fd);
        return err;
      },
      // A receive error after replies were read rides on them (`errno`): JS handles it once they are delivered.
      [replies, late_err](napi_env e) {
        napi_value out = RepliesBuffer(e, *replies);
        napi_value num;
        if (out != nullptr && *late_err != 0 && napi_create_int32(e, *late_err, &num) == napi_ok)
          napi_set_named_property(e, out, "errno", num);
        return out;
      });
}

// ref()/unref(): whether something waits on this socket. While referenced it
// keeps the event loop alive and its thread does not exit for idleness.
Napi::Value NetlinkSocket::Ref(const Napi::CallbackInfo& info) {
  if (!closed_ && !refed_) {
    refed_ = true;
    io_->SetBusy(true);
    napi_ref_threadsafe_function(info.Env(), tsfn_);
  }
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Unref(const Napi::CallbackInfo& info) {
  if (!closed_ && refed_) {
    refed_ = false;
    io_->SetBusy(false);
    napi_unref_threadsafe_function(info.Env(), tsfn_);
  }
  return info.Env().Undefined();
}

// pause()/resume(): stop reading while the consumer of a dump is behind; the
// kernel produces the next part of a dump only when it is read.
Napi::Value NetlinkSocket::Pause(const Napi::CallbackInfo& info) {
  if (!closed_) io_->SetPaused(true);
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Resume(const Napi::CallbackInfo& info) {
  if (!closed_) io_->SetPaused(false);
  return info.Env().Undefined();
}

// close() -> tokens of the requests that were never handed to the kernel.
// Returns at once: a sendmsg in progress completes on the I/O thread (and the
// TSFN, still referenced if something was pending, keeps the process alive
// until then, but not longer).
Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  refed_ = false;
  std::vector<double> unsent = Shutdown(env);
  Napi::Array out = Napi::Array::New(env, unsent.size());
  for (size_t i = 0; i < unsent.size(); i++) out.Set(i, Napi::Number::New(env, unsent[i]));
  return out;
}

// cancel(first, last, all?) -> tokens of the queued requests in [first, last]
// that will now never be sent (a bulk call's later parts, once it was
// rejected); with `all` every queued request (after a fatal receive error).
Napi::Value NetlinkSocket::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "cancel(first, last, all?)");
  bool all = info.Length() > 2 && info[2].ToBoolean().Value();
  std::vector<double> cancelled;
  if (!closed_)
    cancelled = io_->Cancel(info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::Number>().DoubleValue(), all);
  Napi::Array out = Napi::Array::New(env, cancelled.size());
  for (size_t i = 0; i < cancelled.size(); i++) out.Set(i, Napi::Number::New(env, cancelled[i]));
  return out;
}

// unsent() -> tokens of the queued requests not yet handed to the kernel, in
// order (read while an overrun is handled: those before were all sent).
Napi::Value NetlinkSocket::Unsent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<double> unsent;
  if (!closed_) unsent = io_->Unsent();
  Napi::Array out = Napi::Array::New(env, unsent.size());
  for (size_t i = 0; i < unsent.size(); i++) out.Set(i, Napi::Number::New(env, unsent[i]));
  return out;
}

// While closed_ is false the descriptor is io_'s and open: only Stop() (from
// Shutdown, on this thread) lets the I/O thread close it.
Napi::Value NetlinkSocket::LinkName(const Napi::CallbackInfo& info) {
  if (closed_) throw ErrnoError(info.Env(), EBADF, "ioctl(SIOCGIFNAME)");
  return LinkNameOn(info, io_->fd());
}

Napi::Value NetlinkSocket::GetPortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), port_id_);
}

void NetlinkSyncSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NetlinkSyncSocket",
                                    {
                                        InstanceMethod<&NetlinkSyncSocket::Send>("send"),
                                        InstanceMethod<&NetlinkSyncSocket::Recv>("recv"),
                                        InstanceMethod<&NetlinkSyncSocket::Close>("close"),
                                        InstanceMethod<&NetlinkSyncSocket::LinkName>("linkName"),
                                        InstanceAccessor<&NetlinkSyncSocket::GetPortId>("portId"),
                                    });
  exports.Set("NetlinkSyncSocket", ctor);
}

// new NetlinkSyncSocket(protocol, nsfd, { rcvbuf, sndbuf })
NetlinkSyncSocket::NetlinkSyncSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSyncSocket>(info) {
  SocketOptions o = ParseOptions(info);
  fd_ = OpenConfigured(info.Env(), o, &port_id_, &sndbuf_);
}

NetlinkSyncSocket::~NetlinkSyncSocket() {
  if (fd_ >= 0) close(fd_);
}

void NetlinkSyncSocket::CheckOpen(Napi::Env env, const char* what) const {
  if (fd_ < 0) throw ErrnoError(env, EBADF, what);
}

// send(buffer): one datagram; the kernel processes it before this returns.
Napi::Value NetlinkSyncSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "send");
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "send(buffer)");
  auto buf = info[0].As<Napi::Uint8Array>();
  FitSendBuffer(fd_, buf.ByteLength(), &sndbuf_);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_, buf.Data(), buf.ByteLength(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw ErrnoError(env, errno, "sendmsg(netlink)");
  return env.Undefined();
}

// recv(timeoutMs): waits for at least one datagram (or the timeout; -1 waits
// forever), then returns everything available as one Buffer (empty on
// timeout). Throws with errno ENOBUFS when the kernel dropped messages (met
// after data was read, by the next call).
Napi::Value NetlinkSyncSocket::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "recv");
  int timeout = info[0].IsUndefined() ? -1 : ArgInt(info, 0, "timeout", -1, INT32_MAX);
  if (!scratch_.Ensure(kDatagramBytes)) throw ErrnoError(env, ENOMEM, "recv");
  if (pending_err_ != 0) {
    int err = pending_err_;
    pending_err_ = 0;
    throw ErrnoError(env, err, "recvmsg(netlink)");
  }
  pollfd pfd{fd_, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, timeout);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw ErrnoError(env, errno, "poll");
  std::vector<uint8_t> out;
  int err = 0;
  for (;;) {
    ssize_t n = recv(fd_, scratch_.data(), kDatagramBytes, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) err = errno;
      break;
    }
    if (static_cast<size_t>(n) > kDatagramBytes) {
      err = EMSGSIZE;
      break;
    }
    out.insert(out.end(), scratch_.data(), scratch_.data() + n);
  }
  if (err && out.empty()) throw ErrnoError(env, err, "recvmsg(netlink)");
  // Not lost (the kernel reports ENOBUFS once): the data now, the error next.
  pending_err_ = err;
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

Napi::Value NetlinkSyncSocket::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  scratch_.Release();
  return info.Env().Undefined();
}

Napi::Value NetlinkSyncSocket::LinkName(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), "ioctl(SIOCGIFNAME)");
  return LinkNameOn(info, fd_);
}

Napi::Value NetlinkSyncSocket::GetPortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), port_id_);
}

}  // namespace nlkit
