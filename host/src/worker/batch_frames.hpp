// The worker protocol's two batch frames, HostToWorker.deliver_batch and
// WorkerToHost.publish_batch, written and read in place. They carry every message an
// isolated plugin sends or receives; the generated code would copy each topic and envelope
// into a string of its own on both sides (an allocation and a copy per message). The bytes
// are the schema's (worker.proto); every other frame goes through the generated code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citylink::host::batch_frames {

// One message of a batch. Read from a frame, topic and envelope point into its bytes.
struct Item {
  std::string_view topic;
  std::string_view envelope;
  uint64_t delivery_tag = 0;      // deliveries only
  uint32_t redelivery_count = 0;  // deliveries only
};

// A HostToWorker that holds a deliver_batch and nothing else but its seq: true, with `seq`
// and `items`. False for any other frame, and for one the generated parser would refuse; the
// caller then parses it with the generated code, which settles what it is.
bool read_deliver_batch(const void* frame, std::size_t size, uint64_t& seq, std::vector<Item>& items);

// The same for a WorkerToHost that holds a publish_batch.
bool read_publish_batch(const void* frame, std::size_t size, std::vector<Item>& items);

// The bytes of HostToWorker{seq, deliver_batch{items}}.
std::size_t deliver_batch_size(uint64_t seq, const Item* items, std::size_t n);
void write_deliver_batch(uint64_t seq, const Item* items, std::size_t n, void* out);  // deliver_batch_size bytes

// WorkerToHost{publish_batch}, built one publish at a time: each is encoded as it comes
// (one copy), and the frame is its header and those bytes.
class PublishBatchWriter {
 public:
  void add(std::string_view topic, std::string_view envelope);
  std::size_t count() const { return count_; }
  std::size_t frame_size() const;
  void write_frame(void* out) const;  // frame_size() bytes
  void clear();                       // keeps the buffer's capacity

 private:
  std::string body_;  // the encoded Publish fields of the batch
  std::size_t count_ = 0;
};

}  // namespace citylink::host::batch_frames
