// A UDP socket read with recvmsg, for what Node's dgram cannot give: the
// IP_ORIGDSTADDR / IPV6_ORIGDSTADDR ancillary data that tells a transparent
// (TPROXY) UDP proxy where each datagram was going (dgram drops ancillary
// data). Node-API only (the prebuilt binaries have no libuv headers): a
// thread per receiver waits in poll(), reads a batch and hands it to the
// event loop through a thread-safe function, at most kMaxInFlight batches
// ahead of it (the rest waits in the socket's buffer). The receiver owns the fd and sends replies
// on it too (a REDIRECT proxy must answer from the socket that received).
#include "udp_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "common.h"

namespace nlkit {
namespace {

constexpr int kBatch = 64;      // datagrams per hand-over
constexpr int kMaxInFlight = 4;  // batches queued for the event loop before the thread stops reading

struct Datagram {
  std::vector<char> data;
  sockaddr_storage from{};
  sockaddr_storage to{};
  bool has_to = false;
};

struct Batch {
  std::vector<Datagram> datagrams;
  int err = 0;  // a receive error other than EAGAIN (e.g. ECONNREFUSED queued by an ICMP error)
};

// Shared by the JS object, the thread and the thread-safe function (whichever goes last frees it).
struct Receiver {
  int fd;
  int wake_fd;  // eventfd: close() and delivered batches wake the thread
  pthread_t thread{};
  bool joinable = false;
  napi_threadsafe_function tsfn = nullptr;
  std::atomic<bool> quit{false};
  std::atomic<int> in_flight{0};  // batches posted, not yet delivered
  std::mutex mu;  // Stop() against Stop()
  bool stopped = false;
  std::vector<char> buf = std::vector<char>(65536);  // the thread's read buffer (a datagram's largest size)

  Receiver(int f, int w) : fd(f), wake_fd(w) {}
  ~Receiver() {
    close(fd);
    close(wake_fd);
  }

  void Wake() {
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) < 0) { /* saturated: already signalled */ }
  }

  // Ends the thread and waits for it (it is in poll() or about to be: microseconds).
  void Stop() {
    std::lock_guard<std::mutex> lock(mu);
    if (stopped) return;
    stopped = true;
    quit.store(true);
    Wake();
    if (joinable) pthread_join(thread, nullptr);
    joinable = false;
  }

  bool ReadOne(Datagram* d, int* err) {
    alignas(cmsghdr) char control[256];
    iovec iov{buf.data(), buf.size()};
    msghdr m{};
    m.msg_name = &d->from;
    m.msg_namelen = sizeof d->from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = recvmsg(fd, &m, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      return false;
    }
    d->data.assign(buf.data(), buf.data() + n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
      bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR;
      bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR;
      if (!v4 && !v6) continue;
      memcpy(&d->to, CMSG_DATA(c), std::min<size_t>(c->cmsg_len - CMSG_LEN(0), sizeof d->to));
      d->has_to = true;
    }
    return true;
  }

  void Run() {
    while (!quit.load()) {
      // Too far ahead of the event loop: wait for a delivery to wake us.
      pollfd p[2] = {{wake_fd, POLLIN, 0}, {fd, static_cast<short>(in_flight.load() < kMaxInFlight ? POLLIN : 0), 0}};
      int r = poll(p, 2, -1);
      if (r < 0 && errno != EINTR) break;
      if (p[0].revents & POLLIN) {
        uint64_t n;
        if (read(wake_fd, &n, sizeof n) < 0) { /* nothing to read: fine */ }
        continue;  // quit, or a batch delivered: look again
      }
      if (!(p[1].revents & (POLLIN | POLLERR))) continue;
      auto* batch = new Batch;
      Datagram d;
      while (static_cast<int>(batch->datagrams.size()) < kBatch && ReadOne(&d, &batch->err)) {
        batch->datagrams.push_back(std::move(d));
        d = Datagram();
      }
      if (batch->datagrams.empty() && batch->err == 0) {
        delete batch;
        continue;
      }
      in_flight.fetch_add(1);
      // Fails only when the function is closing (environment teardown): drop it.
      if (napi_call_threadsafe_function(tsfn, batch, napi_tsfn_nonblocking) != napi_ok) {
        delete batch;
        break;
      }
    }
  }
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
  if (napi_create_object(env, &o) != napi_ok) return nullptr;
  napi_set_named_property(env, o, "address", MakeString(env, text));
  napi_set_named_property(env, o, "port", MakeNumber(env, port));
  return o;
}

// On the event loop, outside any JS call: raw N-API, failures tolerated (see common.h).
void CallJs(napi_env env, napi_value callback, void* context, void* data) {
  std::unique_ptr<Batch> batch(static_cast<Batch*>(data));
  auto* r = static_cast<Receiver*>(context);
  // Counted off first: a batch dropped below (teardown, a failed allocation) must not stop the thread reading for good.
  if (r->in_flight.fetch_sub(1) == kMaxInFlight) r->Wake();  // the thread was waiting for this
  if (env == nullptr || callback == nullptr || r->quit.load()) return;  // teardown or closed: just free it
  napi_value list = nullptr, global = nullptr, result = nullptr;
  if (napi_create_array_with_length(env, batch->datagrams.size(), &list) != napi_ok) return;
  uint32_t i = 0;
  for (const Datagram& d : batch->datagrams) {
    napi_value o = nullptr, buf = nullptr;
    void* copy;
    if (napi_create_object(env, &o) != napi_ok ||
        napi_create_buffer_copy(env, d.data.size(), d.data.data(), &copy, &buf) != napi_ok)
      return;
    napi_set_named_property(env, o, "data", buf);
    napi_set_named_property(env, o, "from", AddressObject(env, d.from));
    if (d.has_to) napi_set_named_property(env, o, "to", AddressObject(env, d.to));
    napi_set_element(env, list, i++, o);
  }
  napi_value argv[2] = {list, MakeNumber(env, batch->err)};
  napi_get_global(env, &global);
  napi_call_function(env, global, callback, 2, argv, &result);
  // A listener that threw: report it as Node reports any callback's exception (uncaughtException).
  bool pending = false;
  napi_value exception = nullptr;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &exception) == napi_ok)
    napi_fatal_exception(env, exception);
}

// When the function goes (released by close(), or the environment's teardown): the thread first.
void FinalizeReceiver(napi_env, void* data, void*) {
  std::unique_ptr<std::shared_ptr<Receiver>> keep(static_cast<std::shared_ptr<Receiver>*>(data));
  (*keep)->Stop();
}

class UdpReceiver : public Napi::ObjectWrap<UdpReceiver> {
 public:
  // new UdpReceiver(fd, onDatagrams(list, errno)): takes the fd over (closed by close()).
  explicit UdpReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpReceiver>(info) {
    Napi::Env env = info.Env();
    int fd = ArgInt(info, 0, "fd", 0, INT32_MAX);
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "UdpReceiver(fd, callback)");
    int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw ErrnoError(env, errno, "eventfd");  // the caller closes fd
    auto r = std::make_shared<Receiver>(fd, wake_fd);  // owns both fds from here on
    auto* keep = new std::shared_ptr<Receiver>(r);
    napi_value name;
    napi_create_string_utf8(env, "nlkit-udp", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, info[1], nullptr, name, 0, 1, keep, FinalizeReceiver, r.get(), CallJs, &r->tsfn) !=
        napi_ok) {
      delete keep;
      r->fd = dup(fd);  // the caller closes fd on failure: keep the destructor off it
      throw Napi::Error::New(env, "nlkit: cannot create the UDP receive channel");
    }
    int err = StartThread(&r->thread, [r] { r->Run(); });
    if (err != 0) {
      r->fd = dup(fd);
      napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
      throw ErrnoError(env, err, "pthread_create");
    }
    r->joinable = true;
    receiver_ = r;
    Ref();  // receiving keeps the object: a proxy need not hold it
  }

  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("UdpReceiver", DefineClass(env, "UdpReceiver",
                                           {InstanceMethod("send", &UdpReceiver::Send), InstanceMethod("close", &UdpReceiver::Close),
                                            InstanceMethod("ref", &UdpReceiver::RefLoop), InstanceMethod("unref", &UdpReceiver::UnrefLoop)}));
  }

 private:
  std::shared_ptr<Receiver> receiver_;

  // send(buffer, family, address, port[, source]) -> bytes sent. `source`: the
  // local address to send from (IP_PKTINFO / IPV6_PKTINFO), the one a datagram
  // was delivered to, so conntrack recognises a REDIRECTed flow's reply. A full
  // send buffer drops the datagram (EAGAIN), as UDP may.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!receiver_ || receiver_->quit.load()) throw ErrnoError(env, EBADF, "sendmsg");
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
    ssize_t n = sendmsg(receiver_->fd, &m, MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) throw ErrnoError(env, errno, "sendmsg");
    return Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n));
  }

  // ref()/unref(): whether the receiver keeps the event loop (the process)
  // alive, as a dgram socket's. An unreferenced one still receives; at exit
  // the environment's teardown releases the function, whose finalizer stops
  // and joins the thread.
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (receiver_ && !receiver_->quit.load()) napi_ref_threadsafe_function(info.Env(), receiver_->tsfn);
    return info.Env().Undefined();
  }

  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (receiver_ && !receiver_->quit.load()) napi_unref_threadsafe_function(info.Env(), receiver_->tsfn);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (receiver_ && !receiver_->quit.load()) {
      receiver_->Stop();
      napi_release_threadsafe_function(receiver_->tsfn, napi_tsfn_release);  // its finalizer frees the last share
      receiver_.reset();
      Unref();
    }
    return info.Env().Undefined();
  }
};

}  // namespace

void InitUdpReceiver(Napi::Env env, Napi::Object exports) { UdpReceiver::Init(env, exports); }

}  // namespace nlkit
