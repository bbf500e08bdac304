// Reading a running Host from the tests: one instance's counters by name.
#pragma once

#include <citylink/host/host.hpp>

#include <stdexcept>
#include <string>

namespace citylink::test {

inline host::CounterSnapshot counters_of(host::Host& h, const std::string& instance) {
  for (const auto& s : h.status())
    if (s.instance_id == instance) return s.counters;
  throw std::runtime_error("no instance " + instance);
}

}  // namespace citylink::test
