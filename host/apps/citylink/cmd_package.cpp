// `citylink plugin package` (a vendor makes a package) and `citylink plugin install` (a
// municipality checks one and installs it). The format is in docs/packages.md.
#include "commands.hpp"
#include "options.hpp"

#include <citylink/host/keys.hpp>
#include <citylink/host/package.hpp>
#include <citylink/host/plugin_file.hpp>
#include <citylink/host/plugin_library.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace citylink::cli {
namespace {

namespace fs = std::filesystem;
constexpr std::chrono::milliseconds kProbeTimeout{10000};

// Writes `bytes` to `dest` atomically (a temporary file in the same folder, then rename).
void write_file(const fs::path& dest, const std::string& bytes, mode_t mode) {
  const fs::path tmp = dest.string() + ".part";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) throw std::runtime_error(tmp.string() + ": cannot create it: " + std::strerror(errno));
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                  ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), dest.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(dest.string() + ": cannot write it: " + std::strerror(errno));
  }
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + " cannot be read");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string as_string(const std::vector<char>& v) { return std::string(v.begin(), v.end()); }

// The plugins a library really provides, read in a child process (its code never runs here).
std::vector<host::PackagedPlugin> probe_plugins(const fs::path& library, std::string* abi) {
  const auto probe = probe_in_child(library.string(), kProbeTimeout);
  if (abi) *abi = probe.value("abi", "");
  std::vector<host::PackagedPlugin> out;
  for (const auto& p : probe["plugins"])
    out.push_back({p.value("id", ""), p.value("version", ""), p.value("vendor", "")});
  return out;
}

}  // namespace

int cmd_package(const Args& args) {
  const std::string usage = "usage: citylink plugin package FILE.so --out DIR [--sign-key-file SECRET_KEY_FILE]";
  const Parsed p = parse(args, {"--out", "--sign-key-file"}, {}, usage);
  const auto out = p.get("--out");
  if (!out) throw std::runtime_error("--out DIR is required\n" + usage);
  const auto lib = host::PluginFile::open(p.positional);
  host::preflight_plugin_file(lib);
  host::PackageManifest m;
  m.file = fs::path(p.positional).filename().string();
  m.sha256 = lib.sha256();
  m.plugins = probe_plugins(p.positional, &m.abi);
  std::optional<std::string> secret;
  if (const auto key_file = p.get("--sign-key-file")) secret = host::keys::read_key_file(*key_file);

  std::error_code ec;
  if (fs::exists(*out, ec) && !fs::is_empty(*out, ec))
    throw std::runtime_error("--out " + *out + " exists and is not empty; name a new folder for the package");
  fs::create_directories(*out);
  const fs::path dest = fs::path(*out) / m.file;
  const std::string text = host::manifest_text(m);
  write_file(dest, as_string(lib.bytes()), 0644);
  write_file(host::manifest_path_of(dest), text, 0644);
  if (secret) write_file(host::signature_path_of(dest), host::keys::sign_hex(text, *secret) + "\n", 0644);
  std::printf("package %s: %s (SHA-256 %s), %zu plugin(s), %s\n", out->c_str(), m.file.c_str(), m.sha256.c_str(),
              m.plugins.size(),
              secret ? ("signed by " + host::keys::public_key_of(*secret)).c_str() : "unsigned");
  return kOk;
}

int cmd_install(const Args& args) {
  const std::string usage = "usage: citylink plugin install PACKAGE_DIR --into DIR [--vendor-key HEX]";
  const Parsed p = parse(args, {"--into", "--vendor-key"}, {}, usage);
  const auto into = p.get("--into");
  if (!into) throw std::runtime_error("--into DIR is required\n" + usage);
  const fs::path pkg = p.positional;
  if (!fs::is_directory(pkg)) throw std::runtime_error("package " + pkg.string() + " is not a folder; a package is the folder `citylink plugin package` wrote");
  std::vector<fs::path> manifests;
  for (const auto& e : fs::directory_iterator(pkg))
    if (e.path().string().size() > 14 && e.path().string().ends_with(".manifest.json")) manifests.push_back(e.path());
  if (manifests.size() != 1)
    throw std::runtime_error("package " + pkg.string() + " holds " + std::to_string(manifests.size()) +
                             " manifests (*.manifest.json); a package holds exactly one library and its manifest");
  const std::string text = read_text(manifests[0]);
  const host::PackageManifest m = host::parse_manifest(text, manifests[0].string());
  const fs::path library = pkg / m.file;
  if (host::manifest_path_of(library) != manifests[0])
    throw std::runtime_error(manifests[0].string() + " describes '" + m.file + "'; the manifest must be named after it");

  host::PluginFileRules rules;
  rules.allow_symlinks = false;
  const auto lib = host::PluginFile::open(library, rules);
  if (lib.sha256() != m.sha256)
    throw std::runtime_error("package " + pkg.string() + ": " + m.file + " has SHA-256 " + lib.sha256() +
                             " but its manifest says " + m.sha256 +
                             ": the library was changed after it was packaged; get the package again from the vendor");

  const fs::path sig_path = host::signature_path_of(library);
  std::string signature;
  if (fs::exists(sig_path)) {
    signature = read_text(sig_path);
    while (!signature.empty() && std::isspace(static_cast<unsigned char>(signature.back()))) signature.pop_back();
  }
  const auto key = p.get("--vendor-key");
  if (key) {
    if (!host::keys::from_hex(*key, 32))
      throw std::runtime_error("--vendor-key must be the vendor's ed25519 public key, 64 hex digits");
    if (signature.empty())
      throw std::runtime_error("package " + pkg.string() + " is not signed, but --vendor-key was given; ask the vendor "
                               "for a signed package, or install it by hash without --vendor-key");
    if (!host::keys::verify_hex(text, signature, *key))
      throw std::runtime_error("package " + pkg.string() + ": the signature does not verify with vendor key " + *key +
                               ": the manifest was changed, or another key signed it; do not install it");
  }

  host::preflight_plugin_file(lib);
  const auto real = probe_plugins(library, nullptr);
  std::set<std::pair<std::string, std::string>> said, is;
  for (const auto& x : m.plugins) said.emplace(x.id, x.version);
  for (const auto& x : real) is.emplace(x.id, x.version);
  if (said != is)
    throw std::runtime_error("package " + pkg.string() + ": the manifest lists other plugins or versions than " + m.file +
                             " provides; the package is inconsistent, get it again from the vendor");

  fs::create_directories(*into);
  const fs::path dest = fs::path(*into) / m.file;
  write_file(dest, as_string(lib.bytes()), 0644);
  write_file(host::manifest_path_of(dest), text, 0644);
  if (!signature.empty()) write_file(host::signature_path_of(dest), signature + "\n", 0644);
  else ::unlink(host::signature_path_of(dest).c_str());

  std::printf("installed %s (SHA-256 %s) into %s\n", m.file.c_str(), m.sha256.c_str(), into->c_str());
  if (!signature.empty() && !key)
    std::printf("note: the package is signed, but no --vendor-key was given, so the signature was not checked\n");
  std::printf("allow it in the city config:\nallow_list:\n");
  for (const auto& x : m.plugins) {
    if (key) std::printf("  - {plugin: %s, versions: \">=%s\", vendor_key: %s}\n", x.id.c_str(), x.version.c_str(), key->c_str());
    else std::printf("  - {plugin: %s, versions: \"%s\", sha256: %s}\n", x.id.c_str(), x.version.c_str(), m.sha256.c_str());
  }
  return kOk;
}

int cmd_keygen(const Args& args) {
  const std::string usage =
      "usage: citylink keygen --sign|--curve --secret-key-file FILE   (prints the public key)\n"
      "  --sign   ed25519: a vendor's package-signing key (and the audit checkpoint key)\n"
      "  --curve  ZeroMQ CURVE: a key for the host's TCP endpoint or for a remote client";
  const Parsed p = parse(args, {"--secret-key-file"}, {"--sign", "--curve"}, usage, false);
  const auto file = p.get("--secret-key-file");
  if (!file || p.has("--sign") == p.has("--curve")) throw std::runtime_error(usage);
  std::string pub, what;
  if (p.has("--sign")) {
    const auto k = host::keys::generate_signing_key();
    host::keys::write_secret_file(*file, k.secret_key_hex + "\n");
    pub = k.public_key_hex;
    what = "ed25519 signing key; the public key goes into allow_list as vendor_key";
  } else {
    const auto k = host::keys::generate_curve_key();
    host::keys::write_secret_file(*file, k.secret_key + "\n");
    pub = k.public_key;
    what = "CURVE key; the public key goes into the peer's config";
  }
  std::printf("%s\n", pub.c_str());
  std::fprintf(stderr, "citylink keygen: %s written to %s (mode 0600); the line above is its public key\n",
               what.c_str(), file->c_str());
  return kOk;
}

}  // namespace citylink::cli
