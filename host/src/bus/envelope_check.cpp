// The envelope check the router applies to every published message (review H9, M4).
#include <citylink/host/envelope_check.hpp>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace citylink::host {

namespace {

constexpr int kMaxAttributes = 64;
constexpr uint32_t kMaxFieldBytes = 4096;  // any envelope field but the payload, and any one attribute

std::string too_many_attributes() {
  return "more than " + std::to_string(kMaxAttributes) + " attributes; put data in the payload";
}

// H9 of the review: the full parse of a crafted 0.9 MB envelope with 100,000 attributes cost
// the router 44 ms, and slowed every later parse of the reused message. This scan of the
// top-level fields allocates nothing and bounds what the full parse may meet. An envelope
// it cannot read is left to the full parse, which reports it as malformed.
std::string envelope_too_costly(const uint8_t* data, std::size_t size) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(data, static_cast<int>(size));
  int attributes = 0;
  while (const uint32_t tag = in.ReadTag()) {
    const int field = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return {};
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return {};
    if (field == citylink::v1::Envelope::kAttributesFieldNumber && ++attributes > kMaxAttributes)
      return too_many_attributes();
    if (field != citylink::v1::Envelope::kPayloadFieldNumber && length > kMaxFieldBytes)
      return "envelope field " + std::to_string(field) + " is " + std::to_string(length) + " bytes, over the limit of " +
             std::to_string(kMaxFieldBytes) + "; only the payload may be large";
    if (!in.Skip(static_cast<int>(length))) return {};
  }
  return {};
}

}  // namespace

std::optional<EnvelopeFault> check_envelope(std::string_view topic, const uint8_t* env, std::size_t env_size,
                                            citylink::v1::Envelope& e) {
  // An envelope no bigger than one field's limit cannot cost much to parse, and the scan
  // would cost the common small message about a seventh of its route; its attribute count
  // is checked after the parse instead, with the same rule and words.
  const bool small = env_size <= kMaxFieldBytes;
  if (!small)
    if (std::string costly = envelope_too_costly(env, env_size); !costly.empty())
      return EnvelopeFault{RejectReason::malformed, std::move(costly)};
  e.Clear();
  if (!e.ParseFromArray(env, static_cast<int>(env_size)))
    return EnvelopeFault{RejectReason::malformed, "the bytes are not a citylink.v1.Envelope"};
  if (small && e.attributes_size() > kMaxAttributes) return EnvelopeFault{RejectReason::malformed, too_many_attributes()};
  if (!e.topic().empty() && e.topic() != topic)
    return EnvelopeFault{RejectReason::topic_mismatch, "the envelope says topic '" + e.topic() +
                                                           "' but it was published on '" + std::string(topic) + "'"};
  if (e.schema().empty())
    return EnvelopeFault{RejectReason::malformed, "the envelope has no schema; set it to the payload's full type name"};
  return std::nullopt;
}

}  // namespace citylink::host
