/*
 * Riverwatch water-level gauge: a vendor's C99 sensor product as a CityLink plugin, written
 * against abi.h and protobuf-c only. Between start and stop, a thread publishes one
 * SensorReading (kind "water_level", metres) on sensor.reading every `interval_ms`.
 *
 * Config (JSON object, all optional): {"sensor_id": "RW-001", "interval_ms": 1000}
 */
#define _POSIX_C_SOURCE 200809L
#include <citylink/abi.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <citylink/v1/envelope.pb-c.h>
#include <citylink/v1/sensor.pb-c.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GAUGE_ID "com.example.riverwatch.gauge"

static const char *const publishes[] = {CITYLINK_TOPIC_SENSOR_READING, NULL};

static const citylink_descriptor descriptor = {
    sizeof(citylink_descriptor),
    GAUGE_ID,
    "Riverwatch water-level gauge",
    "Riverwatch Instruments",
    "1.0.0",
    CITYLINK_KIND_SENSOR,
    "Publishes the river water level (SensorReading, metres) on sensor.reading at a fixed interval.",
    publishes,
    NULL, /* subscribes to nothing */
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"sensor_id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":63},"
    "\"interval_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":3600000}}}",
    NULL,
    NULL};

typedef struct gauge {
  citylink_instance self; /* first, so a citylink_instance* is a gauge* */
  const citylink_host_api *host;
  char sensor_id[64];
  long interval_ms;
  pthread_t thread;
  int running;
  int stopping;
  pthread_mutex_t mu;
  pthread_cond_t wake;
} gauge;

/* --- config: a flat JSON object of the two known keys; anything else is refused ------- */

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
  return p;
}

/* A JSON string without escapes into out[size]; returns the char after it, or NULL. */
static const char *read_string(const char *p, char *out, size_t size) {
  size_t n = 0;
  if (*p++ != '"') return NULL;
  while (*p && *p != '"' && *p != '\\') {
    if (n + 1 >= size) return NULL;
    out[n++] = *p++;
  }
  out[n] = '\0';
  return *p == '"' ? p + 1 : NULL;
}

static int parse_config(gauge *g, const char *json, citylink_error *err) {
  char key[32], value[64];
  const char *p = skip_ws(json ? json : "{}");
  if (*p++ != '{') goto bad;
  p = skip_ws(p);
  if (*p == '}') return 1;
  for (;;) {
    if (!(p = read_string(p, key, sizeof key))) goto bad;
    p = skip_ws(p);
    if (*p++ != ':') goto bad;
    p = skip_ws(p);
    if (strcmp(key, "sensor_id") == 0) {
      if (!(p = read_string(p, value, sizeof value)) || value[0] == '\0') goto bad;
      strcpy(g->sensor_id, value);
    } else if (strcmp(key, "interval_ms") == 0) {
      char *end;
      errno = 0;
      g->interval_ms = strtol(p, &end, 10);
      if (end == p || errno || g->interval_ms < 10 || g->interval_ms > 3600000) goto bad;
      p = end;
    } else {
      goto bad;
    }
    p = skip_ws(p);
    if (*p == '}') return *skip_ws(p + 1) == '\0';
    if (*p++ != ',') goto bad;
    p = skip_ws(p);
  }
bad:
  citylink_set_error(err, CITYLINK_ERR_CONFIG,
                     "config must be a JSON object with only \"sensor_id\" (a string of 1 to 63 characters, "
                     "no escapes) and \"interval_ms\" (an integer from 10 to 3600000), e.g. "
                     "{\"sensor_id\":\"RW-001\",\"interval_ms\":1000}");
  return 0;
}

/* --- publishing ------------------------------------------------------------------- */

static void publish_reading(gauge *g, double level_m) {
  struct timespec now;
  Citylink__V1__GeoPoint where = CITYLINK__V1__GEO_POINT__INIT;
  Citylink__V1__SensorReading r = CITYLINK__V1__SENSOR_READING__INIT;
  Citylink__V1__Envelope env = CITYLINK__V1__ENVELOPE__INIT;
  uint8_t payload[256], bytes[512];
  citylink_error err;
  citylink_status st;

  clock_gettime(CLOCK_REALTIME, &now);
  where.lat = 37.5283;
  where.lon = 127.0107;
  r.sensor_id = g->sensor_id;
  r.kind = "water_level";
  r.value = level_m;
  r.unit = "m";
  r.position = &where;
  r.time_unix_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  r.zone = "river:hangang-jamsu";
  if (citylink__v1__sensor_reading__get_packed_size(&r) > sizeof payload) return;
  env.topic = CITYLINK_TOPIC_SENSOR_READING;
  env.schema = (char *)citylink__v1__sensor_reading__descriptor.name; /* "citylink.v1.SensorReading" */
  env.payload.data = payload;
  env.payload.len = citylink__v1__sensor_reading__pack(&r, payload);
  if (citylink__v1__envelope__get_packed_size(&env) > sizeof bytes) return;

  memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  st = g->host->publish(g->host, CITYLINK_TOPIC_SENSOR_READING, bytes, citylink__v1__envelope__pack(&env, bytes), &err);
  if (st != CITYLINK_OK) {
    char line[sizeof err.message + 64];
    snprintf(line, sizeof line, "reading not published (status %d): %s", (int)st, err.message);
    g->host->log(g->host, CITYLINK_LOG_WARN, line);
  }
}

static void *run(void *arg) {
  gauge *g = arg;
  unsigned n = 0;
  pthread_mutex_lock(&g->mu);
  while (!g->stopping) {
    struct timespec until;
    pthread_mutex_unlock(&g->mu);
    publish_reading(g, 1.20 + 0.01 * (double)(n++ % 40)); /* rises 40 cm, then starts again */
    pthread_mutex_lock(&g->mu);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += g->interval_ms / 1000;
    until.tv_nsec += (g->interval_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    while (!g->stopping && pthread_cond_timedwait(&g->wake, &g->mu, &until) != ETIMEDOUT) {
    }
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

/* --- the instance ------------------------------------------------------------------ */

static citylink_status gauge_start(const citylink_instance *self, citylink_error *err) {
  gauge *g = (gauge *)self->plugin_data;
  g->stopping = 0;
  if (pthread_create(&g->thread, NULL, run, g) != 0) {
    citylink_set_error(err, CITYLINK_ERR_INTERNAL, "cannot start the publishing thread");
    return CITYLINK_ERR_INTERNAL;
  }
  g->running = 1;
  return CITYLINK_OK;
}

/* Idempotent. When it returns the thread has ended, so nothing publishes any more. */
static void gauge_stop(const citylink_instance *self) {
  gauge *g = (gauge *)self->plugin_data;
  if (!g->running) return;
  pthread_mutex_lock(&g->mu);
  g->stopping = 1;
  pthread_cond_signal(&g->wake);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->thread, NULL);
  g->running = 0;
}

static void gauge_destroy(const citylink_instance *self) {
  gauge *g = (gauge *)self->plugin_data;
  gauge_stop(self);
  pthread_cond_destroy(&g->wake);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

static const void *gauge_extension(const citylink_instance *self, const char *id) {
  (void)self;
  (void)id;
  return NULL;
}

static const citylink_instance *gauge_create(const citylink_host_api *host, const char *plugin_id,
                                             const char *config_json, citylink_error *err) {
  gauge *g;
  if (plugin_id == NULL || strcmp(plugin_id, GAUGE_ID) != 0) {
    citylink_set_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "this library provides " GAUGE_ID " only");
    return NULL;
  }
  g = calloc(1, sizeof *g);
  if (g == NULL) {
    citylink_set_error(err, CITYLINK_ERR_INTERNAL, "out of memory");
    return NULL;
  }
  strcpy(g->sensor_id, "RW-001");
  g->interval_ms = 1000;
  if (!parse_config(g, config_json, err)) {
    free(g);
    return NULL;
  }
  g->host = host;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->wake, NULL);
  g->self.struct_size = sizeof g->self;
  g->self.descriptor = &descriptor;
  g->self.plugin_data = g;
  g->self.start = gauge_start;
  g->self.stop = gauge_stop;
  g->self.destroy = gauge_destroy;
  g->self.on_message = NULL; /* subscribes to nothing */
  g->self.get_extension = gauge_extension;
  return &g->self;
}

/* --- the library ------------------------------------------------------------------- */

static unsigned init_count; /* init/deinit are reference-counted (abi.h); nothing to set up here */

static citylink_status gauge_init(const char *plugin_path, citylink_error *err) {
  (void)plugin_path;
  (void)err;
  ++init_count;
  return CITYLINK_OK;
}
static void gauge_deinit(void) {
  if (init_count > 0) --init_count;
}
static uint32_t gauge_count(void) { return 1; }
static const citylink_descriptor *gauge_descriptor(uint32_t i) { return i == 0 ? &descriptor : NULL; }

/* The one exported symbol. {1, 0}: requires a host of ABI 1.0 or newer. */
CITYLINK_EXPORT const citylink_entry_t citylink_entry = {
    {CITYLINK_ABI_VERSION_MAJOR, 0}, sizeof(citylink_entry_t), gauge_init,   gauge_deinit,
    gauge_count,                     gauge_descriptor,         gauge_create, NULL};
