/*
 * A CityLink plugin written in plain C99 against abi.h alone. Compiled several times with
 * different ZOO_* definitions to make the broken plugins the loader must refuse or survive.
 */
#define _POSIX_C_SOURCE 200809L
#include <citylink/abi.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef ZOO_ABI_MAJOR
#define ZOO_ABI_MAJOR CITYLINK_ABI_VERSION_MAJOR
#endif
#ifndef ZOO_ABI_MINOR
#define ZOO_ABI_MINOR 0 /* the host minor this plugin requires: nothing newer than 1.0 */
#endif

static const char *const publishes[] = {"sensor.reading", NULL};
static const char *const subscribes[] = {"incident.", NULL};
static const char *const features[] = {"test.c-abi", NULL};

static const citylink_descriptor descriptor = {
    sizeof(citylink_descriptor),
#ifdef ZOO_NO_ID
    NULL,
#else
    "kr.citylink.test.c-plugin",
#endif
    "Plain C plugin",
    "CityLink tests",
    "1.0.0",
    "test",
    "Written against abi.h only.",
    publishes,
    subscribes,
    NULL,
    NULL,
    features};

/* init/deinit are reference-counted (abi.h); this plugin has nothing to set up but counts anyway. */
static unsigned zoo_refs;

static citylink_status zoo_init(const char *path, citylink_error *err) {
  (void)path;
#ifdef ZOO_CRASH_ON_INIT
  raise(SIGSEGV);
#endif
#ifdef ZOO_INIT_FAILS
  citylink_set_error(err, CITYLINK_ERR_UNAVAILABLE, "zoo_init_fails: the test device is unplugged (by design)");
  return CITYLINK_ERR_UNAVAILABLE;
#else
  (void)err;
  ++zoo_refs;
  return CITYLINK_OK;
#endif
}
static void zoo_deinit(void) {
  if (zoo_refs > 0) --zoo_refs;
}
static uint32_t zoo_count(void) { return 1; }
static const citylink_descriptor *zoo_descriptor(uint32_t i) { return i == 0 ? &descriptor : NULL; }

static citylink_status zoo_start(const citylink_instance *self, citylink_error *err) {
  (void)self;
  (void)err;
  return CITYLINK_OK;
}
static void zoo_stop(const citylink_instance *self) { (void)self; }
static void zoo_destroy(const citylink_instance *self) { free((void *)self); }
static citylink_status zoo_on_message(const citylink_instance *self, const citylink_message *m, citylink_error *err) {
  (void)self;
  (void)m;
  (void)err;
#ifdef ZOO_CRASH_ON_MESSAGE
  raise(SIGSEGV);
#endif
#ifdef ZOO_HANG_ON_MESSAGE
  for (;;) sleep(1);
#endif
  return CITYLINK_OK;
}
static const void *zoo_get_extension(const citylink_instance *self, const char *id) {
  (void)self;
  (void)id;
  return NULL;
}

static const citylink_instance *zoo_create(const citylink_host_api *host, const char *plugin_id,
                                           const char *config_json, citylink_error *err) {
  citylink_instance *inst;
  (void)host;
  (void)config_json;
  if (plugin_id == NULL || strcmp(plugin_id, "kr.citylink.test.c-plugin") != 0) {
    citylink_set_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "unknown plugin id");
    return NULL;
  }
  inst = calloc(1, sizeof *inst);
  if (inst == NULL) {
    citylink_set_error(err, CITYLINK_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  inst->struct_size = sizeof *inst;
  inst->descriptor = &descriptor;
  inst->start = zoo_start;
  inst->stop = zoo_stop;
  inst->destroy = zoo_destroy;
  inst->on_message = zoo_on_message;
  inst->get_extension = zoo_get_extension;
  return inst;
}

/* get_factory NULL: this library serves its one plugin set through the default entry slots. */
CITYLINK_EXPORT const citylink_entry_t citylink_entry = {
    {ZOO_ABI_MAJOR, ZOO_ABI_MINOR}, sizeof(citylink_entry_t), zoo_init, zoo_deinit, zoo_count, zoo_descriptor,
    zoo_create, NULL};
