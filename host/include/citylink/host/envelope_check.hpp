// The one check of a published envelope's bytes (the router's, and the fuzzers'): bounded
// cost to parse, a citylink.v1.Envelope, few attributes, its topic agrees, a schema named.
#pragma once

#include <citylink/host/counters.hpp>
#include <citylink/v1/envelope.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citylink::host {

struct EnvelopeFault {
  RejectReason reason;
  std::string why;  // names the field and the fix
};

// Parses `bytes` into `out` (cleared first) and returns what is wrong with it, if anything.
// Size, topic syntax and grants are the router's to check before.
std::optional<EnvelopeFault> check_envelope(std::string_view topic, const uint8_t* bytes, std::size_t size,
                                            citylink::v1::Envelope& out);

}  // namespace citylink::host
