// Plugin packages: a library, its manifest (what it is, its SHA-256) and an optional vendor
// ed25519 signature over the manifest. The layout is the same in a package and once installed:
//   FILE.so   FILE.so.manifest.json   FILE.so.manifest.sig (optional)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace citylink::host {

inline constexpr const char* kPackageFormat = "citylink-package/1";

struct PackagedPlugin {
  std::string id;
  std::string version;
  std::string vendor;
};

struct PackageManifest {
  std::string file;    // the library's file name, no directory
  std::string sha256;  // of the library's bytes, 64 lower-case hex digits
  std::string abi;     // "1.0": the ABI version the library is stamped with
  std::vector<PackagedPlugin> plugins;
};

// The manifest and signature files that belong to a library.
std::filesystem::path manifest_path_of(const std::filesystem::path& library);
std::filesystem::path signature_path_of(const std::filesystem::path& library);

// Canonical JSON text of a manifest (the exact bytes a signature covers).
std::string manifest_text(const PackageManifest& m);
// Parses manifest text. Throws std::runtime_error naming `where`, the field and the fix.
PackageManifest parse_manifest(const std::string& text, const std::string& where);

// A library's manifest as installed next to it, with its signature when there is one.
struct InstalledManifest {
  PackageManifest manifest;
  std::string text;           // the manifest's exact bytes
  std::string signature_hex;  // empty when unsigned
};
// Reads FILE.so.manifest.json (and .sig) next to `library`; nullopt when there is no
// manifest. Throws std::runtime_error when one is there but unreadable or malformed.
std::optional<InstalledManifest> read_installed_manifest(const std::filesystem::path& library);

}  // namespace citylink::host
