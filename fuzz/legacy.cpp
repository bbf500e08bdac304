// The platform bridge's legacy fixed-header decoder and field mapping (interface C).
#include <string_view>

#include "fuzz_target.hpp"
#include "legacy.hpp"

CITYLINK_FUZZ_TARGET(legacy) {
  try {
    const auto m = ucp::legacy::decode(std::string_view(reinterpret_cast<const char*>(data), size));
    (void)ucp::legacy::to_event(m);
  } catch (const ucp::DecodeError&) {
  }
  (void)ucp::legacy::decode_response(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
