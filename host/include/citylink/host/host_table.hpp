// The host table (citylink_host_api) a plugin instance calls. One implementation, used by
// in-process instances and by the worker shim; what publish and log do is the owner's.
#pragma once

#include <citylink/abi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace citylink::host {

struct HostTableHooks {
  // Queues an envelope; fills `why` when it returns an error status. Called on any plugin thread.
  std::function<citylink_status(std::string_view topic, const uint8_t* envelope, std::size_t size, std::string* why)>
      publish;
  // Empty: the host's log, prefixed with the instance id.
  std::function<void(citylink_log_level level, std::string_view message)> log;
  // Empty: no durable subscription, so only tag 0 is valid.
  std::function<citylink_status(uint64_t delivery_tag)> ack;
  std::function<citylink_status(uint64_t delivery_tag, bool requeue)> nack;
  // citylink.durable/1 (ext/durable.h); empty as ack.
  std::function<citylink_status(uint64_t delivery_tag)> progress;
};

// A plugin's threads may call the table after a failed start, after stop, even after
// destroy (H2 of the review). So a table is never freed while the process lives: its owner
// only closes it, and every call checks that. A few hundred bytes per instance ever created.
class HostTable {
 public:
  static HostTable* create(std::string instance_id, HostTableHooks hooks);

  const citylink_host_api* api() const { return &api_; }
  const std::string& instance_id() const { return id_; }
  // From now on publish fails with CITYLINK_ERR_STATE, ack and nack too, and log does
  // nothing. A call already inside a hook finishes; the hooks stay for the process's life.
  void close();
  bool alive() const;

  struct Impl;

 private:
  HostTable() = default;
  citylink_host_api api_{};
  std::string id_;
  Impl* impl_ = nullptr;
};

// The plugin's error text, or "(no message)".
std::string error_text(const citylink_error& err);

}  // namespace citylink::host
