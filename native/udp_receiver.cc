// A UDP socket read with recvmsg, for what Node's dgram cannot give: the
// IP_ORIGDSTADDR / IPV6_ORIGDSTADDR ancillary data that tells a transparent
// (TPROXY) UDP proxy where each datagram was going (dgram drops ancillary
// data). Readiness comes from a uv_poll on the event loop: no thread, no
// worker held while idle. The receiver owns the fd and sends replies on it
// too (a REDIRECT proxy must answer from the socket that received).
#include "udp_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <vector>

#include "common.h"

namespace nlkit {
namespace {

constexpr int kBatch = 64;  // datagrams per wake-up before the loop gets a turn

// Lives until uv_close's callback: the JS object may be gone by then.
struct PollState {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback = nullptr;
  napi_async_context context = nullptr;
  int fd;
  bool closed = false;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  std::vector<char> buf = std::vector<char>(65536);
};

napi_value AddressObject(napi_env env, const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  }
  napi_value o = nullptr;
  napi_create_object(env, &o);
  if (o == nullptr) return nullptr;
  napi_set_named_property(env, o, "address", MakeString(env, text));
  napi_set_named_property(env, o, "port", MakeNumber(env, port));
  return o;
}

// One datagram as { data, from: {address, port}, to?: {address, port} }; nullptr at EAGAIN (or an error: logged by errno).
napi_value ReadOne(PollState* s, int* err) {
  sockaddr_storage from{};
  alignas(cmsghdr) char control[256];
  iovec iov{s->buf.data(), s->buf.size()};
  msghdr m{};
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(s->fd, &m, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    *err = errno;
    return nullptr;
  }
  napi_env env = s->env;
  napi_value o = nullptr, data = nullptr;
  napi_create_object(env, &o);
  napi_create_buffer_copy(env, static_cast<size_t>(n), s->buf.data(), nullptr, &data);
  if (o == nullptr || data == nullptr) return nullptr;
  napi_set_named_property(env, o, "data", data);
  napi_set_named_property(env, o, "from", AddressObject(env, from));
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR;
    bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR;
    if (!v4 && !v6) continue;
    sockaddr_storage to{};
    memcpy(&to, CMSG_DATA(c), std::min<size_t>(c->cmsg_len - CMSG_LEN(0), sizeof to));
    napi_set_named_property(env, o, "to", AddressObject(env, to));
  }
  return o;
}

// Outside any JS call: raw N-API, failures tolerated (see common.h).
void OnReadable(uv_poll_t* handle, int status, int events) {
  auto* s = static_cast<PollState*>(handle->data);
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  napi_value list = nullptr;
  napi_create_array(s->env, &list);
  uint32_t count = 0;
  int err = 0;
  for (; list != nullptr && count < kBatch; count++) {
    napi_value one = ReadOne(s, &err);
    if (one == nullptr) break;
    napi_set_element(s->env, list, count, one);
  }
  napi_value cb = nullptr, global = nullptr, result = nullptr;
  napi_get_reference_value(s->env, s->callback, &cb);
  napi_get_global(s->env, &global);
  // err other than EAGAIN (e.g. ECONNREFUSED queued by an ICMP error) goes to JS with the datagrams read before it.
  napi_value errValue = MakeNumber(s->env, err == EAGAIN || err == EWOULDBLOCK ? 0 : err);
  napi_value argv[2] = {list, errValue};
  if (cb != nullptr && list != nullptr && (count > 0 || (err != EAGAIN && err != EWOULDBLOCK))) {
    napi_make_callback(s->env, s->context, global, cb, 2, argv, &result);
    // A listener that threw: report it as Node reports any callback's exception (uncaughtException).
    bool pending = false;
    napi_value exception = nullptr;
    if (napi_is_exception_pending(s->env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(s->env, &exception) == napi_ok)
      napi_fatal_exception(s->env, exception);
  }
  napi_close_handle_scope(s->env, scope);
}

// Stops polling; the fd and the state go in uv_close's callback. `teardown`:
// the environment is going away (worker.terminate(), exit): no N-API calls,
// and the async cleanup hook is released once the handle is closed.
void Stop(PollState* s, bool teardown) {
  if (s->closed) return;
  s->closed = true;
  uv_poll_stop(&s->poll);
  if (!teardown) {
    napi_delete_reference(s->env, s->callback);
    napi_async_destroy(s->env, s->context);
    napi_remove_async_cleanup_hook(s->cleanup);
    s->cleanup = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), [](uv_handle_t* h) {
    auto* st = static_cast<PollState*>(h->data);
    close(st->fd);
    if (st->cleanup != nullptr) napi_remove_async_cleanup_hook(st->cleanup);
    delete st;
  });
}

void CleanupHook(napi_async_cleanup_hook_handle handle, void* arg) { Stop(static_cast<PollState*>(arg), true); }

class UdpReceiver : public Napi::ObjectWrap<UdpReceiver> {
 public:
  // new UdpReceiver(fd, onDatagrams(list, errno)): takes the fd over (closed by close()).
  explicit UdpReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpReceiver>(info) {
    Napi::Env env = info.Env();
    int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "UdpReceiver(fd, callback)");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
    state_ = new PollState{};
    state_->env = env;
    state_->fd = fd;
    state_->poll.data = state_;
    napi_create_reference(env, info[1], 1, &state_->callback);
    napi_async_init(env, nullptr, Napi::String::New(env, "nlkit.UdpReceiver"), &state_->context);
    int r = uv_poll_init(loop, &state_->poll, fd);
    if (r == 0) r = uv_poll_start(&state_->poll, UV_READABLE, OnReadable);
    if (r != 0) {
      napi_delete_reference(env, state_->callback);
      napi_async_destroy(env, state_->context);
      delete state_;  // uv_poll_init failing leaves nothing registered; the caller keeps the fd
      state_ = nullptr;
      throw ErrnoError(env, -r, "uv_poll_start");
    }
    napi_add_async_cleanup_hook(env, CleanupHook, state_, &state_->cleanup);
    Ref();  // polling keeps the object: a proxy need not hold it
  }

  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("UdpReceiver", DefineClass(env, "UdpReceiver",
                                           {InstanceMethod("send", &UdpReceiver::Send), InstanceMethod("close", &UdpReceiver::Close)}));
  }

 private:
  PollState* state_ = nullptr;

  // send(buffer, family, address, port[, source]) -> bytes sent. `source`: the
  // local address to send from (IP_PKTINFO / IPV6_PKTINFO), the one a datagram
  // was delivered to, so conntrack recognises a REDIRECTed flow's reply. A full
  // send buffer drops the datagram (EAGAIN), as UDP may.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_ == nullptr || state_->closed) throw ErrnoError(env, EBADF, "sendto");
    auto data = info[0].As<Napi::Buffer<char>>();
    int family = ArgInt(info, 1, "family", 4, 6);
    std::string host = info[2].As<Napi::String>();
    int port = ArgInt(info, 3, "port", 1, 65535);
    sockaddr_storage ss{};
    socklen_t len;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    msghdr m{};
    if (family == 6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) throw ErrnoError(env, EINVAL, "inet_pton");
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(port));
      if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) throw ErrnoError(env, EINVAL, "inet_pton");
      len = sizeof *a;
    }
    if (info.Length() > 4 && info[4].IsString()) {
      std::string source = info[4].As<Napi::String>();
      m.msg_control = control;
      cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
      if (family == 6) {  // also an IPv4 source written ::ffff:a.b.c.d on a dual-stack socket
        in6_pktinfo pi{};
        if (inet_pton(AF_INET6, source.c_str(), &pi.ipi6_addr) != 1) throw ErrnoError(env, EINVAL, "inet_pton");
        c->cmsg_level = SOL_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        m.msg_controllen = CMSG_SPACE(sizeof pi);
      } else {
        in_pktinfo pi{};
        if (inet_pton(AF_INET, source.c_str(), &pi.ipi_spec_dst) != 1) throw ErrnoError(env, EINVAL, "inet_pton");
        c->cmsg_level = SOL_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        m.msg_controllen = CMSG_SPACE(sizeof pi);
      }
    }
    iovec iov{data.Data(), data.Length()};
    m.msg_name = &ss;
    m.msg_namelen = len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ssize_t n = sendmsg(state_->fd, &m, MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) throw ErrnoError(env, errno, "sendmsg");
    return Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_ != nullptr && !state_->closed) {
      Stop(state_, false);
      state_ = nullptr;
      Unref();
    }
    return info.Env().Undefined();
  }
};

}  // namespace

void InitUdpReceiver(Napi::Env env, Napi::Object exports) { UdpReceiver::Init(env, exports); }

}  // namespace nlkit
