/* Compiled as strict C11 by the build: the SDK's C headers with C11's _Static_assert
 * doing the layout checks (C99 uses a fallback; see abi_c99_check.c). */
#include <citylink/abi.h>
#include <citylink/event_codes.h>
#include <citylink/ext/extension_id.h>
#include <citylink/ext/durable.h>
#include <citylink/ext/plugin_factory.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <citylink/version.h>

_Static_assert(sizeof(citylink_log_level) == 4, "an enum crossing the boundary is an int32_t");

int citylink_abi_c11_check_size(void);
int citylink_abi_c11_check_size(void) {
  citylink_error err = {sizeof(citylink_error), 0, {0}};
  citylink_set_error(&err, CITYLINK_ERR_INTERNAL, "c11");
  return (int)(sizeof(citylink_entry_t) + sizeof(citylink_plugin_factory)) +
         citylink_topic_pattern_matches("*", 1, CITYLINK_TOPIC_CAMERA_INFO, sizeof CITYLINK_TOPIC_CAMERA_INFO - 1) +
         citylink_extension_id_is_valid("citylink.timer.draft/1") + err.code;
}
