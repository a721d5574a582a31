// netlinkIndex: where the attributes of a run of dump replies lie, for
// decoders that would otherwise walk thousands of messages in JavaScript
// (interpreted in a new process). Framing only: message and attribute
// headers; what the attributes mean stays in TypeScript.
#pragma once

#include <napi.h>

namespace nlkit {

void InitNetlinkIndex(Napi::Env env, Napi::Object exports);

}  // namespace nlkit
