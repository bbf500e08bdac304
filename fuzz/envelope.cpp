// The router's envelope check (the bytes any plugin or remote client publishes).
#include <citylink/host/envelope_check.hpp>
#include <citylink/host/logging.hpp>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(envelope) {
  (void)citylink::host::log();  // protobuf's complaints through the host's rate-limited logger, as in the host
  citylink::v1::Envelope e;
  (void)citylink::host::check_envelope("sensor.reading", data, size, e);
  return 0;
}
