// Which code a city runs (issue 7, item 6): the allow-list by hash and by vendor key, the
// package commands, and the file rules (opened once, no symlinks, not writable by others).
// Real .so files, the real loader and host, the real `citylink` command in child processes.
#include "cli_runner.hpp"
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/plugin_file.hpp>
#include <gtest/gtest.h>

#include <sys/stat.h>

using namespace citylink::host;
using citylink::test::citylink_bin;
using citylink::test::cli;
using citylink::test::has;
using citylink::test::sample_plugin;
using citylink::test::TempDir;
using citylink::test::zoo;
namespace fs = std::filesystem;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

constexpr const char* kCollector = "kr.citylink.test.collector";

struct Packages : ::testing::Test {
  TempDir dir;

  // Copies as an installer (or an attacker) replaces a file: a new inode renamed over the
  // name. Rewriting a library in place would corrupt the copy already mapped in this process.
  fs::path copy(const fs::path& from, const std::string& name) {
    const fs::path to = dir / name;
    const fs::path tmp = to.string() + ".tmp";
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, to);
    return to;
  }
  std::string collector_entry(const std::string& file, const std::string& name = "collector") {
    return "  - instance: " + name + "\n    file: " + file + "\n    plugin: " + kCollector +
           "\n    config: {out: " + (dir / (name + ".jsonl")).string() + "}\n    grants: requested\n";
  }
  // Starts a city and returns the failure reasons, in order ("" when all started).
  std::string run_city(const std::string& plugins, const std::string& top = "") {
    const std::string yaml = "city: pkg-city\n" + top + "plugins:\n" + plugins;
    Host h(parse_city_config(yaml, "pkg-city.yaml", dir.path()));
    h.set_worker_command({CITYLINK_BIN, "worker"});
    h.start();
    std::string out;
    for (const auto& f : h.failures()) out += f.instance_id + ": " + f.reason + "\n";
    return out;
  }
  std::string sha(const fs::path& p) { return PluginFile::open(p).sha256(); }
};

}  // namespace

TEST_F(Packages, AnAllowListAdmitsAPinnedHashAndRefusesEverythingElse) {
  const auto lib = copy(zoo("zoo_behaviour"), "behaviour.so");
  const auto other = copy(sample_plugin("console_sink"), "console.so");
  const std::string allow = "allow_list:\n  - {plugin: " + std::string(kCollector) + ", sha256: " + sha(lib) + "}\n";
  const std::string failures =
      run_city(collector_entry(lib.string()) +
                   "  - instance: console\n    file: " + other.string() + "\n    grants: requested\n",
               allow);
  EXPECT_FALSE(has(failures, "collector:")) << failures;
  EXPECT_TRUE(has(failures, "console: plugin file '" + other.string() + "' (SHA-256 " + sha(other) +
                                ") is not on the city's allow-list"))
      << failures;
  EXPECT_TRUE(has(failures, "after reviewing it, add `- {plugin: ID, sha256: " + sha(other) + "}`")) << failures;
}

TEST_F(Packages, AFileReplacedAfterReviewIsRefusedUnderTheSameName) {
  const auto lib = copy(zoo("zoo_behaviour"), "behaviour.so");
  const std::string allow = "allow_list:\n  - {plugin: " + std::string(kCollector) + ", sha256: " + sha(lib) + "}\n";
  copy(zoo("zoo_leaky_thread"), "behaviour.so");  // the attacker's swap
  const std::string failures = run_city(collector_entry(lib.string()), allow);
  EXPECT_TRUE(has(failures, "is not on the city's allow-list for plugin '" + std::string(kCollector) + "'")) << failures;
}

TEST_F(Packages, AVersionOutsideTheAllowedRangeIsRefused) {
  const auto lib = copy(zoo("zoo_behaviour"), "behaviour.so");
  const std::string allow = "allow_list:\n  - {plugin: " + std::string(kCollector) +
                            ", versions: \">=2.0.0 <3.0.0\", sha256: " + sha(lib) + "}\n";
  const std::string failures = run_city(collector_entry(lib.string()), allow);
  EXPECT_TRUE(has(failures, "plugin '" + std::string(kCollector) + "' 1.0.0 is not allowed by the city's allow-list: "
                            "version 1.0.0 is outside '>=2.0.0 <3.0.0'"))
      << failures;
  const std::string ok = "allow_list:\n  - {plugin: " + std::string(kCollector) + ", versions: \">=1.0.0 <2.0.0\", sha256: " +
                         sha(lib) + "}\n";
  EXPECT_EQ(run_city(collector_entry(lib.string()), ok), "");
}

TEST_F(Packages, ASignedPackageInstallsAndLoadsByVendorKeyOnly) {
  const auto key = cli({"keygen", "--sign", "--secret-key-file", (dir / "vendor.key").string()});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string vendor_key = trimmed(key.out);
  const auto stranger = trimmed(cli({"keygen", "--sign", "--secret-key-file", (dir / "other.key").string()}).out);

  auto r = cli({"plugin", "package", zoo("zoo_behaviour").string(), "--out", (dir / "pkg").string(), "--sign-key-file",
                (dir / "vendor.key").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "signed by " + vendor_key)) << r.out;

  r = cli({"plugin", "install", (dir / "pkg").string(), "--into", (dir / "plugins").string(), "--vendor-key", vendor_key});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "- {plugin: " + std::string(kCollector) + ", versions: \">=1.0.0\", vendor_key: " + vendor_key))
      << r.out;
  const std::string installed = (dir / "plugins" / "zoo_behaviour.so").string();

  EXPECT_EQ(run_city(collector_entry(installed), "allow_list:\n  - {plugin: " + std::string(kCollector) +
                                                     ", vendor_key: " + vendor_key + "}\n"),
            "");
  std::string failures = run_city(collector_entry(installed), "allow_list:\n  - {plugin: " + std::string(kCollector) +
                                                                  ", vendor_key: " + stranger + "}\n");
  EXPECT_TRUE(has(failures, "its manifest signature does not verify with the vendor key")) << failures;

  // The installed library replaced after install: its hash no longer matches the signed manifest.
  copy(zoo("zoo_leaky_thread"), "plugins/zoo_behaviour.so");
  failures = run_city(collector_entry(installed), "allow_list:\n  - {plugin: " + std::string(kCollector) +
                                                      ", vendor_key: " + vendor_key + "}\n");
  EXPECT_TRUE(has(failures, "the library was changed after it was packaged")) << failures;
}

TEST_F(Packages, InstallRefusesATamperedUnsignedOrForeignPackage) {
  const auto vendor_key =
      trimmed(cli({"keygen", "--sign", "--secret-key-file", (dir / "vendor.key").string()}).out);
  const auto stranger = trimmed(cli({"keygen", "--sign", "--secret-key-file", (dir / "other.key").string()}).out);
  ASSERT_EQ(cli({"plugin", "package", zoo("zoo_behaviour").string(), "--out", (dir / "signed").string(),
                 "--sign-key-file", (dir / "vendor.key").string()})
                .exit_code,
            0);
  ASSERT_EQ(cli({"plugin", "package", zoo("zoo_behaviour").string(), "--out", (dir / "plain").string()}).exit_code, 0);

  auto r = cli({"plugin", "install", (dir / "signed").string(), "--into", (dir / "a").string(), "--vendor-key", stranger});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "the signature does not verify with vendor key " + stranger)) << r.err;

  r = cli({"plugin", "install", (dir / "plain").string(), "--into", (dir / "a").string(), "--vendor-key", vendor_key});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "is not signed, but --vendor-key was given")) << r.err;

  std::ofstream(dir / "signed" / "zoo_behaviour.so", std::ios::app) << "x";  // one byte added after signing
  r = cli({"plugin", "install", (dir / "signed").string(), "--into", (dir / "a").string(), "--vendor-key", vendor_key});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "the library was changed after it was packaged")) << r.err;
  EXPECT_FALSE(fs::exists(dir / "a" / "zoo_behaviour.so"));  // nothing was installed by a refused install
}

TEST_F(Packages, SymlinksAndFilesOthersCanWriteAreRefused) {
  const auto lib = copy(zoo("zoo_behaviour"), "behaviour.so");
  fs::create_symlink(lib, dir / "link.so");
  std::string failures = run_city(collector_entry((dir / "link.so").string()));
  EXPECT_TRUE(has(failures, "is a symbolic link, which this city refuses")) << failures;
  EXPECT_EQ(run_city(collector_entry((dir / "link.so").string()), "host: {allow_symlinks: true}\n"), "");

  ::chmod(lib.c_str(), 0666);
  failures = run_city(collector_entry(lib.string()));
  EXPECT_TRUE(has(failures, "is writable by everyone (mode 0666)")) << failures;
  EXPECT_TRUE(has(failures, "chmod go-w")) << failures;
}

// Whoever can write a folder above the file can rename the reviewed file away and put
// other code under its name; a sticky folder (like /tmp) lets nobody replace what they do
// not own.
TEST_F(Packages, AFolderOthersCanWriteIsRefusedUnlessItIsSticky) {
  fs::create_directories(dir / "shared");
  const fs::path lib = dir / "shared" / "behaviour.so";
  fs::copy_file(zoo("zoo_behaviour"), lib);
  ::chmod(lib.c_str(), 0644);
  ::chmod((dir / "shared").c_str(), 0777);
  std::string failures = run_city(collector_entry(lib.string()));
  EXPECT_TRUE(has(failures, "is in folder '" + (dir / "shared").string() + "', writable by everyone (mode 0777)"))
      << failures;
  EXPECT_TRUE(has(failures, "chmod go-w '" + (dir / "shared").string() + "'")) << failures;
  ::chmod((dir / "shared").c_str(), 01777);
  EXPECT_EQ(run_city(collector_entry(lib.string())), "");
  ::chmod((dir / "shared").c_str(), 0755);
  EXPECT_EQ(run_city(collector_entry(lib.string())), "");
}

// The probe child loads the bytes the host checked, or nothing: a file swapped between the
// host's check and the probe never runs, not even in the child.
TEST_F(Packages, TheProbeChildLoadsOnlyTheBytesTheHostChecked) {
  const auto lib = copy(zoo("zoo_behaviour"), "behaviour.so");
  const auto ok = cli({"__probe", lib.string(), "--sha256", sha(lib)});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(has(ok.out, kCollector)) << ok.out;
  const std::string checked = sha(lib);
  copy(zoo("zoo_leaky_thread"), "behaviour.so");  // swapped after the host's check
  const auto r = cli({"__probe", lib.string(), "--sha256", checked});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.out, "changed after the host checked it")) << r.out;
  EXPECT_FALSE(has(r.out, "\"plugins\"")) << r.out;
}

TEST_F(Packages, AllowListMistakesAreConfigErrorsWithTheirLine) {
  auto error = [&](const std::string& allow) {
    try {
      parse_city_config("plugins: []\nallow_list:\n" + allow, "c.yaml", dir.path());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_TRUE(has(error("  - {plugin: a.b}\n"), "c.yaml:3:5: allow_list[0]: pins nothing")) << error("  - {plugin: a.b}\n");
  EXPECT_TRUE(has(error("  - {plugin: a.b, sha256: abc}\n"), "allow_list[0].sha256: expected 64 lower-case hex digits"));
  EXPECT_TRUE(has(error("  - {plugin: a.b, sha256: " + std::string(64, 'a') + ", versions: \"~1\"}\n"),
                  "'~1' is not a version bound"));
  EXPECT_TRUE(has(error("  - {plugin: a.b, vendor_key: zz}\n"), "allow_list[0].vendor_key: expected the vendor's ed25519"));
}

TEST_F(Packages, KeygenWritesASecretOnceAndPrintsThePublicKey) {
  const auto file = dir / "curve.key";
  auto r = cli({"keygen", "--curve", "--secret-key-file", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(trimmed(r.out).size(), 40u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = cli({"keygen", "--curve", "--secret-key-file", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "a key is never overwritten")) << r.err;
}
