// The layout of one message on the host's inproc hops (publisher -> router -> subscriber).
// Remote hops (TCP, workers) use plain [topic][envelope] ZeroMQ frames instead.
//
//   [u32 slot][u16 topic_len][u32 envelope_len][topic]['\0'][envelope][stamp room]
//
// One buffer travels the whole way: the publisher leaves room after the envelope, the
// router writes the stamped fields (id, source, time) there and grows envelope_len, then
// hands the same buffer on. No copy, no allocation in the router for the common case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace citylink::host::packet {

inline constexpr std::size_t kHeader = 10;
// Room for id (prefix + sequence), time and field tags; the publisher adds its source and topic sizes.
inline constexpr std::size_t kStampRoom = 64;

inline std::size_t stamp_room(std::size_t source_size, std::size_t topic_size) {
  return kStampRoom + source_size + topic_size + 8;
}

inline std::size_t size_for(std::size_t topic_size, std::size_t envelope_size, std::size_t room) {
  return kHeader + topic_size + 1 + envelope_size + room;
}

// Writes the header, topic and envelope into `out` (of size_for(...) bytes).
inline void write(char* out, uint32_t slot, std::string_view topic, const uint8_t* envelope, std::size_t size) {
  const auto tl = static_cast<uint16_t>(topic.size());
  const auto el = static_cast<uint32_t>(size);
  std::memcpy(out, &slot, 4);
  std::memcpy(out + 4, &tl, 2);
  std::memcpy(out + 6, &el, 4);
  std::memcpy(out + kHeader, topic.data(), tl);
  out[kHeader + tl] = '\0';
  if (size) std::memcpy(out + kHeader + tl + 1, envelope, size);
}

struct View {
  uint32_t slot;
  std::string_view topic;  // NUL-terminated in the buffer
  uint8_t* envelope;
  std::size_t envelope_size;
  std::size_t room;        // bytes free after the envelope
};

// Reads a packet; nullopt when the lengths do not fit the buffer.
inline std::optional<View> read(void* data, std::size_t n) {
  if (n < kHeader) return std::nullopt;
  auto* p = static_cast<char*>(data);
  uint32_t slot, el;
  uint16_t tl;
  std::memcpy(&slot, p, 4);
  std::memcpy(&tl, p + 4, 2);
  std::memcpy(&el, p + 6, 4);
  if (kHeader + std::size_t{tl} + 1 + el > n) return std::nullopt;
  return View{slot, std::string_view(p + kHeader, tl), reinterpret_cast<uint8_t*>(p + kHeader + tl + 1), el,
              n - kHeader - tl - 1 - el};
}

// Records that the envelope grew by `added` bytes written into the stamp room.
inline void grow_envelope(void* data, std::size_t added) {
  auto* p = static_cast<char*>(data);
  uint32_t el;
  std::memcpy(&el, p + 6, 4);
  el += static_cast<uint32_t>(added);
  std::memcpy(p + 6, &el, 4);
}

}  // namespace citylink::host::packet
