// Protobuf's own wire-format reader and writer, on the field numbers of the generated code.
// A frame is accepted only where the generated parser would accept it and read the same
// items (a fuzz target checks the two against each other): a field met twice keeps its last
// value, a message field met twice is merged, an unknown field is skipped, a topic must be
// UTF-8 (proto3 `string`).
#include "batch_frames.hpp"

#include <citylink/worker/v1/worker.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdint>
#include <cstring>

namespace citylink::host::batch_frames {

namespace {

namespace wv1 = citylink::worker::v1;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using WFL = google::protobuf::internal::WireFormatLite;

constexpr uint32_t bytes_tag(int field) { return WFL::MakeTag(field, WFL::WIRETYPE_LENGTH_DELIMITED); }
constexpr uint32_t varint_tag(int field) { return WFL::MakeTag(field, WFL::WIRETYPE_VARINT); }

CodedInputStream open(std::string_view bytes) {
  return CodedInputStream(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
}

// The generated parser reads a tag or a length in at most five bytes, where CodedInputStream
// takes up to ten: a longer one is left to the generated parser (which refuses it).
constexpr int kMaxTagOrLengthBytes = 5;

// The next tag; 0 at the end of the bytes, and for anything this reader leaves (then
// ConsumedEntireMessage() is false): a long tag, field number 0.
uint32_t read_tag(CodedInputStream& in) {
  const int at = in.CurrentPosition();
  const uint32_t tag = in.ReadTag();
  if (tag == 0) return 0;
  // Returning 0 before the end: ConsumedEntireMessage() stays false (only an end sets it).
  if (in.CurrentPosition() - at > kMaxTagOrLengthBytes || WFL::GetTagFieldNumber(tag) == 0) return 0;
  return tag;
}

// A length as the generated parser reads one (ReadSize): at most five bytes, and under 2 GiB
// by a margin (CodedInputStream's ReadVarint32 would drop the bits above 32 instead).
bool read_length(CodedInputStream& in, uint32_t& length) {
  const int at = in.CurrentPosition();
  uint64_t value;
  if (!in.ReadVarint64(&value) || in.CurrentPosition() - at > kMaxTagOrLengthBytes) return false;
  if (value > static_cast<uint64_t>(INT32_MAX - 16)) return false;
  length = static_cast<uint32_t>(value);
  return true;
}

// An unknown field, skipped as the generated parser skips it; a group is left to it.
bool skip_field(CodedInputStream& in, uint32_t tag) {
  switch (WFL::GetTagWireType(tag)) {
    case WFL::WIRETYPE_VARINT: {
      uint64_t v;
      return in.ReadVarint64(&v);
    }
    case WFL::WIRETYPE_FIXED64: {
      uint64_t v;
      return in.ReadLittleEndian64(&v);
    }
    case WFL::WIRETYPE_FIXED32: {
      uint32_t v;
      return in.ReadLittleEndian32(&v);
    }
    case WFL::WIRETYPE_LENGTH_DELIMITED: {
      uint32_t length;
      return read_length(in, length) && in.Skip(static_cast<int>(length));
    }
    default:
      return false;
  }
}

// A length-delimited field's bytes, where they are.
bool read_bytes(CodedInputStream& in, std::string_view& out) {
  uint32_t length;
  if (!read_length(in, length)) return false;
  if (length == 0) {
    out = {};
    return true;
  }
  const void* at;
  int left;
  if (!in.GetDirectBufferPointer(&at, &left) || left < 0 || length > static_cast<uint32_t>(left)) return false;
  out = std::string_view(static_cast<const char*>(at), length);
  return in.Skip(static_cast<int>(length));
}

bool read_topic(CodedInputStream& in, std::string_view& out) {
  return read_bytes(in, out) &&
         google::protobuf::internal::IsStructurallyValidUTF8(out.data(), static_cast<int>(out.size()));
}

// One Deliver (or Publish: the same first two fields). `item` is updated field by field, as
// the generated parser merges a message met twice.
bool read_item(std::string_view bytes, Item& item, bool delivery) {
  CodedInputStream in = open(bytes);
  while (const uint32_t tag = read_tag(in)) {
    bool ok;
    if (tag == bytes_tag(wv1::Deliver::kTopicFieldNumber)) {
      ok = read_topic(in, item.topic);
    } else if (tag == bytes_tag(wv1::Deliver::kEnvelopeFieldNumber)) {
      ok = read_bytes(in, item.envelope);
    } else if (delivery && tag == varint_tag(wv1::Deliver::kDeliveryTagFieldNumber)) {
      ok = in.ReadVarint64(&item.delivery_tag);
    } else if (delivery && tag == varint_tag(wv1::Deliver::kRedeliveryCountFieldNumber)) {
      ok = in.ReadVarint32(&item.redelivery_count);
    } else {
      ok = skip_field(in, tag);
    }
    if (!ok) return false;
  }
  return in.ConsumedEntireMessage();
}

// The batch message's repeated items (field 1 of DeliverBatch and PublishBatch).
bool read_items(std::string_view bytes, std::vector<Item>& items, bool delivery) {
  static_assert(int{wv1::DeliverBatch::kDeliveriesFieldNumber} == int{wv1::PublishBatch::kPublishesFieldNumber});
  static_assert(int{wv1::Publish::kTopicFieldNumber} == int{wv1::Deliver::kTopicFieldNumber} &&
                int{wv1::Publish::kEnvelopeFieldNumber} == int{wv1::Deliver::kEnvelopeFieldNumber});
  CodedInputStream in = open(bytes);
  while (const uint32_t tag = read_tag(in)) {
    if (tag == bytes_tag(wv1::DeliverBatch::kDeliveriesFieldNumber)) {
      std::string_view one;
      if (!read_bytes(in, one)) return false;
      items.emplace_back();
      if (!read_item(one, items.back(), delivery)) return false;
    } else if (!skip_field(in, tag)) {
      return false;
    }
  }
  return in.ConsumedEntireMessage();
}

// A frame whose oneof is `batch_field` and holds nothing else but field 1 (seq).
bool read_frame(const void* frame, std::size_t size, int batch_field, uint64_t& seq, std::vector<Item>& items,
                bool delivery) {
  items.clear();
  if (size > static_cast<std::size_t>(INT32_MAX)) return false;
  CodedInputStream in = open(std::string_view(static_cast<const char*>(frame), size));
  bool batch = false;
  while (const uint32_t tag = read_tag(in)) {
    bool ok;
    if (tag == varint_tag(1)) {
      ok = in.ReadVarint64(&seq);
    } else if (tag == bytes_tag(batch_field)) {
      std::string_view bytes;
      ok = read_bytes(in, bytes) && read_items(bytes, items, delivery);
      batch = true;
    } else if (WFL::GetTagFieldNumber(tag) == 1 || WFL::GetTagFieldNumber(tag) == batch_field) {
      ok = skip_field(in, tag);  // a known field with another wire type: unknown to the parser too
    } else {
      return false;  // another call or event: the generated parser's
    }
    if (!ok) return false;
  }
  return batch && in.ConsumedEntireMessage();
}

// A proto3 field with its default value is not written, as the generated code does: the
// bytes are then the same as its.
uint8_t* write_bytes(int field, std::string_view bytes, uint8_t* at) {
  if (bytes.empty()) return at;
  at = WFL::WriteTagToArray(field, WFL::WIRETYPE_LENGTH_DELIMITED, at);
  at = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(bytes.size()), at);
  std::memcpy(at, bytes.data(), bytes.size());
  return at + bytes.size();
}

std::size_t field_size(std::size_t bytes) { return 1 + WFL::LengthDelimitedSize(bytes); }  // fields 1-15
std::size_t optional_field_size(std::size_t bytes) { return bytes == 0 ? 0 : field_size(bytes); }

std::size_t delivery_size(const Item& d) {
  std::size_t n = optional_field_size(d.topic.size()) + optional_field_size(d.envelope.size());
  if (d.delivery_tag != 0) n += 1 + CodedOutputStream::VarintSize64(d.delivery_tag);
  if (d.redelivery_count != 0) n += 1 + CodedOutputStream::VarintSize32(d.redelivery_count);
  return n;
}

std::size_t deliveries_size(const Item* items, std::size_t n) {
  std::size_t size = 0;
  for (std::size_t i = 0; i < n; ++i) size += field_size(delivery_size(items[i]));
  return size;
}

}  // namespace

bool read_deliver_batch(const void* frame, std::size_t size, uint64_t& seq, std::vector<Item>& items) {
  seq = 0;
  return read_frame(frame, size, wv1::HostToWorker::kDeliverBatchFieldNumber, seq, items, true);
}

bool read_publish_batch(const void* frame, std::size_t size, std::vector<Item>& items) {
  uint64_t seq = 0;
  return read_frame(frame, size, wv1::WorkerToHost::kPublishBatchFieldNumber, seq, items, false);
}

std::size_t deliver_batch_size(uint64_t seq, const Item* items, std::size_t n) {
  return (seq != 0 ? 1 + CodedOutputStream::VarintSize64(seq) : 0) + field_size(deliveries_size(items, n));
}

void write_deliver_batch(uint64_t seq, const Item* items, std::size_t n, void* out) {
  auto* at = static_cast<uint8_t*>(out);
  if (seq != 0) at = WFL::WriteUInt64ToArray(wv1::HostToWorker::kSeqFieldNumber, seq, at);
  at = WFL::WriteTagToArray(wv1::HostToWorker::kDeliverBatchFieldNumber, WFL::WIRETYPE_LENGTH_DELIMITED, at);
  at = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(deliveries_size(items, n)), at);
  for (std::size_t i = 0; i < n; ++i) {
    const Item& d = items[i];
    at = WFL::WriteTagToArray(wv1::DeliverBatch::kDeliveriesFieldNumber, WFL::WIRETYPE_LENGTH_DELIMITED, at);
    at = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(delivery_size(d)), at);
    at = write_bytes(wv1::Deliver::kTopicFieldNumber, d.topic, at);
    at = write_bytes(wv1::Deliver::kEnvelopeFieldNumber, d.envelope, at);
    if (d.delivery_tag != 0) at = WFL::WriteUInt64ToArray(wv1::Deliver::kDeliveryTagFieldNumber, d.delivery_tag, at);
    if (d.redelivery_count != 0)
      at = WFL::WriteUInt32ToArray(wv1::Deliver::kRedeliveryCountFieldNumber, d.redelivery_count, at);
  }
}

void PublishBatchWriter::add(std::string_view topic, std::string_view envelope) {
  const std::size_t inner = optional_field_size(topic.size()) + optional_field_size(envelope.size());
  const std::size_t at = body_.size();
  body_.resize(at + field_size(inner));
  auto* w = reinterpret_cast<uint8_t*>(body_.data() + at);
  w = WFL::WriteTagToArray(wv1::PublishBatch::kPublishesFieldNumber, WFL::WIRETYPE_LENGTH_DELIMITED, w);
  w = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(inner), w);
  w = write_bytes(wv1::Publish::kTopicFieldNumber, topic, w);
  (void)write_bytes(wv1::Publish::kEnvelopeFieldNumber, envelope, w);
  ++count_;
}

std::size_t PublishBatchWriter::frame_size() const { return field_size(body_.size()); }

void PublishBatchWriter::write_frame(void* out) const {
  auto* at = static_cast<uint8_t*>(out);
  at = WFL::WriteTagToArray(wv1::WorkerToHost::kPublishBatchFieldNumber, WFL::WIRETYPE_LENGTH_DELIMITED, at);
  at = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(body_.size()), at);
  if (!body_.empty()) std::memcpy(at, body_.data(), body_.size());
}

void PublishBatchWriter::clear() {
  body_.clear();
  count_ = 0;
}

}  // namespace citylink::host::batch_frames
