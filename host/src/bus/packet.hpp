// The layout of messages on the host's inproc hops (publisher -> router -> subscriber).
// Remote hops (TCP, workers) use their own frames instead.
//
//   packet:  [u32 extent][u16 topic_len][u32 envelope_len][topic]['\0'][envelope][stamp room]
//   batch:   [u32 count][packet]... (what the router sends a subscriber's inbox)
//   doorbell:[u32 0][u32 slot]     (what a publisher sends the router's intake)
//
// A publisher writes its packets back to back into its mailbox (bus/mailbox.hpp), each
// with room after the envelope; the router stamps the fields it adds (id, source, time)
// into that room and copies the stamped packet, without the room, into a batch for each
// subscriber. `extent` is the packet's whole size, room included, so packets can follow
// one another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace citylink::host::packet {

inline constexpr std::size_t kHeader = 10;
inline constexpr std::size_t kBatchHeader = 4;
inline constexpr std::size_t kDoorbell = 8;
// Room for id (prefix + sequence), time and field tags; the publisher adds its source and topic sizes.
inline constexpr std::size_t kStampRoom = 64;

inline std::size_t stamp_room(std::size_t source_size, std::size_t topic_size) {
  return kStampRoom + source_size + topic_size + 8;
}

inline std::size_t size_for(std::size_t topic_size, std::size_t envelope_size, std::size_t room) {
  return kHeader + topic_size + 1 + envelope_size + room;
}

// Writes a packet into `out` (of size_for(...) bytes); the room is left as it is.
inline void write(char* out, std::string_view topic, const uint8_t* envelope, std::size_t size, std::size_t room) {
  const auto extent = static_cast<uint32_t>(size_for(topic.size(), size, room));
  const auto tl = static_cast<uint16_t>(topic.size());
  const auto el = static_cast<uint32_t>(size);
  std::memcpy(out, &extent, 4);
  std::memcpy(out + 4, &tl, 2);
  std::memcpy(out + 6, &el, 4);
  std::memcpy(out + kHeader, topic.data(), tl);
  out[kHeader + tl] = '\0';
  if (size) std::memcpy(out + kHeader + tl + 1, envelope, size);
}

struct View {
  std::string_view topic;  // NUL-terminated in the buffer
  uint8_t* envelope;
  std::size_t envelope_size;
  std::size_t room;    // bytes free after the envelope
  std::size_t extent;  // the whole packet
  char* start;
};

// Reads the packet at `data` (`n` bytes left in the buffer); nullopt when its lengths do not fit.
inline std::optional<View> read(void* data, std::size_t n) {
  if (n < kHeader) return std::nullopt;
  auto* p = static_cast<char*>(data);
  uint32_t extent, el;
  uint16_t tl;
  std::memcpy(&extent, p, 4);
  std::memcpy(&tl, p + 4, 2);
  std::memcpy(&el, p + 6, 4);
  const std::size_t used = kHeader + std::size_t{tl} + 1 + el;
  if (extent > n || used > extent) return std::nullopt;
  return View{std::string_view(p + kHeader, tl), reinterpret_cast<uint8_t*>(p + kHeader + tl + 1), el,
              extent - used, extent, p};
}

// Records that the envelope grew by `added` bytes written into the stamp room.
inline void grow_envelope(View& v, std::size_t added) {
  v.envelope_size += added;
  v.room -= added;
  const auto el = static_cast<uint32_t>(v.envelope_size);
  std::memcpy(v.start + 6, &el, 4);
}

// The packet without its room, as a subscriber gets it.
inline std::size_t compact_size(const View& v) { return kHeader + v.topic.size() + 1 + v.envelope_size; }
inline void write_compact(char* out, const View& v) {
  write(out, v.topic, v.envelope, v.envelope_size, 0);
}

inline uint32_t read_u32(const void* data) {
  uint32_t v;
  std::memcpy(&v, data, 4);
  return v;
}

}  // namespace citylink::host::packet
