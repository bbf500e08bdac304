// Errors the host raises: each message names the thing that is wrong and how to fix it.
#pragma once

#include <stdexcept>
#include <string>

namespace citylink::host {

// A plugin file or library that cannot be used (not a library, wrong ABI, bad descriptor...).
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A city config that cannot be used; the message starts with "file:line:column:".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A plugin instance that failed in create or start; the message carries the plugin's reason.
class InstanceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace citylink::host
