// The city's plugin allow-list: which code may run, pinned by SHA-256 or by a trusted
// vendor key that signed the package manifest, with the plugin id and a version range.
#pragma once

#include <citylink/host/package.hpp>

#include <optional>
#include <string>
#include <vector>

namespace citylink::host {

// A version range: space-separated comparisons that must all hold, e.g. ">=1.2.0 <2.0.0";
// "1.4.2" alone means "=1.4.2"; empty means any version. Versions are MAJOR.MINOR.PATCH
// with an optional "-suffix", which ranges ignore.
class VersionRange {
 public:
  VersionRange() = default;
  // Throws std::invalid_argument naming the bad part and the accepted form.
  static VersionRange parse(const std::string& text);
  bool contains(const std::string& version) const;
  const std::string& text() const { return text_; }

 private:
  struct Bound {
    std::string op;
    int v[3];
  };
  std::string text_;
  std::vector<Bound> bounds_;
};

// One `allow_list:` entry.
struct AllowedPlugin {
  std::string plugin_id;   // `plugin`: exact descriptor id
  VersionRange versions;   // `versions`
  std::string sha256;      // `sha256`: the library's hash, or empty
  std::string vendor_key;  // `vendor_key`: ed25519 public key (hex) that signs its manifests, or empty
  int line = 0;
};

// What let a file in: the entry, and the signed manifest when it came in by vendor key.
struct AllowMatch {
  const AllowedPlugin* entry = nullptr;
  std::optional<PackageManifest> manifest;
};

// Before any of the file's code runs: the entries that admit a library with these bytes
// (`sha256`) at `path`, for `plugin_id` (empty: any entry). Throws LoadError naming the
// file, its hash and the allow-list line to add after review.
std::vector<AllowMatch> admit_file(const std::vector<AllowedPlugin>& list, const std::filesystem::path& path,
                                   const std::string& sha256, const std::string& plugin_id);

// After the load: the descriptor the instance uses must be one the matches cover (its id,
// a version in range, and listed in the signed manifest). Throws LoadError otherwise.
void admit_plugin(const std::vector<AllowMatch>& matches, const std::filesystem::path& path, const std::string& id,
                  const std::string& version);

}  // namespace citylink::host
