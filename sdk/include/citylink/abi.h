/*
 * citylink/abi.h — the stable C ABI between the CityLink host and a plugin library.
 *
 * C99 only. Nothing in this file may ever depend on C++. It also compiles as C11, C++17
 * and C++20 (sdk/abi_*_check.*), because vendors include it from all four.
 *
 * Contract in one paragraph
 * -------------------------
 * A plugin library exports exactly one symbol: the const data object `citylink_entry`.
 * The host reads `citylink_entry.abi_version` before it calls anything else. Then it
 * calls `init`, reads the descriptors, and creates instances. An instance lives through
 * `create -> start -> (on_message)* -> stop -> destroy`. Only C types cross the boundary:
 * fixed-width integers, UTF-8 `const char*`, and `const uint8_t*` + `size_t` holding
 * serialized `citylink.v1.Envelope` protobuf bytes. Whoever allocates frees. No exception
 * ever crosses: a failure is a `citylink_status` plus a message in a `citylink_error`.
 *
 * Versioning
 * ----------
 * `abi_version` in the entry means "this library requires a host that speaks at least
 * major.minor". The host refuses a different major, or a minor newer than its own. The C++
 * helper stamps minor 0 unless the plugin asks for more with CITYLINK_REQUIRE_ABI_MINOR(n)
 * (plugin.hpp), so a plugin merely rebuilt with newer headers, using nothing new, still
 * loads on an older host. Refusing it (GStreamer's rule) would force every vendor to keep
 * old SDKs around for old hosts. Features added after 1.0 are found at run time with
 * CITYLINK_HAS_SLOT / CITYLINK_HAS_FIELD and extensions, never by a minor gate.
 *
 * Evolution rules (one growth mechanism)
 * --------------------------------------
 *  - Every struct carries `struct_size`. A field is only ever appended behind the last
 *    one, never removed, reordered or re-typed. The reader copies min(struct_size, sizeof)
 *    and treats the rest as zero, so an old plugin works with a new host and the reverse.
 *    Zero / NULL always means "absent".
 *  - There are no reserved fields. Reserved arrays were a second growth mechanism with a
 *    trap in it: a reader cannot tell a reserved slot that an old writer left as garbage
 *    from one a new writer gave a meaning, so "must be zero" would have to be enforced
 *    forever. Appending behind `struct_size` has no such ambiguity and costs nothing.
 *  - `citylink_host_api` is an append-only function table (like sqlite3ext.h): test
 *    `CITYLINK_HAS_SLOT(api, slot)` before calling a slot added after 1.0.
 *  - Optional features are extensions looked up by a string id that carries its revision
 *    ("citylink.timer/1", "kr.vendor.feature/2", drafts "citylink.timer.draft/1"; grammar
 *    in ext/extension_id.h). An id never changes meaning; a new meaning gets a new id. An
 *    extension struct holds function pointers only, never data pointers into the other
 *    side's memory, so any extension can be forwarded to a plugin in a worker process.
 *  - Adding a slot, a field, a status code, a message flag or an extension bumps the
 *    minor version (callers treat an unknown non-zero status as an error and unknown flag
 *    bits as absent). Anything else bumps the major version, which every plugin then has
 *    to be rebuilt for. docs/abi-history.md lists, per slot and field, since when.
 *  - The layout is frozen by the static assertions at the end of this file (LP64).
 *
 * Thread tags used below
 * ----------------------
 *  [main-thread]     the host thread that loads libraries and manages instances
 *                    (never a dispatch thread, never a plugin-owned thread). The host
 *                    may run such a call on a helper thread of its own while it waits
 *                    with a bound; never two at once, nor one during an on_message, so
 *                    keep no thread-local state between them.
 *  [dispatch-thread] the one host thread that belongs to an instance; the host never
 *                    calls two functions of the same instance at the same time.
 *  [any-thread]      any thread, including threads the plugin created itself.
 */
#ifndef CITYLINK_ABI_H
#define CITYLINK_ABI_H

#include <citylink/version.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------------------------
 * Compiler glue
 * ---------------------------------------------------------------------------------- */

/* Makes the one entry symbol visible from a library built with hidden visibility. */
#if defined(_WIN32) || defined(__CYGWIN__)
#define CITYLINK_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define CITYLINK_EXPORT __attribute__((visibility("default")))
#else
#define CITYLINK_EXPORT
#endif

/* A compile-time check usable at file scope in C99, C11 and C++. */
#if defined(__cplusplus)
#define CITYLINK_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define CITYLINK_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
/*
 * C99 has no static assertion: an array of negative size fails to compile instead. The
 * typedef needs a name unique in the translation unit (C99 forbids redefining a typedef):
 * __COUNTER__ where the compiler has it (GCC, Clang, MSVC), else the line number.
 */
#define CITYLINK_STATIC_ASSERT_CAT2(a, b) a##b
#define CITYLINK_STATIC_ASSERT_CAT(a, b) CITYLINK_STATIC_ASSERT_CAT2(a, b)
#if defined(__COUNTER__)
#define CITYLINK_STATIC_ASSERT_ID __COUNTER__
#else
#define CITYLINK_STATIC_ASSERT_ID __LINE__
#endif
#define CITYLINK_STATIC_ASSERT(cond, msg) \
  typedef char CITYLINK_STATIC_ASSERT_CAT(citylink_static_assert_, CITYLINK_STATIC_ASSERT_ID)[(cond) ? 1 : -1]
#endif

/* ----------------------------------------------------------------------------------
 * Versions
 * ---------------------------------------------------------------------------------- */

/* The ABI this header describes. A host speaks one major and every minor up to its own. */
#define CITYLINK_ABI_VERSION_MAJOR 1u
#define CITYLINK_ABI_VERSION_MINOR 1u

typedef struct citylink_abi_version {
  uint32_t major; /* incompatible when different */
  uint32_t minor; /* in a plugin: the host minor it requires; in a host: the minor it speaks */
} citylink_abi_version;

/*
 * Initializer for `citylink_entry.abi_version` in a plugin written in C: the major of
 * these headers and the minor the plugin requires. Use 0 unless the plugin cannot work
 * without something added in 1.m; never CITYLINK_ABI_VERSION_MINOR by reflex, or the
 * plugin is refused by every older host for no reason.
 */
#define CITYLINK_ABI_VERSION_INIT(required_minor) {CITYLINK_ABI_VERSION_MAJOR, (required_minor)}

/* True when a struct that claims `struct_size` bytes contains `field` in full. */
#define CITYLINK_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* True when the host function table has slot `slot` (a slot added after 1.0 may be missing). */
#define CITYLINK_HAS_SLOT(api, slot) \
  (CITYLINK_HAS_FIELD((api), citylink_host_api, slot) && (api)->slot != NULL)

/* ----------------------------------------------------------------------------------
 * Status codes and error messages
 * ---------------------------------------------------------------------------------- */

/* An int32_t, not an enum type: the size of an enum is the compiler's choice. */
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
 *
 * The caller owns it (usually on its stack), zero-fills it and sets `struct_size` to the
 * number of bytes it really provides. The one rule for every callee, host or plugin:
 * write `code`, and at most `struct_size - offsetof(citylink_error, message)` bytes of
 * `message` (never more than CITYLINK_ERROR_MESSAGE_MAX), always NUL-terminated, cut on
 * a UTF-8 character boundary. A callee must accept a NULL `citylink_error*` and must not
 * keep the pointer after it returns. citylink_set_error() below implements the rule; use
 * it rather than strcpy.
 */
typedef struct citylink_error {
  uint32_t struct_size;
  citylink_status code;
  char message[CITYLINK_ERROR_MESSAGE_MAX];
} citylink_error;

/*
 * Fills `error` under the rule above. Does nothing when `error` is NULL; writes only the
 * code when the caller's struct has no room for a message. `message` NULL means "".
 * [any-thread]
 */
static inline void citylink_set_error(citylink_error *error, citylink_status code, const char *message) {
  size_t room, n;
  if (error == NULL || error->struct_size < offsetof(citylink_error, code) + sizeof(error->code)) return;
  error->code = code;
  if (error->struct_size <= offsetof(citylink_error, message)) return;
  room = (size_t)error->struct_size - offsetof(citylink_error, message);
  if (room > CITYLINK_ERROR_MESSAGE_MAX) room = CITYLINK_ERROR_MESSAGE_MAX;
  n = 0;
  if (message != NULL)
    while (n + 1 < room && message[n] != '\0') ++n;
  /* A cut inside a multi-byte character would leave invalid UTF-8 for the log: back off. */
  if (message != NULL && message[n] != '\0')
    while (n > 0 && ((unsigned char)message[n] & 0xC0u) == 0x80u) --n;
  {
    size_t i;
    for (i = 0; i < n; ++i) error->message[i] = message[i];
  }
  error->message[n] = '\0';
}

/* ----------------------------------------------------------------------------------
 * Descriptor: what a plugin is, readable without starting it
 * ---------------------------------------------------------------------------------- */

/*
 * Owned by the plugin library; valid from `init` returning until the matching `deinit`.
 * Lists are NULL-terminated arrays of NUL-terminated strings; NULL means empty.
 * Kinds, topics and the features the platform knows are constants in citylink/kinds.h
 * and citylink/topics.h.
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
  /*
   * What it can do beyond its kind, as dotted lower-case words, e.g. a camera with
   * on-board analytics: {"analytics.detection", "ptz", NULL}. Lets a city pick plugins by
   * capability without a second kind. NULL means none.
   */
  const char *const *features;
} citylink_descriptor;

/* ----------------------------------------------------------------------------------
 * Host services handed to an instance
 * ---------------------------------------------------------------------------------- */

/* An int32_t with constants, never an enum type (see citylink_status). */
typedef int32_t citylink_log_level;
#define CITYLINK_LOG_TRACE 0
#define CITYLINK_LOG_DEBUG 1
#define CITYLINK_LOG_INFO 2
#define CITYLINK_LOG_WARN 3
#define CITYLINK_LOG_ERROR 4

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
   * `topic`: dotted, lower case, e.g. "sensor.reading" (citylink/topics.h); must lie
   *          inside the instance's publish grants (the descriptor's `publishes` unless the
   *          city config says otherwise).
   * `envelope`/`envelope_size`: a serialized citylink.v1.Envelope. The plugin fills
   *          `schema`, `payload`, and optionally `correlation_id` and `attributes`. The
   *          host stamps `id`, `source`, `time` and `origin`; values the plugin put there
   *          are replaced. The bytes are copied before the call returns.
   * Returns CITYLINK_OK when the message was queued for the router. The router may
   * still reject it (grants, size, parse); that is counted and logged, never silent.
   * Returns CITYLINK_ERR_BACKPRESSURE when the instance's outgoing queue is full (the
   * message is dropped and counted), CITYLINK_ERR_STATE before `start` is entered or
   * after `stop` returned.
   * Telemetry (topics outside the city's critical class) is held to the instance's
   * `publish_rate` (city config, default 10,000 messages a second): over it, the call
   * sleeps until the instance's turn when that is within 1 ms and then queues the message,
   * or sleeps 1 ms and returns CITYLINK_ERR_BACKPRESSURE (not sent, counted). Critical
   * topics (incident.*, dispatch.*, grant.* by default) are never limited.
   * [any-thread] Never blocks on a subscriber; over the publish_rate, returns within 1 ms.
   */
  citylink_status (*publish)(const citylink_host_api *host, const char *topic,
                             const uint8_t *envelope, size_t envelope_size, citylink_error *error);

  /*
   * Write one line to the host log, tagged with the instance id. `level` is one of
   * CITYLINK_LOG_*; an unknown level is logged as INFO.
   * [any-thread] from create until destroy returns.
   */
  void (*log)(const citylink_host_api *host, citylink_log_level level, const char *message);

  /*
   * Look up an optional host service by id ("citylink.timer/1"). Returns a pointer to a
   * const struct of function pointers owned by the host, valid until `destroy`, or NULL
   * when not provided.
   * [any-thread] from create until destroy returns.
   */
  const void *(*get_extension)(const citylink_host_api *host, const char *extension_id);

  /*
   * The instance id the city config gave this instance ("water-level-gangnam-1").
   * Owned by the host, valid until `destroy`.
   * [any-thread] from create until destroy returns.
   */
  const char *(*instance_id)(const citylink_host_api *host);

  /*
   * Durable delivery.
   * A message delivered on a durable subscription carries a non-zero `delivery_tag`.
   * Tags are opaque: compare them only for equality, never derive anything from their
   * value. A tag names one delivery, not one message: when a message is redelivered it
   * comes with a new tag and `redelivery_count` one higher, and the old tag is dead.
   * The host keeps the message until the plugin acks it, and redelivers it after a
   * timeout, a nack with requeue, a restart of the instance or a restart of the host.
   * After N deliveries that ended without an ack while it was the oldest message waiting
   * (a timeout, a nack with requeue, a lost worker, a host crash; N is set per durable
   * subscription by the city config; messages resent behind it only to keep the order are
   * not counted) the message is a poison message: it is moved to the dead-letter store,
   * logged and counted, and never delivered again. Receivers de-duplicate by envelope `id`.
   * The C++ helper acks after a normal on_message return unless the plugin chose manual
   * acks (Plugin::manual_acks() in plugin.hpp).
   *
   * `ack`: the message was handled; forget it. Acking tag 0 (a non-durable delivery), or a
   * tag already acked, nacked or superseded by a redelivery is CITYLINK_OK and does
   * nothing. A tag never handed to this instance is CITYLINK_ERR_INVALID_ARGUMENT.
   * [any-thread] from the on_message call that delivered the tag until destroy returns.
   */
  citylink_status (*ack)(const citylink_host_api *host, uint64_t delivery_tag);

  /* Slots added by later minor versions go below, and only there. */

  /*
   * `nack`: the message was not handled. `requeue` non-zero: deliver it again (with a new
   * tag; this counts towards N). `requeue` zero: this message can never be handled (bad
   * bytes, a payload the plugin refuses); dead-letter it now. Tags 0, stale or unknown
   * behave as for `ack`. Since 1.0; a host without it leaves the message unacked, which
   * ends in a redelivery after the timeout, so a plugin may simply skip the call.
   * [any-thread] from the on_message call that delivered the tag until destroy returns.
   */
  citylink_status (*nack)(const citylink_host_api *host, uint64_t delivery_tag, int32_t requeue);
};

/* ----------------------------------------------------------------------------------
 * A message delivered to an instance
 * ---------------------------------------------------------------------------------- */

#define CITYLINK_MESSAGE_REDELIVERED 0x1u /* seen before (redelivery_count > 0): de-duplicate by envelope id */

/* Owned by the host; valid only during the `on_message` call it is passed to. */
typedef struct citylink_message {
  uint32_t struct_size;
  uint32_t flags;            /* CITYLINK_MESSAGE_* bits; unknown bits mean nothing */
  const char *topic;         /* NUL-terminated */
  const uint8_t *envelope;   /* serialized citylink.v1.Envelope, stamped by the host */
  size_t envelope_size;
  uint64_t delivery_tag;     /* 0: not durable. Otherwise pass to host->ack / host->nack */
  uint32_t redelivery_count; /* earlier deliveries of this message to this subscription */
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
   * Start is all or nothing: what is published before it returns is held by the host and
   * sent only when it returns CITYLINK_OK; on failure it is discarded (and counted).
   * A failure keeps the instance in the created state; the host will only `destroy` it.
   * [main-thread] once, after create.
   */
  citylink_status (*start)(const citylink_instance *self, citylink_error *error);

  /*
   * Stop work. When it returns the plugin's threads have stopped publishing and no
   * further call to `host->publish` is made for this instance (later calls fail with
   * CITYLINK_ERR_STATE). Must not fail; must return within a few seconds. Idempotent:
   * a second call returns at once without effect (the host calls it once; a supervisor
   * or a tool may call it again; the C++ helper guarantees this for its plugins).
   * [main-thread] only after a successful start; no on_message runs meanwhile.
   */
  void (*stop)(const citylink_instance *self);

  /*
   * Free everything the instance owns, including this struct. No thread the instance
   * started may still run when it returns: the library may be unloaded right after.
   * [main-thread] exactly once, last.
   */
  void (*destroy)(const citylink_instance *self);

  /*
   * Handle one message whose topic matches one of the instance's subscriptions.
   * Never called concurrently for one instance; calls for different instances run in
   * parallel. Must not block for long: while it runs, this instance's queue fills and
   * then drops (counted). A non-OK status is logged and counted; on a durable
   * subscription the message stays unacked unless the plugin acked or nacked it.
   * Must tolerate topics and payload schemas it does not know, and malformed bytes.
   * NULL: the instance subscribes to nothing.
   * [dispatch-thread] only between start returning OK and stop being called.
   */
  citylink_status (*on_message)(const citylink_instance *self, const citylink_message *message,
                                citylink_error *error);

  /*
   * Look up an optional instance feature by id ("citylink.health/1"). Returns a pointer to
   * a const struct of function pointers owned by the plugin, valid until destroy, or NULL.
   * [any-thread] from create returning until destroy.
   */
  const void *(*get_extension)(const citylink_instance *self, const char *extension_id);
};

/* ----------------------------------------------------------------------------------
 * The library entry: the one exported symbol
 * ---------------------------------------------------------------------------------- */

typedef struct citylink_entry_t {
  /* First, so the host can check it before touching anything else. */
  citylink_abi_version abi_version; /* the host ABI this library requires (see Versioning) */
  uint32_t struct_size;

  /*
   * Prepare the library. `plugin_path` is the absolute path of the library file (to find
   * data files next to it); copy it if you keep it. Returns CITYLINK_OK on success;
   * anything else with `error` filled (citylink_set_error), and then the host refuses the
   * library and logs the reason.
   *
   * Reference-counted and idempotent: the host (or several hosts sharing one process, or
   * a worker shim) may call init more than once, and calls deinit exactly once per init
   * that returned CITYLINK_OK. The library sets itself up on the first successful init and
   * tears down on the matching last deinit; the calls between only count. A failed init
   * counts nothing and is never followed by a deinit for it.
   * [main-thread] before any other function but abi_version; never concurrently with
   * another entry function of this library.
   */
  citylink_status (*init)(const char *plugin_path, citylink_error *error);

  /*
   * Release what init acquired, once the count of successful inits drops to zero. A
   * deinit without an outstanding init does nothing.
   * [main-thread] once per successful init, after every instance created since that init
   * was destroyed (the last deinit comes after every instance was destroyed).
   */
  void (*deinit)(void);

  /* Number of plugins (descriptors) the library provides. [main-thread] after init. */
  uint32_t (*plugin_count)(void);

  /*
   * Descriptor of plugin `index` (0 <= index < plugin_count), or NULL.
   * [main-thread] after init; the pointer is valid until the last deinit.
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

  /*
   * A factory by id, e.g. CITYLINK_PLUGIN_FACTORY_ID (ext/plugin_factory.h), or NULL when
   * the library does not provide it. Returns a const struct of function pointers owned by
   * the library, valid until the last deinit. Every factory function takes the factory
   * itself as first argument, so one shim binary (worker wrapper, Python runner, bridge)
   * can hand out several factories, each serving another plugin set, and find its own
   * state from the pointer. plugin_count/descriptor/create above stay the default path;
   * a host that knows no factories never calls this.
   * NULL slot: no factories. [main-thread] after init.
   */
  const void *(*get_factory)(const char *factory_id);
} citylink_entry_t;

/* The name of the one symbol a plugin library exports. */
#define CITYLINK_ENTRY_SYMBOL "citylink_entry"

/*
 * The one symbol. Defined by the plugin (CITYLINK_PLUGIN_LIBRARY in C++, by hand in C:
 * `CITYLINK_EXPORT const citylink_entry_t citylink_entry = {...};`); the host never
 * links against it, it looks it up with dlsym. Declared here so a definition with the
 * wrong type or linkage fails to compile instead of failing to load.
 */
CITYLINK_EXPORT extern const citylink_entry_t citylink_entry;

/* ----------------------------------------------------------------------------------
 * Frozen layout (LP64: Linux and macOS on x86-64 and aarch64)
 *
 * A change that trips one of these is an ABI break: append instead (see Evolution
 * rules), and add the new field's assertion here and its line in docs/abi-history.md.
 * ---------------------------------------------------------------------------------- */

#if defined(__LP64__) || defined(_LP64)
CITYLINK_STATIC_ASSERT(sizeof(citylink_abi_version) == 8, "citylink_abi_version layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_abi_version, major) == 0, "citylink_abi_version layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_abi_version, minor) == 4, "citylink_abi_version layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_error) == 520, "citylink_error layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_error, struct_size) == 0, "citylink_error layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_error, code) == 4, "citylink_error layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_error, message) == 8, "citylink_error layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_descriptor) == 96, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, struct_size) == 0, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, id) == 8, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, name) == 16, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, vendor) == 24, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, version) == 32, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, kind) == 40, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, description) == 48, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, publishes) == 56, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, subscribes) == 64, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, config_schema) == 72, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, extensions) == 80, "citylink_descriptor layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_descriptor, features) == 88, "citylink_descriptor layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_host_api) == 72, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, struct_size) == 0, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, abi_version) == 4, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, host_data) == 16, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, publish) == 24, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, log) == 32, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, get_extension) == 40, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, instance_id) == 48, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, ack) == 56, "citylink_host_api layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_api, nack) == 64, "citylink_host_api layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_message) == 48, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, struct_size) == 0, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, flags) == 4, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, topic) == 8, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, envelope) == 16, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, envelope_size) == 24, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, delivery_tag) == 32, "citylink_message layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_message, redelivery_count) == 40, "citylink_message layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_instance) == 64, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, struct_size) == 0, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, descriptor) == 8, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, plugin_data) == 16, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, start) == 24, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, stop) == 32, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, destroy) == 40, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, on_message) == 48, "citylink_instance layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_instance, get_extension) == 56, "citylink_instance layout");

CITYLINK_STATIC_ASSERT(sizeof(citylink_entry_t) == 64, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, abi_version) == 0, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, struct_size) == 8, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, init) == 16, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, deinit) == 24, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, plugin_count) == 32, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, descriptor) == 40, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, create) == 48, "citylink_entry_t layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_entry_t, get_factory) == 56, "citylink_entry_t layout");
#endif /* LP64 */

/* The SDK release and the ABI it ships must agree (see citylink/version.h). */
CITYLINK_STATIC_ASSERT(CITYLINK_SDK_VERSION_MAJOR == CITYLINK_ABI_VERSION_MAJOR, "SDK major is the ABI major");
CITYLINK_STATIC_ASSERT(CITYLINK_SDK_VERSION_MINOR == CITYLINK_ABI_VERSION_MINOR, "SDK minor is the ABI minor");

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_ABI_H */
