#include "netlink_socket.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cstdlib>

#include "common.h"

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

// Coalesced sends stay below this so the acks they produce (one small skb per
// request) always fit the receive buffer before the thread drains them.
constexpr size_t kCoalesceBytes = 64 * 1024;
// One datagram never exceeds this: dumps are cut at 32 KiB by the kernel and
// unicast replies are far smaller.
constexpr size_t kScratchBytes = 1 << 20;
// Deliver to JS at least this often while a large dump streams in: JS parses
// (or streams) one part while the kernel produces the next.
constexpr size_t kInboxFlushBytes = 128 << 10;
constexpr int kDefaultRcvbuf = 4 << 20;
// Replies up to this size are copied into a JS-owned Buffer; bigger ones (a
// large dump) are handed over without a copy.
constexpr size_t kCopyRepliesBytes = 64 * 1024;
// The send queue keeps its capacity between batches up to this size.
constexpr size_t kKeepQueueBytes = 1 << 20;
// After sending, the I/O thread looks for more requests this long before it
// sleeps (only with more than one CPU: on one CPU it would delay the caller).
// A caller awaiting requests one by one sends the next one a few microseconds
// after its reply: caught here, it costs no eventfd write and no wake-up.
constexpr auto kSpin = std::chrono::microseconds(50);

// Spinning yields the CPU each turn: when the event loop shares this CPU it
// gets to run (and send the request the spin is waiting for).
inline void CpuRelax() { sched_yield(); }

// NLKIT_IO_SPIN_US overrides the spin time (0 disables spinning).
std::chrono::microseconds SpinTime() {
  const char* env = getenv("NLKIT_IO_SPIN_US");
  if (env != nullptr && *env != '\0') return std::chrono::microseconds(std::max(0L, strtol(env, nullptr, 10)));
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2) return std::chrono::microseconds(0);
  return kSpin;
}

void SetBufferSize(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0) {
    // Without CAP_NET_ADMIN the plain option still works up to net.core.*mem_max.
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  }
}

using Tsfn = Napi::ThreadSafeFunction;

void CallJs(Napi::Env env, Napi::Function callback, NetlinkSocket::Event* ev) {
  if (env == nullptr || callback == nullptr) {
    delete ev;
    return;
  }
  Napi::Value payload;
  if (ev->kind == NetlinkSocket::kMessages && ev->data.size() <= kCopyRepliesBytes) {
    payload = Napi::Buffer<uint8_t>::Copy(env, ev->data.data(), ev->data.size());
  } else if (ev->kind == NetlinkSocket::kMessages) {
    auto* owned = new std::vector<uint8_t>(std::move(ev->data));
    payload = Napi::Buffer<uint8_t>::New(
        env, owned->data(), owned->size(),
        [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, owned);
  } else {
    Napi::Array tokens = Napi::Array::New(env, ev->tokens.size());
    for (size_t i = 0; i < ev->tokens.size(); i++) tokens.Set(i, Napi::Number::New(env, ev->tokens[i]));
    payload = tokens;
  }
  callback.Call({Napi::Number::New(env, ev->kind), payload, Napi::Number::New(env, ev->err)});
  delete ev;
}

}  // namespace

void NetlinkSocket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "NetlinkSocket",
      {
          InstanceMethod<&NetlinkSocket::Send>("send"),
          InstanceMethod<&NetlinkSocket::SendSync>("sendSync"),
          InstanceMethod<&NetlinkSocket::RecvSync>("recvSync"),
          InstanceMethod<&NetlinkSocket::AddMembership>("addMembership"),
          InstanceMethod<&NetlinkSocket::DropMembership>("dropMembership"),
          InstanceMethod<&NetlinkSocket::SetReceiveBuffer>("setReceiveBuffer"),
          InstanceMethod<&NetlinkSocket::Ref>("ref"),
          InstanceMethod<&NetlinkSocket::Unref>("unref"),
          InstanceMethod<&NetlinkSocket::Close>("close"),
          InstanceAccessor<&NetlinkSocket::GetPortId>("portId"),
          InstanceAccessor<&NetlinkSocket::GetFd>("fd"),
      });
  exports.Set("NetlinkSocket", ctor);
  exports.Set("netlinkSocketOpen", Napi::Function::New(env, OpenJs));
}

// netlinkSocketOpen(protocol, nsfd) -> Promise<fd>: the socket created inside
// the namespace on a worker, because entering a namespace costs a thread and
// a setns (about 0.4 ms, sometimes many ms) the event loop should not wait for.
Napi::Value NetlinkSocket::OpenJs(const Napi::CallbackInfo& info) {
  int protocol = info[0].As<Napi::Number>().Int32Value();
  int nsfd = info[1].As<Napi::Number>().Int32Value();
  auto fd = std::make_shared<int>(-1);
  return RunMaybeAsync(
      info.Env(), true,
      [protocol, nsfd, fd](std::string& syscall) -> int {
        syscall = nsfd < 0 ? "socket(AF_NETLINK)" : "setns/socket(AF_NETLINK)";
        return RunInNetns(nsfd, [&]() -> int {
          *fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
          return *fd < 0 ? errno : 0;
        });
      },
      [fd](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *fd); });
}

// new NetlinkSocket(protocol, nsfd, { rcvbuf, sndbuf, groups }, onEvent?)
NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  int protocol = info[0].As<Napi::Number>().Int32Value();
  int nsfd = info[1].As<Napi::Number>().Int32Value();
  Napi::Object opts = info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  async_ = info[3].IsFunction();

  if (opts.Get("fd").IsNumber()) {
    // Made by netlinkSocketOpen off the main thread; this object owns it now.
    fd_ = opts.Get("fd").As<Napi::Number>().Int32Value();
  } else {
    int err = RunInNetns(nsfd, [&]() -> int {
      fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
      return fd_ < 0 ? errno : 0;
    });
    if (err) throw ErrnoError(env, err, nsfd < 0 ? "socket(AF_NETLINK)" : "setns/socket(AF_NETLINK)");
  }

  int one = 1;
  // Extended acks carry the kernel's error text; capped acks do not echo the
  // whole request back; strict checking makes rtnetlink honour dump filters.
  setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);

  int rcvbuf = opts.Get("rcvbuf").IsNumber() ? opts.Get("rcvbuf").As<Napi::Number>().Int32Value() : kDefaultRcvbuf;
  SetBufferSize(fd_, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  if (opts.Get("sndbuf").IsNumber()) {
    SetBufferSize(fd_, SO_SNDBUFFORCE, SO_SNDBUF, opts.Get("sndbuf").As<Napi::Number>().Int32Value());
  }
  socklen_t len = sizeof sndbuf_;
  getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf_, &len);

  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(fd_);
    throw ErrnoError(env, e, "bind(AF_NETLINK)");
  }
  socklen_t alen = sizeof addr;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &alen);
  port_id_ = addr.nl_pid;

  if (opts.Get("groups").IsArray()) {
    Napi::Array groups = opts.Get("groups").As<Napi::Array>();
    for (uint32_t i = 0; i < groups.Length(); i++) {
      int g = groups.Get(i).As<Napi::Number>().Int32Value();
      if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0) {
        int e = errno;
        close(fd_);
        throw ErrnoError(env, e, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
      }
    }
  }

  if (async_) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    scratch_.resize(kScratchBytes);
    tsfn_ = Tsfn::New(env, info[3].As<Napi::Function>(), "nlkit-netlink", 0, 1);
    tsfn_.Unref(env);  // TS refs it while requests or subscriptions are live
    spin_ = SpinTime();
    io_ = std::thread([this] { IoLoop(); });
  } else {
    scratch_.resize(kScratchBytes);
  }
}

NetlinkSocket::~NetlinkSocket() { Shutdown(); }

void NetlinkSocket::Shutdown() {
  if (closed_) return;
  closed_ = true;
  if (async_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) { /* the thread also polls fd_ */ }
    if (io_.joinable()) io_.join();
    tsfn_.Release();
    close(wake_fd_);
  }
  close(fd_);
}

void NetlinkSocket::EnsureSendBuffer(size_t bytes) {
  // The kernel refuses a datagram larger than sndbuf minus a little overhead;
  // nfnetlink batches must travel in one datagram, so grow to fit.
  if (bytes + 1024 <= static_cast<size_t>(sndbuf_)) return;
  int want = static_cast<int>(bytes + 64 * 1024);
  SetBufferSize(fd_, SO_SNDBUFFORCE, SO_SNDBUF, want / 2);  // the kernel doubles it
  socklen_t len = sizeof sndbuf_;
  getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf_, &len);
}

void NetlinkSocket::Post(Event* ev) {
  if (tsfn_.NonBlockingCall(ev, CallJs) != napi_ok) delete ev;
}

void NetlinkSocket::FlushInbox() {
  if (inbox_.empty()) return;
  auto* ev = new Event(kMessages);
  ev->data.swap(inbox_);
  Post(ev);
}

bool NetlinkSocket::Drain() {
  for (;;) {
    ssize_t n = recv(fd_, scratch_.data(), scratch_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      if (errno == ENOBUFS) {
        FlushInbox();
        Post(new Event(kOverrun, ENOBUFS));
        continue;
      }
      FlushInbox();
      Post(new Event(kFatal, errno));
      return false;
    }
    if (static_cast<size_t>(n) > scratch_.size()) {
      FlushInbox();
      Post(new Event(kFatal, EMSGSIZE));
      continue;
    }
    inbox_.insert(inbox_.end(), scratch_.begin(), scratch_.begin() + n);
    if (inbox_.size() >= kInboxFlushBytes) FlushInbox();
  }
}

void NetlinkSocket::SendChunk(const uint8_t* data, size_t length, const Outgoing* first, const Outgoing* last) {
  EnsureSendBuffer(length);
  // One iovec: a coalesced chunk is contiguous in the queue, and sendmsg
  // refuses more than UIO_MAXIOV (1024) iovecs with EMSGSIZE.
  iovec iov{const_cast<uint8_t*>(data), length};
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  // Replies to everything in this datagram were queued during sendmsg.
  Drain();
  // Only batches (which complete on "sent") and failed sends need an event;
  // everything else completes on its own replies, posted after all chunks.
  bool report = err != 0;
  for (const Outgoing* o = first; o != last && !report; ++o) report = o->exclusive;
  if (!report) return;
  // Post the replies before announcing the send, so "sent" means "all sync
  // replies seen".
  FlushInbox();
  auto* ev = new Event(err ? kSendError : kSent, err);
  for (const Outgoing* o = first; o != last; ++o) ev->tokens.push_back(o->token);
  Post(ev);
}

bool NetlinkSocket::TakeAndSend() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point spin_until{};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      if (queue_.empty()) {
        if (Clock::now() >= spin_until) {
          awake_ = false;  // the next send() writes the eventfd
          return true;
        }
      } else {
        send_bytes_.swap(queue_bytes_);
        send_items_.swap(queue_);
        has_work_.store(false, std::memory_order_relaxed);
      }
    }
    if (send_items_.empty()) {
      // Spinning: a caller awaiting its requests one by one sends the next one
      // a few microseconds after its reply; picking it up here saves the
      // eventfd write and a thread wake-up per request.
      while (!has_work_.load(std::memory_order_acquire) && Clock::now() < spin_until) CpuRelax();
      continue;
    }
    const Outgoing* items = send_items_.data();
    size_t count = send_items_.size();
    for (size_t i = 0; i < count;) {
      size_t j = i + 1;
      size_t length = items[i].length;
      if (!items[i].exclusive) {
        while (j < count && !items[j].exclusive && length + items[j].length <= kCoalesceBytes) length += items[j++].length;
      }
      // Items are appended in order, so a run of them is contiguous.
      SendChunk(send_bytes_.data() + items[i].offset, length, &items[i], &items[j]);
      i = j;
    }
    FlushInbox();
    send_items_.clear();
    if (send_bytes_.capacity() > kKeepQueueBytes) std::vector<uint8_t>().swap(send_bytes_);
    else send_bytes_.clear();
    spin_until = Clock::now() + spin_;
  }
}

void NetlinkSocket::IoLoop() {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      if (read(wake_fd_, &v, sizeof v) < 0) { /* spurious wake-up */ }
    }
    if (!TakeAndSend()) break;
    if (fds[0].revents & (POLLIN | POLLERR)) {
      if (!Drain()) {
        FlushInbox();
        break;
      }
    }
    FlushInbox();
  }
}

// send(buffer, token, exclusive)
Napi::Value NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  if (closed_) throw ErrnoError(info.Env(), EBADF, "send");
  auto buf = info[0].As<Napi::Uint8Array>();
  double token = info[1].As<Napi::Number>().DoubleValue();
  bool exclusive = info[2].ToBoolean();
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t offset = queue_bytes_.size();
    queue_bytes_.insert(queue_bytes_.end(), buf.Data(), buf.Data() + buf.ByteLength());
    queue_.push_back(Outgoing{offset, buf.ByteLength(), token, exclusive});
    has_work_.store(true, std::memory_order_release);
    wake = !awake_;
    awake_ = true;
  }
  if (wake) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) { /* counter saturated: already awake */ }
  }
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::SendSync(const Napi::CallbackInfo& info) {
  if (closed_) throw ErrnoError(info.Env(), EBADF, "send");
  auto buf = info[0].As<Napi::Uint8Array>();
  EnsureSendBuffer(buf.ByteLength());
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_, buf.Data(), buf.ByteLength(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw ErrnoError(info.Env(), errno, "sendmsg(netlink)");
  return info.Env().Undefined();
}

// recvSync(timeoutMs): waits for at least one datagram (or the timeout; -1
// waits forever), then returns everything available as one Buffer (empty on
// timeout). Throws with errno ENOBUFS when the kernel dropped messages.
Napi::Value NetlinkSocket::RecvSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw ErrnoError(env, EBADF, "recv");
  int timeout = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  pollfd pfd{fd_, POLLIN, 0};
  int r;
  do {
    r = poll(&pfd, 1, timeout);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw ErrnoError(env, errno, "poll");
  std::vector<uint8_t> out;
  int err = 0;
  for (;;) {
    ssize_t n = recv(fd_, scratch_.data(), scratch_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) err = errno;
      break;
    }
    if (static_cast<size_t>(n) > scratch_.size()) {
      err = EMSGSIZE;
      break;
    }
    out.insert(out.end(), scratch_.begin(), scratch_.begin() + n);
  }
  if (err && out.empty()) throw ErrnoError(env, err, "recvmsg(netlink)");
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

Napi::Value NetlinkSocket::AddMembership(const Napi::CallbackInfo& info) {
  int g = info[0].As<Napi::Number>().Int32Value();
  if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
    throw ErrnoError(info.Env(), errno, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::DropMembership(const Napi::CallbackInfo& info) {
  int g = info[0].As<Napi::Number>().Int32Value();
  if (setsockopt(fd_, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &g, sizeof g) != 0)
    throw ErrnoError(info.Env(), errno, "setsockopt(NETLINK_DROP_MEMBERSHIP)");
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::SetReceiveBuffer(const Napi::CallbackInfo& info) {
  SetBufferSize(fd_, SO_RCVBUFFORCE, SO_RCVBUF, info[0].As<Napi::Number>().Int32Value());
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &v, &len);
  return Napi::Number::New(info.Env(), v);
}

Napi::Value NetlinkSocket::Ref(const Napi::CallbackInfo& info) {
  if (async_ && !closed_) tsfn_.Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Unref(const Napi::CallbackInfo& info) {
  if (async_ && !closed_) tsfn_.Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::GetPortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), port_id_);
}

Napi::Value NetlinkSocket::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), closed_ ? -1 : fd_);
}

}  // namespace nlkit
