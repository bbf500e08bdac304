/*
 * citylink/ext/durable.h — "citylink.durable/1": a host extension for plugins that hold
 * durable deliveries while a slow receiver handles them. C99.
 *
 * Why: the host redelivers what is not acked within the subscription's
 * `durable.ack_timeout_ms`, and counts a strike on the oldest each time; enough strikes
 * make a dead letter (abi.h, ack). That protects against a plugin that lost a delivery. A
 * plugin that forwards to someone else (an agency link, a bridge) has not lost anything
 * while its receiver is down: it is still resending. `progress` says so, so a receiver's
 * outage neither redelivers nor dead-letters, however long it lasts, while a plugin that
 * stops calling it (hung, or lost it) is redelivered as before. Like NATS JetStream's
 * "in progress" ack and SQS's visibility timeout.
 *
 * Found with get_extension(host, CITYLINK_EXT_DURABLE); NULL from a host without it (then
 * size ack_timeout_ms x max_deliveries above the outages you ride out, docs/delivery.md).
 * Like every extension struct it holds function pointers only (ext/extension_id.h).
 */
#ifndef CITYLINK_EXT_DURABLE_H
#define CITYLINK_EXT_DURABLE_H

#include <citylink/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CITYLINK_EXT_DURABLE "citylink.durable/1"

typedef struct citylink_host_durable citylink_host_durable;

struct citylink_host_durable {
  /*
   * The plugin still holds this delivery and is working on it: its ack timeout starts
   * again from now. No redelivery and no strike while the plugin calls this at least once
   * per `durable.ack_timeout_ms` and the instance lives; a restart of the instance, a lost
   * worker or a host restart redelivers it as usual. Returns CITYLINK_OK, also for tag 0
   * and for a tag already acked, nacked or superseded (nothing to do), and
   * CITYLINK_ERR_INVALID_ARGUMENT for a tag never handed to this instance.
   * [any-thread] from the on_message call that delivered the tag until destroy returns.
   */
  citylink_status (*progress)(const citylink_host_api *host, uint64_t delivery_tag);
};

#if defined(__LP64__) || defined(_LP64)
CITYLINK_STATIC_ASSERT(sizeof(citylink_host_durable) == 8, "citylink_host_durable layout");
CITYLINK_STATIC_ASSERT(offsetof(citylink_host_durable, progress) == 0, "citylink_host_durable layout");
#endif

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_EXT_DURABLE_H */
