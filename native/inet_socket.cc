// TCP and UDP sockets created inside a network namespace. A socket belongs to
// the namespace it was created in for its whole life, so only socket()/bind()
// run on a namespace thread; Node's own net/dgram objects adopt the fd after.
#include "inet_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "common.h"
#include "held_fd.h"
#include "udp_receiver.h"

// <linux/netfilter_ipv6/ip6_tables.h> drags in the whole x_tables ABI for this one number.
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

namespace nlkit {
namespace {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

// host may carry an IPv6 zone as a number ("fe80::1%3"); lib/sockets resolves
// interface names to indexes in the right namespace before calling here.
bool ParseAddr(int family, const std::string& host, int port, SockAddr* out) {
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out->ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    std::string h = host.empty() ? "::" : host;
    auto pct = h.find('%');
    if (pct != std::string::npos) {
      std::string zone = h.substr(pct + 1);
      h = h.substr(0, pct);
      char* end = nullptr;
      unsigned long id = strtoul(zone.c_str(), &end, 10);
      if (zone.empty() || *end != '\0' || id > UINT32_MAX) return false;
      a->sin6_scope_id = static_cast<uint32_t>(id);
    }
    if (inet_pton(AF_INET6, h.c_str(), &a->sin6_addr) != 1) return false;
    out->len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&out->ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.empty() ? "0.0.0.0" : host.c_str(), &a->sin_addr) != 1) return false;
    out->len = sizeof *a;
  }
  return true;
}

int OptInt(Napi::Object o, const char* key, int dflt) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Int32Value() : dflt;
}
bool OptBool(Napi::Object o, const char* key) { return o.Has(key) && o.Get(key).ToBoolean(); }
std::string OptStr(Napi::Object o, const char* key) {
  return o.Has(key) && o.Get(key).IsString() ? o.Get(key).As<Napi::String>().Utf8Value() : std::string();
}

struct InetSpec {
  int family = 4;
  bool udp = false;
  bool bind = false;
  int backlog = -1;
  bool reuse_addr = false, reuse_port = false, freebind = false;
  bool transparent = false;  // IP(V6)_TRANSPARENT: bind and accept non-local addresses (TPROXY)
  int64_t mark = -1;         // SO_MARK; -1: none
  bool recv_orig_dst = false;  // IP(V6)_RECVORIGDSTADDR: each datagram's destination before TPROXY (udp_receiver.cc reads it)
  int v6only = -1;  // -1: leave the system default
  SockAddr addr;
};

// Creates the socket inside the namespace (on the namespace thread: only
// socket() needs it) and configures it; returns 0 or an errno.
int MakeInetSocket(int nsfd, const InetSpec& spec, int* out, std::string& syscall) {
  int fd = -1;
  syscall = "pthread_create/socket";
  int err = RunInNetns(nsfd, [&]() -> int {
    fd = socket(spec.family == 6 ? AF_INET6 : AF_INET, (spec.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    return fd < 0 ? errno : 0;
  });
  if (err) return err;
  auto fail = [&](const char* what) {
    int e = errno;
    close(fd);
    syscall = what;
    return e;
  };
  int one = 1;
  if (spec.reuse_addr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)) return fail("setsockopt(SO_REUSEADDR)");
  if (spec.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one)) return fail("setsockopt(SO_REUSEPORT)");
  if (spec.freebind && setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one)) return fail("setsockopt(IP_FREEBIND)");
  if (spec.transparent && (spec.family == 6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one)
                                             : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one)))
    return fail(spec.family == 6 ? "setsockopt(IPV6_TRANSPARENT)" : "setsockopt(IP_TRANSPARENT)");
  if (spec.mark >= 0) {
    uint32_t mark = static_cast<uint32_t>(spec.mark);
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark)) return fail("setsockopt(SO_MARK)");
  }
  // On an IPv6 socket the IPv4 option too: IPv4 datagrams reach a dual-stack socket mapped.
  if (spec.recv_orig_dst && ((spec.family == 6 && setsockopt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, &one, sizeof one)) ||
                             setsockopt(fd, SOL_IP, IP_RECVORIGDSTADDR, &one, sizeof one)))
    return fail("setsockopt(IP_RECVORIGDSTADDR)");
  if (spec.family == 6 && spec.v6only >= 0 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &spec.v6only, sizeof spec.v6only))
    return fail("setsockopt(IPV6_V6ONLY)");
  if (spec.bind && bind(fd, reinterpret_cast<const sockaddr*>(&spec.addr.ss), spec.addr.len)) return fail("bind");
  if (!spec.udp && spec.backlog >= 0 && listen(fd, spec.backlog)) return fail("listen");
  *out = fd;
  return 0;
}

// inetSocket(nsfd, { family: 4|6, udp, host, port, bind, reuseAddr, reusePort,
//                    v6only, freebind, transparent, mark, backlog }) -> Promise<fd>
// bind: whether to bind to host:port; backlog >= 0: listen() too. Made off
// the event loop: entering the namespace takes a thread.
Napi::Value InetSocketJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = ArgInt(info, 0, "netns fd", -1, INT32_MAX);
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "inetSocket(nsfd, options)");
  Napi::Object o = info[1].As<Napi::Object>();
  auto spec = std::make_shared<InetSpec>();
  spec->family = OptInt(o, "family", 4);
  spec->udp = OptBool(o, "udp");
  spec->bind = OptBool(o, "bind");
  spec->backlog = OptInt(o, "backlog", -1);
  spec->reuse_addr = OptBool(o, "reuseAddr");
  spec->reuse_port = OptBool(o, "reusePort");
  spec->freebind = OptBool(o, "freebind");
  spec->transparent = OptBool(o, "transparent");
  spec->recv_orig_dst = OptBool(o, "recvOrigDst");
  if (o.Has("mark") && o.Get("mark").IsNumber()) spec->mark = o.Get("mark").As<Napi::Number>().Int64Value();
  if (o.Has("v6only") && !o.Get("v6only").IsUndefined()) spec->v6only = OptBool(o, "v6only") ? 1 : 0;
  if (spec->bind && !ParseAddr(spec->family, OptStr(o, "host"), OptInt(o, "port", 0), &spec->addr))
    throw ErrnoError(env, EINVAL, "inet_pton");
  auto fd = std::make_shared<int>(-1);
  return RunMaybeAsync(
      env, true, [nsfd, spec, fd](std::string& syscall) { return MakeInetSocket(nsfd, *spec, fd.get(), syscall); },
      [fd](napi_env e) -> napi_value {
        // Held by the environment until JS takes it (heldFdTake, lib/system/inet-socket.ts): a worker that ends
        // before its JS runs again has it closed by the environment's cleanup, or at once if that already ran.
        std::shared_ptr<HeldFds> held = HeldFdsOf(e);
        if (!held) {
          close(*fd);
          return nullptr;
        }
        int n = held->Hold(*fd);
        napi_value v = n < 0 ? nullptr : MakeNumber(e, n);
        if (n >= 0 && v == nullptr) held->Release(n);
        return v;
      });
}

// tcpConnect(fd, family, host, port, timeoutMs) -> Promise<void>
// Blocks only a libuv worker; the fd is left non-blocking and connected.
Napi::Value TcpConnectJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int family = info[1].As<Napi::Number>().Int32Value();
  std::string host = info[2].As<Napi::String>();
  int port = info[3].As<Napi::Number>().Int32Value();
  int timeout = info[4].As<Napi::Number>().Int32Value();
  auto addr = std::make_shared<SockAddr>();
  if (!ParseAddr(family, host, port, addr.get())) throw ErrnoError(env, EINVAL, "inet_pton");
  return Napi::Value(env, RunAsync(
      env,
      [fd, addr, timeout](std::string& syscall) -> int {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr->ss), addr->len) == 0) return 0;
        if (errno != EINPROGRESS) {
          syscall = "connect";
          return errno;
        }
        pollfd p{fd, POLLOUT, 0};
        int r;
        do {
          r = poll(&p, 1, timeout);
        } while (r < 0 && errno == EINTR);
        syscall = "connect";
        if (r == 0) return ETIMEDOUT;
        if (r < 0) return errno;
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        return soerr;
      },
      DoneUndefined));
}

// originalDst(fd, family) -> { address, port }: where a connection was going
// before a REDIRECT/DNAT rewrote it (conntrack's original tuple).
Napi::Value OriginalDstJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
  int family = ArgInt(info, 1, "family", 4, 6);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (family == 6) {
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len)) throw ErrnoError(env, errno, "getsockopt(IP6T_SO_ORIGINAL_DST)");
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len)) throw ErrnoError(env, errno, "getsockopt(SO_ORIGINAL_DST)");
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("address", Napi::String::New(env, text));
  out.Set("port", Napi::Number::New(env, port));
  return out;
}

Napi::Value CloseFdJs(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace

void InitInetSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("inetSocket", Napi::Function::New(env, InetSocketJs));
  exports.Set("tcpConnect", Napi::Function::New(env, TcpConnectJs));
  exports.Set("originalDst", Napi::Function::New(env, OriginalDstJs));
  exports.Set("closeFd", Napi::Function::New(env, CloseFdJs));
  InitUdpReceiver(env, exports);
}

}  // namespace nlkit
