// Version of the host build and the ABI it speaks.
#pragma once

#include <citylink/abi.h>

#include <string>

namespace citylink::host {

inline constexpr const char* kHostVersion = "1.1.0";

// "1.1": the ABI major.minor this host implements.
std::string abi_version_string();
std::string abi_version_string(citylink_abi_version v);

}  // namespace citylink::host
