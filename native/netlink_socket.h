// A netlink socket opened inside a chosen network namespace.
//
// Async mode (an onEvent callback was given): a dedicated I/O thread owns all
// send/recv calls. Buffers queued by send() while the thread is busy are
// coalesced into one sendmsg; after every sendmsg the thread drains what the
// kernel queued synchronously in reply, then posts to JS, in order:
//   [kMessages, buffer]          whole netlink messages, datagrams concatenated
//   [kSent, token...]            the sendmsg carrying these tokens completed and
//                                every reply it produced synchronously was posted
//                                (only for datagrams holding an exclusive batch:
//                                other requests complete on their replies)
//   [kSendError, errno, token...]
//   [kOverrun, errno]            ENOBUFS: the kernel dropped messages for us
// Matching replies to requests (by sequence number) is done in TypeScript.
//
// Sync mode: no thread; sendSync/recvSync run on the caller's thread.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace nlkit {

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  /** netlinkSocketOpen(protocol, nsfd): Promise of a socket fd made in the namespace. */
  static Napi::Value OpenJs(const Napi::CallbackInfo& info);
  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

  enum EventKind { kMessages = 0, kSent = 1, kSendError = 2, kOverrun = 3, kFatal = 4 };

  struct Event {
    explicit Event(EventKind k, int e = 0) : kind(k), err(e) {}
    EventKind kind;
    int err = 0;
    std::vector<uint8_t> data;
    std::vector<double> tokens;
  };

 private:
  // A request queued by send(): its bytes live in a shared byte queue (no
  // allocation per request); `exclusive` ones travel alone in their own
  // sendmsg (nfnetlink batches).
  struct Outgoing {
    size_t offset;
    size_t length;
    double token;
    bool exclusive;
  };

  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendSync(const Napi::CallbackInfo& info);
  Napi::Value RecvSync(const Napi::CallbackInfo& info);
  Napi::Value AddMembership(const Napi::CallbackInfo& info);
  Napi::Value DropMembership(const Napi::CallbackInfo& info);
  Napi::Value SetReceiveBuffer(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  void IoLoop();
  // Sends `length` bytes at `data` (whole messages) in one sendmsg, drains the
  // replies, and reports the tokens of items [first, last).
  void SendChunk(const uint8_t* data, size_t length, const Outgoing* first, const Outgoing* last);
  // Takes everything queued by send() and sends it; false when stopping.
  bool TakeAndSend();
  // Reads every datagram available now into inbox_; returns false on a fatal error.
  bool Drain();
  void FlushInbox();
  void Post(Event* ev);
  void EnsureSendBuffer(size_t bytes);
  void Shutdown();

  int fd_ = -1;
  int wake_fd_ = -1;
  uint32_t port_id_ = 0;
  int sndbuf_ = 0;
  bool async_ = false;
  bool closed_ = false;

  std::thread io_;
  std::mutex mu_;
  // Guarded by mu_: requests queued by send(), and whether the I/O thread is
  // already awake or signalled (then send() skips the eventfd write).
  std::vector<uint8_t> queue_bytes_;
  std::vector<Outgoing> queue_;
  bool awake_ = false;
  std::atomic<bool> has_work_{false};  // queue_ is non-empty (read without mu_ while spinning)
  bool stopping_ = false;
  // Owned by the I/O thread: the batch being sent.
  std::vector<uint8_t> send_bytes_;
  std::vector<Outgoing> send_items_;
  std::chrono::microseconds spin_{0};  // how long to look for more work before sleeping

  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> inbox_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace nlkit
