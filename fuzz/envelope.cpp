// The router's envelope check (the bytes any plugin or remote client publishes).
#include <citylink/host/envelope_check.hpp>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(envelope) {
  citylink::v1::Envelope e;
  (void)citylink::host::check_envelope("sensor.reading", data, size, e);
  return 0;
}
