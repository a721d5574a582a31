#pragma once
#include <napi.h>

namespace nlkit {
// inetSocket, tcpConnect, originalDst, closeFd.
void InitInetSocket(Napi::Env env, Napi::Object exports);
}  // namespace nlkit
