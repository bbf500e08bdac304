// The platform bridge's TCP telegram decoder (interface B).
#include <string_view>

#include "fuzz_target.hpp"
#include "telegram.hpp"

CITYLINK_FUZZ_TARGET(telegram) {
  try {
    (void)ucp::telegram::decode(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const ucp::DecodeError&) {
  }
  return 0;
}
