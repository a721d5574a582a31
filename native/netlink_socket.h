// A netlink socket opened inside a chosen network namespace, as a JS object.
//
// Async mode (an onEvent callback was given): requests go through a
// NetlinkIo (netlink_io.h), whose thread sends them and reads the replies;
// what it reads reaches onEvent(kind, payload, errno) on the event loop.
// Matching replies to requests (by sequence number) is done in TypeScript.
//
// Sync mode: no thread; sendSync/recvSync run on the caller's thread.
//
// Every method that uses the descriptor throws EBADF once close() ran, so a
// closed socket never acts on a descriptor number another socket now owns.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "netlink_io.h"

namespace nlkit {

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  /** netlinkSocketOpen(protocol, nsfd): Promise of a socket fd made in the namespace. */
  static Napi::Value OpenJs(const Napi::CallbackInfo& info);
  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendSync(const Napi::CallbackInfo& info);
  Napi::Value RecvSync(const Napi::CallbackInfo& info);
  Napi::Value AddMembership(const Napi::CallbackInfo& info);
  Napi::Value DropMembership(const Napi::CallbackInfo& info);
  Napi::Value SetReceiveBuffer(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetPortId(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  // Throws EBADF (closed) so no method acts on a stale descriptor.
  void CheckOpen(Napi::Env env, const char* what) const;
  // Stops the socket; returns the tokens of requests never sent.
  std::vector<double> Shutdown(napi_env env);

  int fd_ = -1;
  uint32_t port_id_ = 0;
  int sndbuf_ = 0;
  bool closed_ = false;
  bool refed_ = false;
  std::shared_ptr<NetlinkIo> io_;       // async mode only
  napi_threadsafe_function tsfn_ = nullptr;
  PageBuffer scratch_;  // sync mode: receive buffer, mapped on first use
  int64_t reported_bytes_ = 0;          // external memory reported to V8
};

}  // namespace nlkit
