/*
 * citylink/abi.h — the stable C ABI between the CityLink host and a plugin library.
 *
 * C99 only. Nothing in this file may ever depend on C++.
 *
 * Contract in one paragraph
 * -------------------------
 * A plugin library exports exactly one symbol: the const data object `citylink_entry`.
 * The host reads `citylink_entry.abi_version` before it calls anything else and refuses a
 * library whose major differs from its own or whose minor is newer than its own. Then it
 * calls `init` once, reads the descriptors, and creates instances. An instance lives
 * through `create -> start -> (on_message)* -> stop -> destroy`. Only C types cross the
 * boundary: fixed-width integers, UTF-8 `const char*`, and `const uint8_t*` + `size_t`
 * holding serialized `citylink.v1.Envelope` protobuf bytes. Whoever allocates frees.
 *
 * Evolution rules
 * ---------------
 *  - Every struct starts with `struct_size`. A field is only ever appended, never
 *    removed, reordered or re-typed. The reader copies min(struct_size, sizeof) and
 *    treats the rest as zero, so an old plugin works with a new host and the reverse.
 *  - `citylink_host_api` is an append-only function table (like sqlite3ext.h): test
 *    `CITYLINK_HAS_SLOT(api, slot)` before calling a slot added after 1.0.
 *  - Optional features are extensions looked up by a string id that carries its revision
 *    ("citylink.timer/1", "kr.vendor.feature/2"). An id never changes meaning; a new
 *    meaning gets a new id.
 *  - Adding a slot, a field, a status code, a message flag or an extension bumps the minor version
 *    (callers treat an unknown non-zero status as an error). Anything else bumps the
 *    major version, which every plugin then has to be rebuilt for.
 *
 * Thread tags used below
 * ----------------------
 *  [main-thread]     the host thread that loads libraries and manages instances
 *                    (never a dispatch thread, never a plugin-owned thread).
 *  [dispatch-thread] the one host thread that belongs to an instance; the host never
 *                    calls two functions of the same instance at the same time.
 *  [any-thread]      any thread, including threads the plugin created itself.
 */
#ifndef CITYLINK_ABI_H
#define CITYLINK_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------------------
 * Versions
 * ---------------------------------------------------------------------------------- */

/* The ABI this header describes. A host speaks one major and every minor up to its own. */
#define CITYLINK_ABI_VERSION_MAJOR 1u
#define CITYLINK_ABI_VERSION_MINOR 0u

typedef struct citylink_abi_version {
  uint32_t major; /* incompatible when different */
  uint32_t minor; /* additions only; a host accepts plugins with minor <= its own */
} citylink_abi_version;

/* True when a struct that claims `struct_size` bytes contains `field` in full. */
#define CITYLINK_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* True when the host function table has slot `slot` (a slot added after 1.0 may be missing). */
#define CITYLINK_HAS_SLOT(api, slot) \
  (CITYLINK_HAS_FIELD((api), citylink_host_api, slot) && (api)->slot != NULL)

/* ----------------------------------------------------------------------------------
 * Status codes and error messages
 * ---------------------------------------------------------------------------------- */

typedef int32_t citylink_status;

enum {
  CITYLINK_OK = 0,
  CITYLINK_ERR_INVALID_ARGUMENT = 1, /* a NULL or malformed argument */
  CITYLINK_ERR_CONFIG = 2,           /* the instance config is invalid */
  CITYLINK_ERR_STATE = 3,            /* called in the wrong lifecycle state */
  CITYLINK_ERR_UNSUPPORTED = 4,      /* the plugin or host does not do this */
  CITYLINK_ERR_NOT_GRANTED = 5,      /* topic outside the instance's grants */
  CITYLINK_ERR_TOO_LARGE = 6,        /* message larger than the host's limit */
  CITYLINK_ERR_MALFORMED = 7,        /* bytes that are not a valid envelope/payload */
  CITYLINK_ERR_BACKPRESSURE = 8,     /* queue full; the message was dropped and counted */
  CITYLINK_ERR_UNAVAILABLE = 9,      /* a resource (device, agency link) is unreachable */
  CITYLINK_ERR_INTERNAL = 10         /* anything else, including a caught exception */
};

#define CITYLINK_ERROR_MESSAGE_MAX 512

/*
 * Room for a human-readable reason next to a status code.
 * The caller owns it (usually on its stack) and sets `struct_size`; the callee writes a
 * NUL-terminated UTF-8 message of at most CITYLINK_ERROR_MESSAGE_MAX - 1 bytes when it
 * returns anything but CITYLINK_OK. A callee must accept a NULL `citylink_error*`.
 */
typedef struct citylink_error {
  uint32_t struct_size;
  citylink_status code;
  char message[CITYLINK_ERROR_MESSAGE_MAX];
} citylink_error;

/* ----------------------------------------------------------------------------------
 * Descriptor: what a plugin is, readable without starting it
 * ---------------------------------------------------------------------------------- */

/*
 * Owned by the plugin library; valid from `init` returning until `deinit`.
 * Lists are NULL-terminated arrays of NUL-terminated strings; NULL means empty.
 */
typedef struct citylink_descriptor {
  uint32_t struct_size;
  const char *id;          /* reverse DNS, unique world-wide: "kr.acme.water-level". Required. */
  const char *name;        /* human name: "ACME water-level gauge" */
  const char *vendor;      /* "ACME Sensors Co." */
  const char *version;     /* semver of the product plugin: "1.4.2" */
  const char *kind;        /* "camera", "analytics", "sensor", "wearable", "bridge", "sink", ... */
  const char *description; /* one paragraph */
  const char *const *publishes;  /* topics it publishes, e.g. {"sensor.reading", NULL} */
  const char *const *subscribes; /* topic prefixes it wants delivered, e.g. {"incident.", NULL} */
  const char *config_schema;     /* JSON Schema (draft 2020-12) of its config, or NULL */
  const char *const *extensions; /* extension ids the instances implement, or NULL */
  void *reserved[8];             /* zero; room for fields added by later minors */
} citylink_descriptor;

/* ----------------------------------------------------------------------------------
 * Host services handed to an instance
 * ---------------------------------------------------------------------------------- */

typedef enum citylink_log_level {
  CITYLINK_LOG_TRACE = 0,
  CITYLINK_LOG_DEBUG = 1,
  CITYLINK_LOG_INFO = 2,
  CITYLINK_LOG_WARN = 3,
  CITYLINK_LOG_ERROR = 4
} citylink_log_level;

typedef struct citylink_host_api citylink_host_api;

/*
 * The host's function table, one per instance, valid from `create` until `destroy`
 * returns. Append-only: slots are never removed or reordered. Every function takes the
 * table itself as first argument, which is how the host knows which instance is calling
 * (the `source` of a published message is therefore never taken from the plugin).
 */
struct citylink_host_api {
  uint32_t struct_size;
  citylink_abi_version abi_version; /* the host's ABI version */
  void *host_data;                  /* opaque to the plugin; never touch */

  /*
   * Publish one message.
   * `topic`: dotted, lower case, e.g. "sensor.reading"; must lie inside the instance's
   *          publish grants (the descriptor's `publishes` unless the city config says
   *          otherwise).
   * `envelope`/`envelope_size`: a serialized citylink.v1.Envelope. The plugin fills
   *          `schema`, `payload`, and optionally `correlation_id` and `attributes`. The
   *          host stamps `id`, `source` and `time`; values the plugin put there are
   *          replaced. The bytes are copied before the call returns.
   * Returns CITYLINK_OK when the message was queued for the router. The router may
   * still reject it (grants, size, parse); that is counted and logged, never silent.
   * Returns CITYLINK_ERR_BACKPRESSURE when the instance's outgoing queue is full (the
   * message is dropped and counted), CITYLINK_ERR_STATE before `start` is entered or
   * after `stop` returned.
   * [any-thread] Never blocks on a subscriber.
   */
  citylink_status (*publish)(const citylink_host_api *host, const char *topic,
                             const uint8_t *envelope, size_t envelope_size, citylink_error *error);

  /*
   * Write one line to the host log, tagged with the instance id.
   * [any-thread]
   */
  void (*log)(const citylink_host_api *host, citylink_log_level level, const char *message);

  /*
   * Look up an optional host service by id ("citylink.timer/1"). Returns a pointer to a
   * const struct owned by the host, valid until `destroy`, or NULL when not provided.
   * [any-thread]
   */
  const void *(*get_extension)(const citylink_host_api *host, const char *extension_id);

  /*
   * The instance id the city config gave this instance ("water-level-gangnam-1").
   * Owned by the host, valid until `destroy`.
   * [any-thread]
   */
  const char *(*instance_id)(const citylink_host_api *host);

  /*
   * Acknowledge a message delivered with a non-zero `delivery_tag` (a durable
   * subscription). Until acked, the host keeps the message and redelivers it after a
   * timeout, a restart of the instance or a restart of the host. Acking tag 0 or a tag
   * already acked is CITYLINK_OK. Unacked non-durable messages are simply forgotten.
   * [any-thread]
   */
  citylink_status (*ack)(const citylink_host_api *host, uint64_t delivery_tag);

  /* Slots added by later minor versions go here, and only here. */
};

/* ----------------------------------------------------------------------------------
 * A message delivered to an instance
 * ---------------------------------------------------------------------------------- */

#define CITYLINK_MESSAGE_REDELIVERED 0x1u /* seen before: de-duplicate by envelope id */

/* Owned by the host; valid only during the `on_message` call it is passed to. */
typedef struct citylink_message {
  uint32_t struct_size;
  uint32_t flags;            /* CITYLINK_MESSAGE_* bits */
  const char *topic;         /* NUL-terminated */
  const uint8_t *envelope;   /* serialized citylink.v1.Envelope, stamped by the host */
  size_t envelope_size;
  uint64_t delivery_tag;     /* non-zero for durable subscriptions: pass to host->ack */
  void *reserved[4];
} citylink_message;

/* ----------------------------------------------------------------------------------
 * An instance of a plugin
 * ---------------------------------------------------------------------------------- */

typedef struct citylink_instance citylink_instance;

/* Owned by the plugin, from `create` returning until `destroy` returns. */
struct citylink_instance {
  uint32_t struct_size;
  const citylink_descriptor *descriptor; /* the descriptor it was created from */
  void *plugin_data;                     /* the plugin's own; the host never touches it */

  /*
   * Begin work: open devices, start the plugin's own threads, begin publishing.
   * A failure keeps the instance in the created state; the host will only `destroy` it.
   * [main-thread] once, after create.
   */
  citylink_status (*start)(const citylink_instance *self, citylink_error *error);

  /*
   * Stop work. When it returns the plugin's threads have stopped publishing and no
   * further call to `host->publish` is made for this instance (later calls fail with
   * CITYLINK_ERR_STATE). Must not fail; must return within a few seconds.
   * [main-thread] once, only after a successful start; no on_message runs meanwhile.
   */
  void (*stop)(const citylink_instance *self);

  /*
   * Free everything the instance owns, including this struct.
   * [main-thread] exactly once, last.
   */
  void (*destroy)(const citylink_instance *self);

  /*
   * Handle one message whose topic matches one of the instance's subscriptions.
   * Never called concurrently for one instance; calls for different instances run in
   * parallel. Must not block for long: while it runs, this instance's queue fills and
   * then drops (counted). A non-OK status is logged and counted; the message is not
   * redelivered unless the subscription is durable and the message was not acked.
   * Must tolerate topics and payload schemas it does not know, and malformed bytes.
   * [dispatch-thread] only between start returning OK and stop being called.
   */
  citylink_status (*on_message)(const citylink_instance *self, const citylink_message *message,
                                citylink_error *error);

  /*
   * Look up an optional instance feature by id ("citylink.health/1"). Returns a pointer to
   * a const struct owned by the plugin, valid until destroy, or NULL.
   * [any-thread]
   */
  const void *(*get_extension)(const citylink_instance *self, const char *extension_id);

  void *reserved[8]; /* NULL; room for functions added by later minors */
};

/* ----------------------------------------------------------------------------------
 * The library entry: the one exported symbol
 * ---------------------------------------------------------------------------------- */

typedef struct citylink_entry_t {
  /* First, so the host can check it before touching anything else. */
  citylink_abi_version abi_version;
  uint32_t struct_size;

  /*
   * Prepare the library. `plugin_path` is the absolute path of the library file (to find
   * data files next to it). Returns 0 on failure, non-zero on success; on failure the
   * host logs the library as broken and calls nothing else, not even deinit.
   * [main-thread] once, first, before any other function.
   */
  int (*init)(const char *plugin_path);

  /*
   * Release what init acquired.
   * [main-thread] once, last, after every instance was destroyed.
   */
  void (*deinit)(void);

  /* Number of plugins (descriptors) the library provides. [main-thread] after init. */
  uint32_t (*plugin_count)(void);

  /*
   * Descriptor of plugin `index` (0 <= index < plugin_count), or NULL.
   * [main-thread] after init; the pointer is valid until deinit.
   */
  const citylink_descriptor *(*descriptor)(uint32_t index);

  /*
   * Create an instance of plugin `plugin_id`.
   * `host`:        the host table for this instance, valid until destroy returns.
   * `config_json`: the instance config from the city config, as a JSON object text
   *                ("{}" when none). Validate it here and fail with CITYLINK_ERR_CONFIG
   *                and a message naming the field and the fix.
   * Returns the instance, or NULL with `error` filled.
   * [main-thread] after init. The instance must not publish before start.
   */
  const citylink_instance *(*create)(const citylink_host_api *host, const char *plugin_id,
                                     const char *config_json, citylink_error *error);

  void *reserved[8]; /* NULL */
} citylink_entry_t;

/* The name of the one symbol a plugin library exports. */
#define CITYLINK_ENTRY_SYMBOL "citylink_entry"

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_ABI_H */
