#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>
#include <gtest/gtest.h>

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
    EXPECT_NE(m.find("ABI 1.0"), std::string::npos) << m;
    EXPECT_NE(m.find("rebuild"), std::string::npos) << m;
  }
}

TEST(AbiVersion, NewerMinorIsRefusedWithBothVersions) {
  try {
    check_abi_compatible({CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR + 1}, "cam.so");
    FAIL() << "accepted a newer minor";
  } catch (const LoadError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("ABI 1.1"), std::string::npos) << m;
    EXPECT_NE(m.find("upgrade the host"), std::string::npos) << m;
  }
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

TEST(AbiLayout, HasSlotSeesOnlyWhatTheTableIsBigEnoughFor) {
  citylink_host_api api{};
  api.struct_size = offsetof(citylink_host_api, ack);  // an older host without `ack`
  api.ack = [](const citylink_host_api*, uint64_t) -> citylink_status { return CITYLINK_OK; };
  api.log = [](const citylink_host_api*, citylink_log_level, const char*) {};
  EXPECT_FALSE(CITYLINK_HAS_SLOT(&api, ack));
  EXPECT_TRUE(CITYLINK_HAS_SLOT(&api, log));
  api.struct_size = sizeof api;
  EXPECT_TRUE(CITYLINK_HAS_SLOT(&api, ack));
}
