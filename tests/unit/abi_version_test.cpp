#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>
#include <citylink/plugin.hpp>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace citylink::host;

TEST(AbiVersion, SameMajorAndOlderOrEqualMinorIsAccepted) {
  EXPECT_NO_THROW(check_abi_compatible({CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR}, "p.so"));
  EXPECT_NO_THROW(check_abi_compatible({CITYLINK_ABI_VERSION_MAJOR, 0}, "p.so"));
}

TEST(AbiVersion, DifferentMajorNamesBothVersionsAndTheFix) {
  try {
    check_abi_compatible({CITYLINK_ABI_VERSION_MAJOR + 1, 0}, "cam.so");
    FAIL() << "accepted a different major";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cam.so"), std::string::npos) << m;
    EXPECT_NE(m.find("ABI 2.0"), std::string::npos) << m;
    EXPECT_NE(m.find("ABI 1.1"), std::string::npos) << m;
    EXPECT_NE(m.find("rebuild the plugin against CityLink SDK 1.1"), std::string::npos) << m;
    EXPECT_NE(m.find("upgrade the host"), std::string::npos) << m;
  }
}

TEST(AbiVersion, RequiredMinorNewerThanTheHostIsRefusedWithBothVersionsAndTheFix) {
  try {
    check_abi_compatible({CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR + 1}, "cam.so");
    FAIL() << "accepted a newer minor";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("requires CityLink ABI 1.2"), std::string::npos) << m;
    EXPECT_NE(m.find("this host's ABI 1.1"), std::string::npos) << m;
    EXPECT_NE(m.find("upgrade the host"), std::string::npos) << m;
    EXPECT_NE(m.find("rebuild the plugin against CityLink SDK 1.1"), std::string::npos) << m;
  }
}

TEST(AbiVersion, TheHelperStampsMinorZeroUnlessThePluginRequiresMore) {
  // A plugin rebuilt with newer headers that uses nothing new must still load on a 1.0 host.
  EXPECT_EQ((citylink::detail::RequiredAbiMinor<citylink::detail::RequiredAbiMinorTag>::value), 0u);
  const citylink_abi_version c_plugin = CITYLINK_ABI_VERSION_INIT(0);
  EXPECT_EQ(c_plugin.major, CITYLINK_ABI_VERSION_MAJOR);
  EXPECT_EQ(c_plugin.minor, 0u);
}

TEST(AbiVersion, SdkVersionIsTheAbiVersion) {
  EXPECT_EQ(unsigned{CITYLINK_SDK_VERSION_MAJOR}, CITYLINK_ABI_VERSION_MAJOR);
  EXPECT_EQ(unsigned{CITYLINK_SDK_VERSION_MINOR}, CITYLINK_ABI_VERSION_MINOR);
  EXPECT_EQ(CITYLINK_SDK_VERSION, CITYLINK_SDK_VERSION_MAJOR * 10000 + CITYLINK_SDK_VERSION_MINOR * 100 +
                                      CITYLINK_SDK_VERSION_PATCH);
}

TEST(AbiLayout, StructSizeIsTheFirstFieldEverywhereButTheEntry) {
  // The entry starts with the version (read before anything else); every other struct
  // starts with struct_size so either side can tell which fields the other one has.
  EXPECT_EQ(offsetof(citylink_entry_t, abi_version), 0u);
  EXPECT_EQ(offsetof(citylink_host_api, struct_size), 0u);
  EXPECT_EQ(offsetof(citylink_instance, struct_size), 0u);
  EXPECT_EQ(offsetof(citylink_descriptor, struct_size), 0u);
  EXPECT_EQ(offsetof(citylink_message, struct_size), 0u);
  EXPECT_EQ(offsetof(citylink_error, struct_size), 0u);
}

TEST(AbiLayout, NewFieldsAreAppendedLast) {
  // One growth mechanism: the 1.0 additions sit behind every older field, nothing reserved.
  EXPECT_EQ(offsetof(citylink_entry_t, get_factory) + sizeof(void*), sizeof(citylink_entry_t));
  EXPECT_EQ(offsetof(citylink_host_api, nack) + sizeof(void*), sizeof(citylink_host_api));
  EXPECT_EQ(offsetof(citylink_descriptor, features) + sizeof(void*), sizeof(citylink_descriptor));
  EXPECT_GT(offsetof(citylink_message, redelivery_count), offsetof(citylink_message, delivery_tag));
  EXPECT_EQ(sizeof(citylink_log_level), 4u);
  EXPECT_EQ(sizeof(citylink_status), 4u);
}

TEST(AbiLayout, HasSlotSeesOnlyWhatTheTableIsBigEnoughFor) {
  citylink_host_api api{};
  api.struct_size = offsetof(citylink_host_api, nack);  // an older host without `nack`
  api.nack = [](const citylink_host_api*, uint64_t, int32_t) -> citylink_status { return CITYLINK_OK; };
  api.ack = [](const citylink_host_api*, uint64_t) -> citylink_status { return CITYLINK_OK; };
  EXPECT_FALSE(CITYLINK_HAS_SLOT(&api, nack));
  EXPECT_TRUE(CITYLINK_HAS_SLOT(&api, ack));
  api.struct_size = offsetof(citylink_host_api, ack);
  EXPECT_FALSE(CITYLINK_HAS_SLOT(&api, ack));
  api.struct_size = sizeof api;
  EXPECT_TRUE(CITYLINK_HAS_SLOT(&api, nack));
  api.nack = nullptr;
  EXPECT_FALSE(CITYLINK_HAS_SLOT(&api, nack));
}

// --- The error rule: at most struct_size - offsetof(message) bytes, NUL-terminated -------

TEST(AbiError, WritesCodeAndMessageIntoAFullBuffer) {
  citylink_error e{};
  e.struct_size = sizeof e;
  citylink_set_error(&e, CITYLINK_ERR_CONFIG, "field 'x' is required");
  EXPECT_EQ(e.code, CITYLINK_ERR_CONFIG);
  EXPECT_STREQ(e.message, "field 'x' is required");
  citylink_set_error(nullptr, CITYLINK_ERR_CONFIG, "ignored");  // NULL is allowed
  citylink_set_error(&e, CITYLINK_ERR_INTERNAL, nullptr);
  EXPECT_EQ(e.code, CITYLINK_ERR_INTERNAL);
  EXPECT_STREQ(e.message, "");
}

TEST(AbiError, NeverWritesPastTheCallersStructSize) {
  // A caller built with a smaller citylink_error: only its bytes may be touched.
  union {
    citylink_error e;
    unsigned char bytes[sizeof(citylink_error)];
  } u;
  std::memset(u.bytes, 0xAB, sizeof u.bytes);
  u.e.struct_size = offsetof(citylink_error, message) + 8;
  citylink_set_error(&u.e, CITYLINK_ERR_UNAVAILABLE, "device does not answer");
  EXPECT_EQ(u.e.code, CITYLINK_ERR_UNAVAILABLE);
  EXPECT_STREQ(u.e.message, "device ");  // 7 bytes + NUL
  for (std::size_t i = offsetof(citylink_error, message) + 8; i < sizeof u.bytes; ++i)
    ASSERT_EQ(u.bytes[i], 0xAB) << "byte " << i << " written";

  u.e.struct_size = offsetof(citylink_error, message);  // room for the code only
  citylink_set_error(&u.e, CITYLINK_ERR_STATE, "x");
  EXPECT_EQ(u.e.code, CITYLINK_ERR_STATE);
  EXPECT_EQ(u.bytes[offsetof(citylink_error, message)], 'd');  // untouched
}

TEST(AbiError, CutsLongMessagesAtTheLimitOnACharacterBoundary) {
  citylink_error e{};
  e.struct_size = sizeof e;
  citylink_set_error(&e, CITYLINK_ERR_INTERNAL, std::string(2000, 'x').c_str());
  EXPECT_EQ(std::strlen(e.message), CITYLINK_ERROR_MESSAGE_MAX - 1u);
  // "가" is 3 bytes; 510 bytes of 'a' then "가" must not leave a partial character.
  const std::string m = std::string(CITYLINK_ERROR_MESSAGE_MAX - 2, 'a') + "\xea\xb0\x80";
  citylink_set_error(&e, CITYLINK_ERR_INTERNAL, m.c_str());
  EXPECT_EQ(std::strlen(e.message), CITYLINK_ERROR_MESSAGE_MAX - 2u);
}

// --- The C++ helper over the ABI ------------------------------------------------------

namespace {

struct Seen {
  std::vector<uint64_t> acked, nacked_requeue, nacked_drop;
};
Seen g_seen;

class Probe : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.probe";
    d.name = "Probe";
    d.version = "1.0.0";
    d.kind = CITYLINK_KIND_TEST;
    d.subscribes = {"test."};
    d.features = {"test.probe"};
    return d;
  }
  explicit Probe(const citylink::InstanceContext& ctx)
      : manual_(ctx.config_json().find("manual") != std::string::npos) {
    config_ = ctx.config_json();
    instance_ = ctx.instance_id();
    path_ = ctx.library_path();
  }
  bool manual_acks() const override { return manual_; }
  void on_message(const citylink::Message& m) override {
    if (m.topic() == "test.throw") throw std::runtime_error("no");
    if (m.topic() == "test.malformed") throw citylink::Error(CITYLINK_ERR_MALFORMED, "bad bytes");
  }
  static inline std::string config_, instance_, path_;

 private:
  bool manual_;
};

using Lib = citylink::detail::Library<Probe>;

citylink_host_api recording_host() {
  citylink_host_api api{};
  api.struct_size = sizeof api;
  api.instance_id = [](const citylink_host_api*) -> const char* { return "probe-1"; };
  api.ack = [](const citylink_host_api*, uint64_t t) -> citylink_status {
    g_seen.acked.push_back(t);
    return CITYLINK_OK;
  };
  api.nack = [](const citylink_host_api*, uint64_t t, int32_t requeue) -> citylink_status {
    (requeue ? g_seen.nacked_requeue : g_seen.nacked_drop).push_back(t);
    return CITYLINK_OK;
  };
  return api;
}

citylink_status deliver(const citylink_instance* inst, const char* topic, uint64_t tag) {
  citylink_message m{};
  m.struct_size = sizeof m;
  m.topic = topic;
  m.delivery_tag = tag;
  citylink_error e{};
  e.struct_size = sizeof e;
  return inst->on_message(inst, &m, &e);
}

}  // namespace

TEST(Helper, InitIsReferenceCountedAndKeepsThePluginPath) {
  citylink_error e{};
  e.struct_size = sizeof e;
  ASSERT_EQ(Lib::init("/opt/p/probe.so", &e), CITYLINK_OK) << e.message;
  ASSERT_EQ(Lib::init("/opt/p/probe.so", &e), CITYLINK_OK);
  EXPECT_EQ(citylink::plugin_path(), "/opt/p/probe.so");
  ASSERT_NE(Lib::descriptor(0), nullptr);
  const char* const* features = Lib::descriptor(0)->features;
  ASSERT_NE(features, nullptr);
  EXPECT_STREQ(features[0], "test.probe");
  EXPECT_EQ(features[1], nullptr);
  Lib::deinit();
  EXPECT_NE(Lib::descriptor(0), nullptr) << "freed while one init is still outstanding";
  Lib::deinit();
  EXPECT_EQ(Lib::descriptor(0), nullptr);
  Lib::deinit();  // no init outstanding: a no-op
  const citylink_host_api api = recording_host();
  EXPECT_EQ(Lib::create(&api, "kr.citylink.test.probe", "{}", &e), nullptr);
  EXPECT_EQ(e.code, CITYLINK_ERR_STATE);
}

TEST(Helper, FactoryIsTheSamePluginSetAndUnknownIdsAreNull) {
  citylink_error e{};
  e.struct_size = sizeof e;
  ASSERT_EQ(Lib::init("/p.so", &e), CITYLINK_OK);
  EXPECT_EQ(Lib::get_factory("citylink.plugin-factory/2"), nullptr);
  EXPECT_EQ(Lib::get_factory(nullptr), nullptr);
  const auto* f = static_cast<const citylink_plugin_factory*>(Lib::get_factory(CITYLINK_PLUGIN_FACTORY_ID));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->plugin_count(f), 1u);
  EXPECT_EQ(f->descriptor(f, 0), Lib::descriptor(0));
  const citylink_host_api api = recording_host();
  const citylink_instance* inst = f->create(f, &api, "kr.citylink.test.probe", R"({"k":1})", &e);
  ASSERT_NE(inst, nullptr) << e.message;
  EXPECT_EQ(Probe::config_, R"({"k":1})");
  EXPECT_EQ(Probe::instance_, "probe-1");
  EXPECT_EQ(Probe::path_, "/p.so");
  inst->destroy(inst);
  Lib::deinit();
}

TEST(Helper, AcksDurableDeliveriesAfterANormalReturnUnlessManual) {
  citylink_error e{};
  e.struct_size = sizeof e;
  ASSERT_EQ(Lib::init("/p.so", &e), CITYLINK_OK);
  const citylink_host_api api = recording_host();
  g_seen = {};
  const citylink_instance* inst = Lib::create(&api, "kr.citylink.test.probe", "{}", &e);
  ASSERT_NE(inst, nullptr) << e.message;
  EXPECT_EQ(deliver(inst, "test.ok", 0), CITYLINK_OK);  // not durable: nothing to ack
  EXPECT_EQ(deliver(inst, "test.ok", 7), CITYLINK_OK);
  EXPECT_EQ(deliver(inst, "test.throw", 8), CITYLINK_ERR_INTERNAL);      // left for redelivery
  EXPECT_EQ(deliver(inst, "test.malformed", 9), CITYLINK_ERR_MALFORMED);  // dead-lettered now
  EXPECT_EQ(g_seen.acked, std::vector<uint64_t>{7});
  EXPECT_TRUE(g_seen.nacked_requeue.empty());
  EXPECT_EQ(g_seen.nacked_drop, std::vector<uint64_t>{9});
  inst->destroy(inst);

  g_seen = {};
  inst = Lib::create(&api, "kr.citylink.test.probe", R"({"manual":true})", &e);
  ASSERT_NE(inst, nullptr) << e.message;
  EXPECT_EQ(deliver(inst, "test.ok", 11), CITYLINK_OK);
  EXPECT_EQ(deliver(inst, "test.malformed", 12), CITYLINK_ERR_MALFORMED);
  EXPECT_TRUE(g_seen.acked.empty());
  EXPECT_TRUE(g_seen.nacked_drop.empty());
  inst->destroy(inst);
  Lib::deinit();
}
