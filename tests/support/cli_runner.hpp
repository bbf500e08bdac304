// Runs the real `citylink` command in a child process, as a user would, for the CLI tests.
#pragma once

#include "test_support.hpp"

#include <citylink/host/child_process.hpp>

#include <string>
#include <vector>

namespace citylink::test {

inline citylink::host::ChildResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), citylink_bin());
  return citylink::host::run_child(args, std::chrono::seconds(120));
}

inline bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace citylink::test
