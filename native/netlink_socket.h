// A netlink socket opened inside a chosen network namespace.
//
// Async mode (an onEvent callback was given): a dedicated I/O thread owns all
// send/recv calls. Buffers queued by send() while the thread is busy are
// coalesced into one sendmsg; after every sendmsg the thread drains what the
// kernel queued synchronously in reply, then posts to JS, in order:
//   [kMessages, buffer]          whole netlink messages, datagrams concatenated
//   [kSent, token...]            the sendmsg carrying these tokens completed and
//                                every reply it produced synchronously was posted
//   [kSendError, errno, token...]
//   [kOverrun, errno]            ENOBUFS: the kernel dropped messages for us
// Matching replies to requests (by sequence number) is done in TypeScript.
//
// Sync mode: no thread; sendSync/recvSync run on the caller's thread.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace nlkit {

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
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
  struct Outgoing {
    std::vector<uint8_t> data;
    double token;
    bool exclusive;  // must travel alone in its own sendmsg (nfnetlink batches)
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
  void SendBatch(std::vector<Outgoing*>& batch, size_t bytes);
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
  std::deque<Outgoing> queue_;
  bool stopping_ = false;

  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> inbox_;
  Napi::ThreadSafeFunction tsfn_;
};

}  // namespace nlkit
