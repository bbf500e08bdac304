// The plugin's C struct, called on the host's threads.
#include "in_process_backend.hpp"

#include <citylink/host/error.hpp>
#include <citylink/host/host_table.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/router.hpp>

#include <cstddef>

namespace citylink::host {

namespace {

class InProcessBackend final : public InstanceBackend {
 public:
  InProcessBackend(std::shared_ptr<PluginLibrary> library, const std::string& plugin_id, const std::string& id,
                   const std::string& config_json, const std::string& who, std::shared_ptr<Publisher> publisher,
                   std::shared_ptr<InstanceCounters> counters, DeliveryHooks delivery)
      : library_(std::move(library)), id_(id), counters_(std::move(counters)) {
    HostTableHooks hooks;
    hooks.publish = [publisher](std::string_view topic, const uint8_t* envelope, std::size_t size, std::string* why) {
      return publisher->publish(topic, envelope, size, why);
    };
    hooks.ack = std::move(delivery.ack);
    hooks.nack = std::move(delivery.nack);
    table_ = HostTable::create(id, std::move(hooks));
    citylink_error err{};
    err.struct_size = sizeof(err);
    instance_ = library_->entry().create(table_->api(), plugin_id.c_str(), config_json.c_str(), &err);
    if (!instance_) {
      table_->close();
      throw InstanceError(who + ": create failed: " + error_text(err));
    }
    if (instance_->struct_size < offsetof(citylink_instance, get_extension) || !instance_->start ||
        !instance_->stop || !instance_->destroy) {
      if (instance_->destroy) instance_->destroy(instance_);
      instance_ = nullptr;
      table_->close();
      throw InstanceError(who + ": the instance struct returned by create is incomplete; rebuild the plugin with "
                                "the CityLink SDK");
    }
  }
  ~InProcessBackend() override { destroy(); }

  bool receives() const override { return instance_ && instance_->on_message; }

  citylink_status start(std::string& error) override {
    citylink_error err{};
    err.struct_size = sizeof(err);
    const citylink_status st = instance_->start(instance_, &err);
    if (st != CITYLINK_OK) error = error_text(err);
    return st;
  }

  bool deliver(const Delivery& d) override {
    citylink_message msg{};
    msg.struct_size = sizeof(msg);
    msg.topic = d.topic.data();  // NUL-terminated (see Delivery)
    msg.envelope = d.envelope;
    msg.envelope_size = d.size;
    msg.delivery_tag = d.delivery_tag;
    msg.redelivery_count = d.redelivery_count;
    if (d.redelivery_count > 0) msg.flags |= CITYLINK_MESSAGE_REDELIVERED;
    citylink_error err{};
    err.struct_size = sizeof(err);
    citylink_status st;
    try {
      st = instance_->on_message(instance_, &msg, &err);
    } catch (...) {
      // A plugin built without the SDK helper threw across the C ABI (M1): counted as a
      // failure of this message; the instance keeps running.
      st = CITYLINK_ERR_INTERNAL;
      citylink_set_error(&err, st, "on_message threw an exception across the C ABI; catch exceptions in the plugin");
    }
    if (st == CITYLINK_OK) {
      counters_->delivered.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    const uint64_t n = counters_->failed.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= 5 || n % 1000 == 0)
      log()->warn("[{}] on_message failed on '{}' (status {}, #{}): {}", id_, d.topic, st, n, error_text(err));
    return true;
  }

  void stop() override {
    if (instance_) instance_->stop(instance_);
  }

  void destroy() override {
    if (instance_) instance_->destroy(instance_);
    instance_ = nullptr;
    table_->close();
  }

  std::string where() const override { return "in-process"; }

 private:
  std::shared_ptr<PluginLibrary> library_;  // loaded while the instance lives
  std::string id_;
  std::shared_ptr<InstanceCounters> counters_;
  HostTable* table_ = nullptr;  // never freed, see host_table.hpp
  const citylink_instance* instance_ = nullptr;
};

}  // namespace

std::unique_ptr<InstanceBackend> make_in_process_backend(std::shared_ptr<PluginLibrary> library,
                                                         const std::string& plugin_id, const std::string& instance_id,
                                                         const std::string& config_json, const std::string& who,
                                                         std::shared_ptr<Publisher> publisher,
                                                         std::shared_ptr<InstanceCounters> counters,
                                                         DeliveryHooks delivery) {
  return std::make_unique<InProcessBackend>(std::move(library), plugin_id, instance_id, config_json, who,
                                            std::move(publisher), std::move(counters), std::move(delivery));
}

}  // namespace citylink::host
