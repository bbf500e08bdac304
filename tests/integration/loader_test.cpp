// The real loader on real .so files: good ones load, broken ones are refused by name.
#include "test_support.hpp"

#include <citylink/ext/plugin_factory.h>
#include <citylink/host/error.hpp>
#include <citylink/host/plugin_library.hpp>
#include <citylink/host/registry.hpp>
#include <gtest/gtest.h>

#include <cstring>
#include <elf.h>
#include <fstream>

using namespace citylink::host;
using citylink::test::sample_plugin;
using citylink::test::TempDir;
using citylink::test::zoo;

namespace {

std::string load_error(const std::filesystem::path& p) {
  try {
    PluginLibrary::load(p);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST(Loader, LoadsASamplePluginAndReadsItsDescriptor) {
  auto lib = PluginLibrary::load(sample_plugin("water_level_sensor"));
  EXPECT_EQ(lib->abi_version().major, CITYLINK_ABI_VERSION_MAJOR);
  ASSERT_EQ(lib->descriptors().size(), 1u);
  const auto& d = lib->descriptors()[0];
  EXPECT_EQ(d.id, "kr.citylink.samples.water-level-sensor");
  EXPECT_EQ(d.kind, "sensor");
  EXPECT_EQ(d.publishes, std::vector<std::string>{"sensor.reading"});
  EXPECT_FALSE(d.config_schema.empty());
}

TEST(Loader, LoadsAPlainCPluginAndAMultiPluginLibrary) {
  EXPECT_EQ(PluginLibrary::load(zoo("zoo_c_plugin"))->descriptors().at(0).id, "kr.citylink.test.c-plugin");
  auto lib = PluginLibrary::load(zoo("zoo_behaviour"));
  EXPECT_EQ(lib->descriptors().size(), 8u);
  EXPECT_NE(lib->find("kr.citylink.test.collector"), nullptr);
  EXPECT_EQ(lib->find("kr.citylink.test.nope"), nullptr);
}

TEST(Loader, EveryBuiltPluginExportsOnlyCitylinkEntry) {
  for (const auto& p : {sample_plugin("water_level_sensor"), sample_plugin("console_sink"), zoo("zoo_behaviour"),
                        zoo("zoo_c_plugin")}) {
    const auto report = preflight_plugin_file(p);
    EXPECT_EQ(report.exported_symbols, std::vector<std::string>{"citylink_entry"}) << p;
  }
}

TEST(Loader, RefusesATextFile) {
  const auto e = load_error(zoo("not_a_library"));
  EXPECT_NE(e.find("not_a_library.so' is not a shared library (no ELF header)"), std::string::npos) << e;
}

TEST(Loader, RefusesAMissingFile) {
  EXPECT_NE(load_error("/nonexistent/plugin.so").find("does not exist"), std::string::npos);
}

TEST(Loader, RefusesTruncatedCopiesAtEveryCut) {
  TempDir dir;
  const auto src = sample_plugin("console_sink");
  const auto size = std::filesystem::file_size(src);
  std::ifstream in(src, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Cut inside the ELF header, inside the program headers, in the middle and just short of the end.
  for (std::size_t cut : {std::size_t{10}, std::size_t{40}, std::size_t{100}, size / 2, size - 1}) {
    const auto p = dir / ("cut-" + std::to_string(cut) + ".so");
    citylink::test::write_file(p, bytes.substr(0, cut));
    const auto e = load_error(p);
    EXPECT_NE(e.find("truncated"), std::string::npos) << "cut at " << cut << ": " << e;
  }
}

// M4 of the review: two files derived from a real plugin made inspect and verify crash
// (SIGSEGV) in the pre-flight instead of being reported as corrupt.
TEST(Loader, RefusesCorruptStringTablesWithoutCrashing) {
  TempDir dir;
  std::ifstream in(sample_plugin("console_sink"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  auto header_at = [&](const std::string& b, std::size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, b.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
    return sh;
  };
  auto put_header = [&](std::string& b, std::size_t i, const Elf64_Shdr& sh) {
    std::memcpy(b.data() + eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
  };
  // .dynstr turned into a NOBITS section far outside the file.
  std::string nobits = bytes;
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    const auto sh = header_at(nobits, i);
    if (sh.sh_type != SHT_DYNSYM) continue;
    auto str = header_at(nobits, sh.sh_link);
    str.sh_type = SHT_NOBITS;
    str.sh_offset = 0x7fff00000000;
    put_header(nobits, sh.sh_link, str);
  }
  citylink::test::write_file(dir / "dynstr_nobits.so", nobits);
  // The section-name table's last byte is no longer NUL.
  std::string unterminated = bytes;
  const auto shstr = header_at(unterminated, eh.e_shstrndx);
  unterminated[shstr.sh_offset + shstr.sh_size - 1] = 'X';
  citylink::test::write_file(dir / "shstrtab_unterminated.so", unterminated);
  for (const char* name : {"dynstr_nobits.so", "shstrtab_unterminated.so"}) {
    const auto e = load_error(dir / name);
    EXPECT_NE(e.find("string table is missing, outside the file or not NUL-terminated"), std::string::npos)
        << name << ": " << e;
  }
}

TEST(Loader, RefusesALibraryWithoutTheEntrySymbol) {
  const auto e = load_error(zoo("zoo_no_entry"));
  EXPECT_NE(e.find("does not export 'citylink_entry'"), std::string::npos) << e;
  EXPECT_NE(e.find("citylink_add_plugin"), std::string::npos) << e;
}

TEST(Loader, RefusesAnExecutable) {
  const auto e = load_error(citylink::test::citylink_bin());
  EXPECT_NE(e.find("citylink_entry"), std::string::npos) << e;
}

TEST(Loader, RefusesAbiMajorMismatchNamingBothVersions) {
  const auto e = load_error(zoo("zoo_abi_major"));
  EXPECT_NE(e.find("built for CityLink ABI 2.0 but this host speaks ABI 1.1"), std::string::npos) << e;
}

TEST(Loader, RefusesANewerMinorNamingBothVersions) {
  const auto e = load_error(zoo("zoo_abi_minor"));
  EXPECT_NE(e.find("ABI 1.99, newer than this host's ABI 1.1"), std::string::npos) << e;
}

// Issue 6, "version meaning": a plugin rebuilt with later 1.x headers that uses nothing new
// keeps the 1.0 stamp; its structs are longer, and this host reads only what it knows.
TEST(Loader, LoadsAPluginBuiltWithNewerHeadersThatRequiresNothingNew) {
  auto lib = PluginLibrary::load(zoo("zoo_newer_headers"));
  EXPECT_EQ(lib->abi_version().minor, 0u);
  ASSERT_EQ(lib->descriptors().size(), 1u);
  EXPECT_EQ(lib->descriptors()[0].id, "kr.citylink.test.c-plugin");
  EXPECT_EQ(lib->descriptors()[0].features, std::vector<std::string>{"test.c-abi"});
}

TEST(Loader, RefusesDescriptorsWithoutId) {
  for (const auto& p : {zoo("zoo_c_no_id"), zoo("zoo_missing_id")}) {
    const auto e = load_error(p);
    EXPECT_NE(e.find("descriptor 0: the descriptor has no id"), std::string::npos) << e;
  }
}

TEST(Loader, ReportsAFailingInit) {
  const std::string why = load_error(zoo("zoo_init_fails"));
  EXPECT_NE(why.find("init() returned failure"), std::string::npos) << why;
  // The plugin's own reason, written with citylink_set_error, reaches the operator.
  EXPECT_NE(why.find("the test device is unplugged"), std::string::npos) << why;
}

// abi.h §factories: a shim (worker, runner) reaches the same plugin set through the
// factory as through the entry's default slots; a plain C library without one says so.
TEST(Loader, ReachesTheSamePluginSetThroughTheFactory) {
  const auto lib = citylink::host::PluginLibrary::load(zoo("zoo_behaviour"));
  const auto* f = static_cast<const citylink_plugin_factory*>(lib->factory(CITYLINK_PLUGIN_FACTORY_ID));
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->plugin_count(f), lib->descriptors().size());
  for (uint32_t i = 0; i < f->plugin_count(f); ++i)
    EXPECT_STREQ(f->descriptor(f, i)->id, lib->descriptors()[i].id.c_str());
  EXPECT_EQ(f->descriptor(f, f->plugin_count(f)), nullptr);
  citylink_error err{};
  err.struct_size = sizeof err;
  citylink_host_api api{};  // never called: create refuses the id before it keeps the table
  api.struct_size = sizeof api;
  EXPECT_EQ(f->create(f, &api, "kr.citylink.test.no-such-plugin", "{}", &err), nullptr);
  EXPECT_NE(std::string(err.message).find("no-such-plugin"), std::string::npos) << err.message;
  EXPECT_EQ(lib->factory("citylink.no-such-factory/1"), nullptr);
  EXPECT_EQ(citylink::host::PluginLibrary::load(zoo("zoo_c_plugin"))->factory(CITYLINK_PLUGIN_FACTORY_ID), nullptr);
}

TEST(Registry, LoadsEachFileOnceAndKeepsItWhileInstancesLive) {
  Registry r;
  auto a = r.library(zoo("zoo_c_plugin"));
  auto b = r.library(zoo("zoo_c_plugin"));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(r.libraries().size(), 1u);
  std::weak_ptr<PluginLibrary> weak = a;
  a.reset();
  b.reset();
  EXPECT_FALSE(weak.expired());  // the registry still holds it
  r.clear();
  EXPECT_TRUE(weak.expired());
}
