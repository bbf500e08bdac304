/*
 * citylink/kinds.h — plugin kinds (citylink_descriptor.kind) that are ABI. C99.
 *
 * A kind says what a plugin is, so a city config, `inspect` and the console can group and
 * check plugins without knowing the vendor. The host knows these; any other kind loads
 * with a warning. What a plugin can do beyond its kind goes into the descriptor's
 * `features` list, not into a new kind (a camera with on-board analytics is a "camera"
 * with the feature "analytics.detection").
 */
#ifndef CITYLINK_KINDS_H
#define CITYLINK_KINDS_H

/* Product plugins a vendor ships. */
#define CITYLINK_KIND_CAMERA "camera"       /* CCTV: publishes camera.info/status, takes camera.ptz */
#define CITYLINK_KIND_ANALYTICS "analytics" /* video or data analytics: analytics.*, incidents */
#define CITYLINK_KIND_SENSOR "sensor"       /* environment sensors: sensor.reading */
#define CITYLINK_KIND_WEARABLE "wearable"   /* personal devices: SOS and positions */
#define CITYLINK_KIND_BRIDGE "bridge"       /* a link to another platform or another city */
#define CITYLINK_KIND_SINK "sink"           /* consumers: consoles, agency links, archives */

/* Kinds the platform itself and its tests use. */
#define CITYLINK_KIND_SOURCE "source"     /* feeds of platform events (incident.*) */
#define CITYLINK_KIND_AGENCY "agency"     /* an agency's own system */
#define CITYLINK_KIND_SCENARIO "scenario" /* scenario logic in a plugin */
#define CITYLINK_KIND_TEST "test"         /* test fixtures; never in a real city */

#endif /* CITYLINK_KINDS_H */
