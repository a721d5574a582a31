#pragma once

#include <napi.h>

namespace nlkit {
void InitUdpReceiver(Napi::Env env, Napi::Object exports);
}
