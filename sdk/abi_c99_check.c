/* Compiled as strict C99 by the build: proves abi.h has no C++ in it. */
#include <citylink/abi.h>

int citylink_abi_c99_check_size(void);
int citylink_abi_c99_check_size(void) {
  return (int)(sizeof(citylink_entry_t) + sizeof(citylink_host_api) + sizeof(citylink_instance) +
               sizeof(citylink_descriptor) + sizeof(citylink_message) + sizeof(citylink_error));
}
