// Command-line options of the form `CMD [POSITIONAL] [--name VALUE] [--flag]`, shared by the
// subcommands so every one refuses unknown arguments the same way.
#pragma once

#include "commands.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace citylink::cli {

struct Parsed {
  std::string positional;  // the one positional argument, when the command takes one
  std::vector<std::pair<std::string, std::string>> options;  // name -> value ("" for flags)
  std::optional<std::string> get(const std::string& name) const {
    std::optional<std::string> v;
    for (const auto& [k, val] : options)
      if (k == name) v = val;
    return v;
  }
  bool has(const std::string& name) const { return get(name).has_value(); }
};

// Throws std::runtime_error naming the bad argument, followed by `usage`.
inline Parsed parse(const Args& args, const std::vector<std::string>& with_value, const std::vector<std::string>& flags,
                    const std::string& usage, bool needs_positional = true) {
  Parsed p;
  const auto in = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (in(with_value, a)) {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value\n" + usage);
      p.options.emplace_back(a, args[++i]);
    } else if (in(flags, a)) {
      p.options.emplace_back(a, "");
    } else if (needs_positional && p.positional.empty() && a.rfind("--", 0) != 0) {
      p.positional = a;
    } else {
      throw std::runtime_error("unknown argument '" + a + "'\n" + usage);
    }
  }
  if (needs_positional && p.positional.empty()) throw std::runtime_error(usage);
  return p;
}

// A number of seconds given as `option`, finite and within [min, max]; a duration cast of
// nan, inf or 1e30 would be undefined behaviour (review L5). Throws naming the option.
inline double parse_seconds(const std::string& option, const std::string& text, double min, double max) {
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v) || v < min || v > max)
    throw std::runtime_error(option + " '" + text + "' is not a number of seconds from " + std::to_string(static_cast<long long>(min)) +
                             " to " + std::to_string(static_cast<long long>(max)));
  return v;
}

}  // namespace citylink::cli
