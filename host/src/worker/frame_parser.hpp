// Parses worker-protocol frames (both directions) into an arena that starts over with each
// frame, so a steady stream allocates nothing. A parse into one reused message does not do
// that: its Clear() frees the oneof's submessage, and every string in it, at each frame.
#pragma once

#include <google/protobuf/arena.h>
#include <zmq.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace citylink::host {

template <class Frame>
class FrameParser {
 public:
  // A frame that needs more than the kept block (large envelopes) takes more blocks from the
  // heap, and they are freed at the next parse.
  explicit FrameParser(std::size_t kept_bytes = 128 * 1024) : block_(kept_bytes) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block_.data();
    options.initial_block_size = block_.size();
    arena_ = std::make_unique<google::protobuf::Arena>(options);
  }

  // The frame, valid until the next parse; nullptr if the bytes are not one.
  const Frame* parse(const zmq::message_t& raw) {
    arena_->Reset();
    auto* frame = google::protobuf::Arena::CreateMessage<Frame>(arena_.get());
    return frame->ParseFromArray(raw.data(), static_cast<int>(raw.size())) ? frame : nullptr;
  }

 private:
  std::vector<char> block_;  // before arena_: the arena is destroyed first
  std::unique_ptr<google::protobuf::Arena> arena_;
};

}  // namespace citylink::host
