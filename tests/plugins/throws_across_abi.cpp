// A C++ plugin written against abi.h without the SDK helper, which lets an exception out of
// the call its config names ({"throw_in": "create" | "start" | "stop" | "destroy"}), as a
// careless vendor's would (review M1). The host must fail that call, never std::terminate.
#include <citylink/abi.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace {

const char* const publishes[] = {nullptr};
const char* const subscribes[] = {nullptr};
const citylink_descriptor descriptor = {sizeof(citylink_descriptor), "kr.citylink.test.throws", "Throws across the ABI",
                                        "CityLink tests", "1.0.0", "test", "Lets an exception out of one call.",
                                        publishes, subscribes, nullptr, nullptr, nullptr};

struct Thrower {
  citylink_instance base;
  std::string throw_in;
};

void maybe_throw(const citylink_instance* self, const char* call) {
  if (reinterpret_cast<const Thrower*>(self)->throw_in == call)
    throw std::runtime_error(std::string("thrown from ") + call + " on purpose");
}

citylink_status start(const citylink_instance* self, citylink_error*) {
  maybe_throw(self, "start");
  return CITYLINK_OK;
}
void stop(const citylink_instance* self) { maybe_throw(self, "stop"); }
void destroy(const citylink_instance* self) {
  const auto* t = reinterpret_cast<const Thrower*>(self);
  const bool throws = t->throw_in == "destroy";
  delete t;
  if (throws) throw std::runtime_error("thrown from destroy on purpose");
}

const citylink_instance* create(const citylink_host_api*, const char*, const char* config_json, citylink_error*) {
  auto* t = new Thrower{};
  t->base.struct_size = sizeof(citylink_instance);
  t->base.descriptor = &descriptor;
  t->base.start = start;
  t->base.stop = stop;
  t->base.destroy = destroy;
  for (const char* call : {"create", "start", "stop", "destroy"})
    if (std::strstr(config_json, (std::string("\"") + call + "\"").c_str())) t->throw_in = call;
  if (t->throw_in == "create") {
    delete t;
    throw std::runtime_error("thrown from create on purpose");
  }
  return &t->base;
}

citylink_status init(const char*, citylink_error*) { return CITYLINK_OK; }
void deinit() {}
uint32_t count() { return 1; }
const citylink_descriptor* describe(uint32_t i) { return i == 0 ? &descriptor : nullptr; }

}  // namespace

extern "C" CITYLINK_EXPORT const citylink_entry_t citylink_entry = {
    {CITYLINK_ABI_VERSION_MAJOR, 0}, sizeof(citylink_entry_t), init, deinit, count, describe, create, nullptr};
