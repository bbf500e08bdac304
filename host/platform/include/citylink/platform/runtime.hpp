// The platform is built on the CityLink runtime (citylink/host/) and names the runtime's
// types unqualified (Router, Inbox, CityConfig, ConfigError, log()): this is the one place
// that says so. The runtime never includes anything of the platform.
#pragma once

namespace citylink::host {}

namespace citylink::platform {
using namespace citylink::host;
}  // namespace citylink::platform
