/*
 * citylink/topics.h — topic names that are ABI, and the topic grammar. C99, header-only.
 *
 * Why constants: a topic name is part of the contract between vendors who never see each
 * other's code. A typo in a string literal compiles and silently delivers nothing; a typo
 * in a constant does not compile. A name here never changes meaning.
 *
 * Why the grammar lives here: plugins, the loader, `citylink plugin verify` and the
 * router must agree byte for byte on what a topic is and what a grant or pattern
 * matches, so there is one implementation, this one, in plain C with no allocation.
 * Every function takes an explicit length, reads no byte at or beyond it, and needs no
 * NUL terminator. All are [any-thread].
 */
#ifndef CITYLINK_TOPICS_H
#define CITYLINK_TOPICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- Topics (payload schema in brackets, package citylink.v1) --------------------- */

#define CITYLINK_TOPIC_CAMERA_INFO "camera.info"                 /* [CameraInfo] a camera's identity, position, view */
#define CITYLINK_TOPIC_CAMERA_STATUS "camera.status"             /* [CameraStatus] online/offline, stream */
#define CITYLINK_TOPIC_CAMERA_PTZ "camera.ptz"                   /* [PtzCommand] pan/tilt/zoom orders */
#define CITYLINK_TOPIC_ANALYTICS_DETECTION "analytics.detection" /* [Detection] */
#define CITYLINK_TOPIC_ANALYTICS_TRACKING "analytics.tracking"   /* [TrackingInfo] */
#define CITYLINK_TOPIC_SENSOR_READING "sensor.reading"           /* [SensorReading] */

/* Incidents from the platforms [PlatformEvent]. */
#define CITYLINK_TOPIC_INCIDENT_112 "incident.112"               /* police emergency reports */
#define CITYLINK_TOPIC_INCIDENT_119 "incident.119"               /* fire/ambulance reports */
#define CITYLINK_TOPIC_INCIDENT_DISASTER "incident.disaster"     /* disaster (flood, heat, cold) */
#define CITYLINK_TOPIC_INCIDENT_VULNERABLE "incident.vulnerable" /* vulnerable-person SOS */
#define CITYLINK_TOPIC_INCIDENT_MOJ "incident.moj"               /* Ministry of Justice (anklet) */

/* Dispatch support to agencies [DispatchSupport]. */
#define CITYLINK_TOPIC_DISPATCH_112 "dispatch.112"
#define CITYLINK_TOPIC_DISPATCH_119 "dispatch.119"
#define CITYLINK_TOPIC_DISPATCH_DISASTER "dispatch.disaster"
#define CITYLINK_TOPIC_DISPATCH_MOJ "dispatch.moj"

/* Video-share grants [VideoShareGrant]; per recipient below it: "grant.video.112". */
#define CITYLINK_TOPIC_GRANT_VIDEO "grant.video"

/* Audit trail [AuditRecord]: "audit.<area>". */
#define CITYLINK_TOPIC_AUDIT_VIDEO_GRANT "audit.video_grant"
#define CITYLINK_TOPIC_AUDIT_PERSONAL_DATA "audit.personal_data"
#define CITYLINK_TOPIC_AUDIT_ALL "audit.*" /* pattern: every audit topic */

/* --- Grammar ---------------------------------------------------------------------- */

#define CITYLINK_TOPIC_MAX 255

/*
 * A topic: 1..255 bytes of dot-separated, non-empty segments of [a-z0-9_-]
 * ("incident.112", "kr.vendor-x.feature_2", "camera"). 1 when valid, else 0.
 */
static inline int citylink_topic_is_valid(const char *topic, size_t len) {
  size_t i, segment = 0;
  if (topic == NULL || len == 0 || len > CITYLINK_TOPIC_MAX) return 0;
  for (i = 0; i < len; ++i) {
    const char c = topic[i];
    if (c == '.') {
      if (segment == 0) return 0; /* leading or double dot */
      segment = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      ++segment;
    } else {
      return 0;
    }
  }
  return segment > 0; /* no trailing dot */
}

/* Length of the topic part of a valid subtree pattern ("a.b.*" or "a.b." -> 3), else 0. */
static inline size_t citylink_topic_pattern_subtree_len_(const char *p, size_t len) {
  if (len >= 3 && p[len - 2] == '.' && p[len - 1] == '*') return citylink_topic_is_valid(p, len - 2) ? len - 2 : 0;
  if (len >= 2 && p[len - 1] == '.') return citylink_topic_is_valid(p, len - 1) ? len - 1 : 0;
  return 0;
}

/*
 * A pattern (publish grant, subscription by subtree): "*" (everything), a topic
 * ("sensor.reading": itself and its descendants), or a subtree "camera.*" / "camera."
 * (the strict descendants of "camera"). 1 when valid, else 0.
 */
static inline int citylink_topic_pattern_is_valid(const char *pattern, size_t len) {
  if (pattern == NULL) return 0;
  if (len == 1 && pattern[0] == '*') return 1;
  return citylink_topic_is_valid(pattern, len) || citylink_topic_pattern_subtree_len_(pattern, len) > 0;
}

/*
 * 1 when `topic` is matched by `pattern`, else 0 (also when the pattern is invalid).
 *   "*"            everything.
 *   "a.b.*", "a.b." the strict descendants: "a.b.x", "a.b.x.y"; not "a.b" itself.
 *   "a.b"          "a.b" and its descendants "a.b.x"; never "a.bx" or "a.b-x".
 * Matching is segment-wise, never a byte prefix. The topic is not validated here (check
 * it once with citylink_topic_is_valid where it enters); a descendant needs at least one
 * byte after the separating dot.
 */
static inline int citylink_topic_pattern_matches(const char *pattern, size_t plen, const char *topic, size_t tlen) {
  size_t base, i;
  int strict;
  if (pattern == NULL || topic == NULL) return 0;
  if (plen == 1 && pattern[0] == '*') return 1;
  base = citylink_topic_pattern_subtree_len_(pattern, plen);
  strict = base > 0;
  if (!strict) {
    if (!citylink_topic_is_valid(pattern, plen)) return 0;
    base = plen;
  }
  if (tlen < base) return 0;
  for (i = 0; i < base; ++i)
    if (pattern[i] != topic[i]) return 0;
  if (tlen == base) return !strict;
  return tlen > base + 1 && topic[base] == '.';
}

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_TOPICS_H */
