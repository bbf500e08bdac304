/* Compiled as strict C99 by the build: proves the C headers of the SDK have no C++ and no
 * C11 in them, and that the C99 fallback of CITYLINK_STATIC_ASSERT freezes the layout. */
#include <citylink/abi.h>
#include <citylink/event_codes.h>
#include <citylink/ext/extension_id.h>
#include <citylink/ext/durable.h>
#include <citylink/ext/plugin_factory.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <citylink/version.h>

int citylink_abi_c99_check_size(void);
int citylink_abi_c99_check_size(void) {
  citylink_error err = {sizeof(citylink_error), 0, {0}};
  citylink_set_error(&err, CITYLINK_ERR_INTERNAL, "c99");
  return (int)(sizeof(citylink_entry_t) + sizeof(citylink_host_api) + sizeof(citylink_instance) +
               sizeof(citylink_descriptor) + sizeof(citylink_message) + sizeof(citylink_error) +
               sizeof(citylink_plugin_factory)) +
         citylink_topic_is_valid(CITYLINK_TOPIC_SENSOR_READING, sizeof CITYLINK_TOPIC_SENSOR_READING - 1) +
         citylink_topic_pattern_is_valid("camera.*", 8) + citylink_topic_pattern_matches("a.b", 3, "a.b.c", 5) +
         citylink_extension_id_is_valid(CITYLINK_PLUGIN_FACTORY_ID) + err.code;
}
