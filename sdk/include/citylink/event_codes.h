/*
 * citylink/event_codes.h — platform event codes (citylink.v1.PlatformEvent.event_code)
 * that are ABI. C99.
 *
 * The codes are the national smart-city platform's own; they are what agencies key on,
 * so they are spelled once, here. A code never changes meaning; the scenario that acts on
 * each is in docs/scenarios.md.
 */
#ifndef CITYLINK_EVENT_CODES_H
#define CITYLINK_EVENT_CODES_H

#define CITYLINK_EVENT_112_REPORT "112UC001"         /* 112 emergency report: video to 112 */
#define CITYLINK_EVENT_112_DISPATCH "112UC120"       /* 112 dispatch order: support to patrols */
#define CITYLINK_EVENT_119_REPORT "119UC001"         /* 119 fire/ambulance report */
#define CITYLINK_EVENT_DISASTER "DUCDP110"           /* disaster response (flood, heat, cold) */
#define CITYLINK_EVENT_VULNERABLE_SOS "WPSSF110"     /* vulnerable-person SOS */
#define CITYLINK_EVENT_MOJ_ANKLET "MOJUC110"         /* electronic-anklet violation (Ministry of Justice) */

/* The same codes under their literal names, for code that mirrors the platform's documents. */
#define CITYLINK_EVENT_112UC001 CITYLINK_EVENT_112_REPORT
#define CITYLINK_EVENT_112UC120 CITYLINK_EVENT_112_DISPATCH
#define CITYLINK_EVENT_119UC001 CITYLINK_EVENT_119_REPORT
#define CITYLINK_EVENT_DUCDP110 CITYLINK_EVENT_DISASTER
#define CITYLINK_EVENT_WPSSF110 CITYLINK_EVENT_VULNERABLE_SOS
#define CITYLINK_EVENT_MOJUC110 CITYLINK_EVENT_MOJ_ANKLET

#endif /* CITYLINK_EVENT_CODES_H */
