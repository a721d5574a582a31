#pragma once
#include <napi.h>

namespace nlkit {
// netnsPrepareDir, netnsCreateNamed, netnsDeleteNamed, netnsCreateAnonymous,
// sysctlRead, sysctlWrite.
void InitNetns(Napi::Env env, Napi::Object exports);
}  // namespace nlkit
