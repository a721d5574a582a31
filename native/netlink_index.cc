#include "netlink_index.h"

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>

namespace nlkit {

namespace {

// A column value meaning "a known type the caller skips" (not counted as unknown).
constexpr uint8_t kSkipped = 255;
// Row flag: an attribute whose type has no column (or a short family header).
constexpr int32_t kUnknownAttribute = 1 << 16;

uint16_t U16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

uint32_t U32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// netlinkIndex(buffer, start, seq, headerLength, columns, rows, stride)
//   -> rows written * 2 + (1 if one of them carries NLM_F_DUMP_INTR)
// From `start`, each message that is a reply of `seq` with a type of its own
// (>= NLMSG_MIN_TYPE) gets a row of `stride` int32s: payload start, payload
// end, nlmsg_type, nlmsg_flags | kUnknownAttribute, then per column the offset
// of the data of the first attribute of that column's type (-1: absent).
// columns[t] is the column (1..stride-4) of attribute type t, 0 unknown, 255
// skipped.
// Stops at any other message, a truncated one, the buffer's end or when rows
// is full. Every read is checked against the buffer's length.
Napi::Value Index(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[4].IsTypedArray() || !info[5].IsTypedArray() || !info[6].IsNumber()) {
    throw Napi::TypeError::New(env, "netlinkIndex(buffer, start, seq, headerLength, columns, rows, stride)");
  }
  auto buf = info[0].As<Napi::TypedArray>();
  auto cols = info[4].As<Napi::TypedArray>();
  auto rowsArg = info[5].As<Napi::TypedArray>();
  if (buf.TypedArrayType() != napi_uint8_array || cols.TypedArrayType() != napi_uint8_array ||
      rowsArg.TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "netlinkIndex: buffer and columns must be Uint8Arrays, rows an Int32Array");
  }
  const uint8_t* b = buf.As<Napi::Uint8Array>().Data();
  const size_t end = buf.ByteLength();
  const uint8_t* columns = cols.As<Napi::Uint8Array>().Data();
  const size_t ncolumns = cols.ByteLength();
  int32_t* rows = rowsArg.As<Napi::Int32Array>().Data();
  const size_t nrows = rowsArg.ElementLength();
  const double startD = info[1].As<Napi::Number>().DoubleValue();
  const uint32_t seq = info[2].As<Napi::Number>().Uint32Value();
  const int64_t headerLength = info[3].As<Napi::Number>().Int64Value();
  const int64_t stride = info[6].As<Napi::Number>().Int64Value();
  if (!(startD >= 0 && startD <= static_cast<double>(end)) || headerLength < 0 || headerLength > 4096 || stride < 4 ||
      stride > 64 || end > INT32_MAX) {
    throw Napi::RangeError::New(env, "netlinkIndex: start, headerLength or stride out of range");
  }
  size_t off = static_cast<size_t>(startD);
  const size_t capacity = nrows / static_cast<size_t>(stride);
  size_t count = 0;
  bool interrupted = false;
  while (count < capacity && off + NLMSG_HDRLEN <= end) {
    const uint32_t len = U32(b + off);
    if (len < NLMSG_HDRLEN || len > end - off) break;
    const uint16_t type = U16(b + off + 4);
    const uint16_t flags = U16(b + off + 6);
    if (type < NLMSG_MIN_TYPE || U32(b + off + 8) != seq) break;
    int32_t* row = rows + count * stride;
    const size_t payload = off + NLMSG_HDRLEN;
    const size_t payloadEnd = off + len;
    row[0] = static_cast<int32_t>(payload);
    row[1] = static_cast<int32_t>(payloadEnd);
    row[2] = type;
    int32_t rowFlags = flags;
    for (int64_t c = 4; c < stride; c++) row[c] = -1;
    if (payloadEnd - payload < static_cast<size_t>(headerLength)) {
      rowFlags |= kUnknownAttribute;
    } else {
      // A malformed attribute ends the walk (the decoders ignore what follows it too).
      for (size_t a = payload + NLMSG_ALIGN(headerLength); a + NLA_HDRLEN <= payloadEnd;) {
        const uint16_t alen = U16(b + a);
        if (alen < NLA_HDRLEN || alen > payloadEnd - a) break;
        const uint16_t atype = U16(b + a + 2) & NLA_TYPE_MASK;
        const uint8_t column = atype < ncolumns ? columns[atype] : 0;
        if (column == 0 || (column != kSkipped && column > stride - 4)) {
          rowFlags |= kUnknownAttribute;
        } else if (column != kSkipped && row[3 + column] < 0) {
          row[3 + column] = static_cast<int32_t>(a + NLA_HDRLEN);
        }
        a += NLA_ALIGN(alen);
      }
    }
    row[3] = rowFlags;
    if (flags & NLM_F_DUMP_INTR) interrupted = true;
    count++;
    off += NLMSG_ALIGN(len);
  }
  return Napi::Number::New(env, static_cast<double>(count * 2 + (interrupted ? 1 : 0)));
}

}  // namespace

void InitNetlinkIndex(Napi::Env env, Napi::Object exports) { exports.Set("netlinkIndex", Napi::Function::New(env, Index)); }

}  // namespace nlkit
