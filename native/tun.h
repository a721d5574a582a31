#pragma once
#include <napi.h>

namespace nlkit {
// tunCreate: persistent tun/tap devices (the kernel only makes these by ioctl).
void InitTun(Napi::Env env, Napi::Object exports);
}  // namespace nlkit
