// Hashes, keys and signatures (libsodium, and libzmq for CURVE) in one place, so hex
// encoding and key files have one set of rules across packages, the audit log and CURVE.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace citylink::host::keys {

// Lower-case hex of `n` bytes.
std::string to_hex(const void* data, std::size_t n);
// Exactly `n` bytes from 2n hex digits (either case), else nullopt.
std::optional<std::string> from_hex(std::string_view hex, std::size_t n);
// `bytes` random bytes, as hex.
std::string random_hex(std::size_t bytes);
// SHA-256 of the bytes, as 64 lower-case hex digits.
std::string sha256_hex(const void* data, std::size_t n);
bool is_sha256_hex(std::string_view s);

// An ed25519 key pair (vendor package signatures, audit checkpoints), both as hex.
struct SigningKey {
  std::string public_key_hex;  // 64 hex digits
  std::string secret_key_hex;  // 128 hex digits
};
SigningKey generate_signing_key();
// The public half of a secret key; throws std::invalid_argument naming the expected form.
std::string public_key_of(const std::string& secret_key_hex);
// Detached ed25519 signature of `message`, as hex; throws std::invalid_argument on a bad key.
std::string sign_hex(std::string_view message, const std::string& secret_key_hex);
// True only for a well-formed key and signature that verify over `message`.
bool verify_hex(std::string_view message, std::string_view signature_hex, std::string_view public_key_hex);

// A ZeroMQ CURVE key pair, both in Z85 (40 characters), as zmq_curve_keypair makes them.
struct CurveKey {
  std::string public_key;
  std::string secret_key;
};
CurveKey generate_curve_key();
// The public half of a Z85 secret key; throws std::invalid_argument when it is not one.
std::string curve_public_of(const std::string& secret_key_z85);
bool is_curve_key(std::string_view z85);

// Writes a secret to a new file with mode 0600. Never overwrites: throws
// std::runtime_error naming the file and the reason when it exists or cannot be written.
void write_secret_file(const std::filesystem::path& file, const std::string& text);
// Reads a key file written by write_secret_file (or by hand): the first line, trimmed.
// Throws std::runtime_error naming the file when it cannot be read.
std::string read_key_file(const std::filesystem::path& file);

}  // namespace citylink::host::keys
