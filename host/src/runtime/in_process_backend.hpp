// An instance whose plugin runs in the host's own process (trusted, or isolation: none).
#pragma once

#include <citylink/host/instance_backend.hpp>
#include <citylink/host/plugin_library.hpp>

#include <memory>
#include <string>

namespace citylink::host {

class Publisher;

// Calls the library's create with a host table that publishes through `publisher`, every
// call bounded by `watchdog`. Throws InstanceError "<who>: create failed: <the plugin's
// message>" and the like.
std::unique_ptr<InstanceBackend> make_in_process_backend(std::shared_ptr<PluginLibrary> library,
                                                         const std::string& plugin_id, const std::string& instance_id,
                                                         const std::string& config_json, const std::string& who,
                                                         std::shared_ptr<Publisher> publisher,
                                                         std::shared_ptr<InstanceCounters> counters,
                                                         DeliveryHooks delivery, WatchdogSettings watchdog);

}  // namespace citylink::host
