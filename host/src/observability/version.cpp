// Version strings.
#include <citylink/host/version.hpp>

namespace citylink::host {

std::string abi_version_string(citylink_abi_version v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor);
}

std::string abi_version_string() {
  return abi_version_string({CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR});
}

}  // namespace citylink::host
