// nlkit's native addon: sockets, namespaces, syscalls and the netlink I/O
// thread. Everything about message formats lives in TypeScript (netlink_index.cc
// knows the framing only).
#include <napi.h>

#include "file_lock.h"
#include "held_fd.h"
#include "inet_socket.h"
#include "netlink_index.h"
#include "netlink_socket.h"
#include "netns.h"
#include "tun.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nlkit::InitHeldFds(env, exports);
  nlkit::NetlinkSocket::Init(env, exports);
  nlkit::NetlinkSyncSocket::Init(env, exports);
  nlkit::InitNetns(env, exports);
  nlkit::InitInetSocket(env, exports);
  nlkit::InitTun(env, exports);
  nlkit::InitFileLock(env, exports);
  nlkit::InitNetlinkIndex(env, exports);
  return exports;
}

NODE_API_MODULE(nlkit, Init)
