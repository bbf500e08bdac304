/*
 * A CityLink plugin written in plain C99 against abi.h alone. Compiled several times with
 * different ZOO_* definitions to make the broken plugins the loader must refuse or survive.
 */
#define _POSIX_C_SOURCE 200809L
#include <citylink/abi.h>

#include <signal.h>
#include <stdio.h>
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

#ifdef ZOO_NEWER_HEADERS
/* What a rebuild with later 1.x headers looks like to this host: each struct has grown by a
 * slot appended behind struct_size, and the stamp still says 1.0 because the plugin uses
 * nothing new. The host must load it and read only the fields it knows. */
typedef struct {
  citylink_descriptor base;
  const char *field_from_the_future;
} zoo_newer_descriptor;
typedef struct {
  citylink_instance base;
  void (*slot_from_the_future)(void);
} zoo_newer_instance;
#define ZOO_DESCRIPTOR_SIZE sizeof(zoo_newer_descriptor)
#define ZOO_INSTANCE_SIZE sizeof(zoo_newer_instance)
#else
#define ZOO_DESCRIPTOR_SIZE sizeof(citylink_descriptor)
#define ZOO_INSTANCE_SIZE sizeof(citylink_instance)
#endif

#ifdef ZOO_NEWER_HEADERS
static const zoo_newer_descriptor newer_descriptor = {{
#else
static const citylink_descriptor descriptor = {
#endif
    ZOO_DESCRIPTOR_SIZE,
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
    features
#ifdef ZOO_NEWER_HEADERS
    }, "a field this host does not know"};
#define ZOO_DESCRIPTOR_PTR (&newer_descriptor.base)
#else
};
#define ZOO_DESCRIPTOR_PTR (&descriptor)
#endif

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
/* With ZOO_DEINIT_MARK set, the last deinit appends a line to that file, so a test can see
 * whether the host deinitialised a library while one of its calls was still running. */
static void zoo_deinit(void) {
  const char *mark = getenv("ZOO_DEINIT_MARK");
  FILE *f;
  if (zoo_refs > 0) --zoo_refs;
  if (zoo_refs == 0 && mark != NULL && (f = fopen(mark, "a")) != NULL) {
    fputs("deinit\n", f);
    fclose(f);
  }
}
static uint32_t zoo_count(void) { return 1; }
static const citylink_descriptor *zoo_descriptor(uint32_t i) { return i == 0 ? ZOO_DESCRIPTOR_PTR : NULL; }

#ifdef ZOO_PUBLISH_BYTES
/* No protobuf library at all: the envelope is written byte by byte in the wire format, as a
 * vendor with its own encoder (or none) would. Field 5 schema, field 6 payload; the payload
 * is a SensorReading with field 1 sensor_id "C-BYTES". */
static const citylink_host_api *zoo_host;
static const uint8_t zoo_envelope[] = {
    0x2A, 25, 'c', 'i', 't', 'y', 'l', 'i', 'n', 'k', '.', 'v', '1', '.', 'S', 'e', 'n', 's', 'o', 'r', 'R', 'e',
    'a', 'd', 'i', 'n', 'g', 0x32, 9, 0x0A, 7, 'C', '-', 'B', 'Y', 'T', 'E', 'S'};
#endif

static citylink_status zoo_start(const citylink_instance *self, citylink_error *err) {
  (void)self;
#ifdef ZOO_HANG_ON_START
  for (;;) sleep(1);
#endif
#ifdef ZOO_PUBLISH_BYTES
  return zoo_host->publish(zoo_host, "sensor.reading", zoo_envelope, sizeof zoo_envelope, err);
#else
  (void)err;
  return CITYLINK_OK;
#endif
}
#ifdef ZOO_STOP_NOT_IDEMPOTENT
/* Releases its resources on every call, as a careless plugin does: the second stop is a double
 * free. abi.h makes a second stop a no-op; verify's double-stop check must catch this one. */
static unsigned zoo_stops;
static void zoo_stop(const citylink_instance *self) {
  (void)self;
  if (++zoo_stops > 1) abort();
}
#elif defined(ZOO_HANG_ON_STOP)
static void zoo_stop(const citylink_instance *self) {
  (void)self;
  for (;;) sleep(1);
}
#else
static void zoo_stop(const citylink_instance *self) { (void)self; }
#endif
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
#ifdef ZOO_PUBLISH_BYTES
  zoo_host = host;
#endif
  (void)host;
  (void)config_json;
  if (plugin_id == NULL || strcmp(plugin_id, "kr.citylink.test.c-plugin") != 0) {
    citylink_set_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "unknown plugin id");
    return NULL;
  }
  inst = calloc(1, ZOO_INSTANCE_SIZE);
  if (inst == NULL) {
    citylink_set_error(err, CITYLINK_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  inst->struct_size = ZOO_INSTANCE_SIZE;
  inst->descriptor = ZOO_DESCRIPTOR_PTR;
  inst->start = zoo_start;
  inst->stop = zoo_stop;
  inst->destroy = zoo_destroy;
  inst->on_message = zoo_on_message;
  inst->get_extension = zoo_get_extension;
  return inst;
}

#ifdef ZOO_EXTRA_EXPORT
/* Built without the SDK's version script, so this helper leaks into the dynamic symbol table
 * beside citylink_entry, where another library's symbol of the same name could bind to it
 * (verify's exports check). */
CITYLINK_EXPORT int zoo_leaked_helper(void) { return 42; }
#endif

/* get_factory NULL: this library serves its one plugin set through the default entry slots. */
CITYLINK_EXPORT const citylink_entry_t citylink_entry = {
    {ZOO_ABI_MAJOR, ZOO_ABI_MINOR}, sizeof(citylink_entry_t), zoo_init, zoo_deinit, zoo_count, zoo_descriptor,
    zoo_create, NULL};
