// Netlink sockets opened inside a chosen network namespace, as JS objects:
// one class per mode, so no method can be called in the wrong one.
// Matching replies to requests (by sequence number) is done in TypeScript.
//
// Every method that uses the descriptor throws EBADF once close() ran, so a
// closed socket never acts on a descriptor number another socket now owns.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <vector>

#include "netlink_io.h"

namespace nlkit {

// Async: requests go through a NetlinkIo; what it reads reaches
// onEvent(kind, payload, errno) on the event loop.
class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  /** netlinkSocketOpen(protocol, nsfd): Promise of a socket fd made in the namespace. */
  static Napi::Value OpenJs(const Napi::CallbackInfo& info);
  /** netlinkTransactIn(protocol, nsfd, request, waitMs, keep): one pool job makes a socket in the namespace, sends, reads, closes (or hands it back). */
  static Napi::Value TransactInJs(const Napi::CallbackInfo& info);
  /** netlinkTransactFd(kept, request, waitMs): the next round on a kept socket (a dup of it), without a socket object. */
  static Napi::Value TransactFdJs(const Napi::CallbackInfo& info);
  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Transact(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Unsent(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  // linkName(index): the link's name by SIOCGIFNAME on this socket, null if none.
  Napi::Value LinkName(const Napi::CallbackInfo& info);

  // Stops the socket; returns the tokens of requests never sent.
  std::vector<double> Shutdown(napi_env env);

  uint32_t port_id_ = 0;
  int sndbuf_ = 0;
  bool closed_ = false;
  bool refed_ = false;
  // send() was called or the socket listens: its I/O thread owns the reading,
  // so transact() is refused from then on.
  bool threaded_ = false;
  // Set by close(): a transact() job still queued on the libuv pool then sends nothing.
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<NetlinkIo> io_;
  napi_threadsafe_function tsfn_ = nullptr;
  int64_t reported_bytes_ = 0;  // external memory reported to V8
};

// Sync: no thread; send/recv run on the caller's thread (openSync handles).
class NetlinkSyncSocket : public Napi::ObjectWrap<NetlinkSyncSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit NetlinkSyncSocket(const Napi::CallbackInfo& info);
  ~NetlinkSyncSocket() override;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  // linkName(index): the link's name by SIOCGIFNAME on this socket, null if none.
  Napi::Value LinkName(const Napi::CallbackInfo& info);
  // Throws EBADF once closed, so no method acts on a stale descriptor.
  void CheckOpen(Napi::Env env, const char* what) const;

  int fd_ = -1;
  uint32_t port_id_ = 0;
  int sndbuf_ = 0;
  PageBuffer scratch_;  // receive buffer, mapped on first use
  int pending_err_ = 0;  // a receive error met after data was read: thrown by the next recv()
};

}  // namespace nlkit
