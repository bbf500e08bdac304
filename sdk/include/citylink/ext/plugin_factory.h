/*
 * citylink/ext/plugin_factory.h — "citylink.plugin-factory/1": the plugin set of a
 * library, reached through citylink_entry.get_factory. C99.
 *
 * Why a factory next to the three entry slots: the entry's plugin_count / descriptor /
 * create are plain functions, so a binary has exactly one plugin set. A shim binary (the
 * worker wrapper, a Python runner, a bridge to another plugin format) serves several sets;
 * it embeds one citylink_plugin_factory per set at the start of a struct of its own and
 * finds that struct from the `factory` argument every function receives. A plain plugin
 * needs nothing of this: CITYLINK_PLUGIN_LIBRARY (plugin.hpp) returns a factory that
 * forwards to the entry slots, and a C plugin may leave get_factory NULL.
 *
 * Same rules as the entry functions (abi.h): valid from get_factory returning until the
 * library's last deinit; [main-thread] after init.
 * Like every extension struct it holds function pointers only (ext/extension_id.h).
 */
#ifndef CITYLINK_EXT_PLUGIN_FACTORY_H
#define CITYLINK_EXT_PLUGIN_FACTORY_H

#include <citylink/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CITYLINK_PLUGIN_FACTORY_ID "citylink.plugin-factory/1"

typedef struct citylink_plugin_factory citylink_plugin_factory;

struct citylink_plugin_factory {
  /* Number of plugins this factory provides. [main-thread] */
  uint32_t (*plugin_count)(const citylink_plugin_factory *factory);

  /* Descriptor of plugin `index`, or NULL; valid until the last deinit. [main-thread] */
  const citylink_descriptor *(*descriptor)(const citylink_plugin_factory *factory, uint32_t index);

  /*
   * As citylink_entry_t.create, for a plugin of this factory: the instance, or NULL with
   * `error` filled. [main-thread]
   */
  const citylink_instance *(*create)(const citylink_plugin_factory *factory, const citylink_host_api *host,
                                     const char *plugin_id, const char *config_json, citylink_error *error);
};

#if defined(__LP64__) || defined(_LP64)
CITYLINK_STATIC_ASSERT(sizeof(citylink_plugin_factory) == 24, "citylink_plugin_factory layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_plugin_factory, plugin_count) == 0, "citylink_plugin_factory layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_plugin_factory, descriptor) == 8, "citylink_plugin_factory layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_plugin_factory, create) == 16, "citylink_plugin_factory layout");
#endif

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_EXT_PLUGIN_FACTORY_H */
