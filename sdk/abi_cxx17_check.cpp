// Compiled as strict C++17 by the build: the SDK's C headers (extern "C", static_assert for
// the layout checks) as a C++ vendor includes them, without plugin.hpp or protobuf.
#include <citylink/abi.h>
#include <citylink/event_codes.h>
#include <citylink/ext/extension_id.h>
#include <citylink/ext/durable.h>
#include <citylink/ext/plugin_factory.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <citylink/version.h>

#include <type_traits>

static_assert(std::is_standard_layout_v<citylink_entry_t> && std::is_trivially_copyable_v<citylink_entry_t>);
static_assert(std::is_standard_layout_v<citylink_descriptor> && std::is_trivially_copyable_v<citylink_descriptor>);
static_assert(std::is_standard_layout_v<citylink_host_api> && std::is_trivially_copyable_v<citylink_host_api>);
static_assert(std::is_standard_layout_v<citylink_message> && std::is_trivially_copyable_v<citylink_message>);
static_assert(std::is_standard_layout_v<citylink_instance> && std::is_trivially_copyable_v<citylink_instance>);
static_assert(std::is_same_v<citylink_log_level, int32_t> && std::is_same_v<citylink_status, int32_t>);

int citylink_abi_cxx17_check_size();
int citylink_abi_cxx17_check_size() {
  citylink_error err{};
  err.struct_size = sizeof err;
  citylink_set_error(&err, CITYLINK_ERR_INTERNAL, "c++17");
  return static_cast<int>(sizeof(citylink_entry_t) + sizeof(citylink_plugin_factory)) +
         citylink_topic_is_valid(CITYLINK_TOPIC_INCIDENT_112, sizeof CITYLINK_TOPIC_INCIDENT_112 - 1) +
         citylink_extension_id_is_valid(CITYLINK_PLUGIN_FACTORY_ID) + err.code;
}
