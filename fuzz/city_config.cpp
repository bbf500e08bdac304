// The city config loader: YAML an operator (or an attacker with write access to it) wrote.
#include <citylink/host/city_config.hpp>

#include <exception>
#include <string>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(city_config) {
  try {
    (void)citylink::host::parse_city_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml", "/tmp");
  } catch (const std::exception&) {
    // A refusal with its reason is the right answer to a bad config.
  }
  return 0;
}
