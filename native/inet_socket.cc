// TCP and UDP sockets created inside a network namespace. A socket belongs to
// the namespace it was created in for its whole life, so only socket()/bind()
// run on a namespace thread; Node's own net/dgram objects adopt the fd after.
#include "inet_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "common.h"

namespace nlkit {
namespace {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

bool ParseAddr(int family, const std::string& host, int port, SockAddr* out) {
  if (family == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out->ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    std::string h = host.empty() ? "::" : host;
    std::string scope;
    auto pct = h.find('%');
    if (pct != std::string::npos) h = h.substr(0, pct);
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

// inetSocket(nsfd, { family: 4|6, udp, host, port, bind, reuseAddr, reusePort,
//                    v6only, freebind, backlog }) -> fd
// bind: whether to bind to host:port; backlog >= 0: listen() too.
Napi::Value InetSocketJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = info[0].As<Napi::Number>().Int32Value();
  Napi::Object o = info[1].As<Napi::Object>();
  int family = OptInt(o, "family", 4);
  bool udp = OptBool(o, "udp");
  bool doBind = OptBool(o, "bind");
  int backlog = OptInt(o, "backlog", -1);
  SockAddr addr;
  if (doBind && !ParseAddr(family, OptStr(o, "host"), OptInt(o, "port", 0), &addr))
    throw ErrnoError(env, EINVAL, "inet_pton");

  int fd = -1;
  int err = RunInNetns(nsfd, [&]() -> int {
    fd = socket(family == 6 ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    return fd < 0 ? errno : 0;
  });
  if (err) throw ErrnoError(env, err, fd < 0 && err == EAGAIN ? "pthread_create/socket" : "socket");

  auto fail = [&](const char* what) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, e, what);
  };
  int one = 1;
  if (OptBool(o, "reuseAddr") && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)) fail("setsockopt(SO_REUSEADDR)");
  if (OptBool(o, "reusePort") && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one)) fail("setsockopt(SO_REUSEPORT)");
  if (OptBool(o, "freebind") && setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one)) fail("setsockopt(IP_FREEBIND)");
  if (family == 6 && o.Has("v6only")) {
    int v = OptBool(o, "v6only") ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v)) fail("setsockopt(IPV6_V6ONLY)");
  }
  if (doBind && bind(fd, reinterpret_cast<sockaddr*>(&addr.ss), addr.len)) fail("bind");
  if (!udp && backlog >= 0 && listen(fd, backlog)) fail("listen");
  return Napi::Number::New(env, fd);
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

Napi::Value CloseFdJs(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace

void InitInetSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("inetSocket", Napi::Function::New(env, InetSocketJs));
  exports.Set("tcpConnect", Napi::Function::New(env, TcpConnectJs));
  exports.Set("closeFd", Napi::Function::New(env, CloseFdJs));
}

}  // namespace nlkit
