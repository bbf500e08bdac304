// Hex, SHA-256, ed25519 (libsodium) and CURVE keys (libzmq).
#include <citylink/host/keys.hpp>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sodium.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>
#include <zmq.h>

namespace citylink::host::keys {
namespace {

void init() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

std::string to_hex(const void* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), static_cast<const unsigned char*>(data), n);
  out.pop_back();
  return out;
}

std::optional<std::string> from_hex(std::string_view hex, std::size_t n) {
  if (hex.size() != n * 2) return std::nullopt;
  for (char c : hex)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  std::string out(n, '\0');
  std::size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), n, hex.data(), hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != n)
    return std::nullopt;
  return out;
}

std::string random_hex(std::size_t bytes) {
  init();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return to_hex(buf.data(), buf.size());
}

std::string sha256_hex(const void* data, std::size_t n) {
  init();
  std::array<unsigned char, crypto_hash_sha256_BYTES> h{};
  crypto_hash_sha256(h.data(), static_cast<const unsigned char*>(data), n);
  return to_hex(h.data(), h.size());
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

SigningKey generate_signing_key() {
  init();
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  SigningKey k{to_hex(pk.data(), pk.size()), to_hex(sk.data(), sk.size())};
  sodium_memzero(sk.data(), sk.size());
  return k;
}

std::string public_key_of(const std::string& secret_key_hex) {
  init();
  const auto sk = from_hex(secret_key_hex, crypto_sign_SECRETKEYBYTES);
  if (!sk)
    throw std::invalid_argument("a signing secret key is " + std::to_string(crypto_sign_SECRETKEYBYTES * 2) +
                                " hex characters (as written by `citylink keygen --sign`)");
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  crypto_sign_ed25519_sk_to_pk(pk.data(), reinterpret_cast<const unsigned char*>(sk->data()));
  return to_hex(pk.data(), pk.size());
}

std::string sign_hex(std::string_view message, const std::string& secret_key_hex) {
  init();
  auto sk = from_hex(secret_key_hex, crypto_sign_SECRETKEYBYTES);
  if (!sk)
    throw std::invalid_argument("a signing secret key is " + std::to_string(crypto_sign_SECRETKEYBYTES * 2) +
                                " hex characters (as written by `citylink keygen --sign`)");
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(sk->data()));
  sodium_memzero(sk->data(), sk->size());
  return to_hex(sig.data(), sig.size());
}

bool verify_hex(std::string_view message, std::string_view signature_hex, std::string_view public_key_hex) {
  init();
  const auto sig = from_hex(signature_hex, crypto_sign_BYTES);
  const auto pk = from_hex(public_key_hex, crypto_sign_PUBLICKEYBYTES);
  return sig && pk &&
         crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(pk->data())) == 0;
}

CurveKey generate_curve_key() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw std::runtime_error(std::string("libzmq cannot make CURVE keys: ") + zmq_strerror(zmq_errno()) +
                             "; install a libzmq built with CURVE (Debian's libzmq5 is)");
  CurveKey k{pub.data(), sec.data()};
  sodium_memzero(sec.data(), sec.size());
  return k;
}

bool is_curve_key(std::string_view z85) {
  if (z85.size() != 40) return false;
  std::array<uint8_t, 32> raw{};
  const std::string s(z85);
  return zmq_z85_decode(raw.data(), s.c_str()) != nullptr;
}

std::string curve_public_of(const std::string& secret_key_z85) {
  if (!is_curve_key(secret_key_z85))
    throw std::invalid_argument("a CURVE secret key is 40 Z85 characters (as written by `citylink keygen --curve`)");
  std::array<char, 41> pub{};
  if (zmq_curve_public(pub.data(), secret_key_z85.c_str()) != 0)
    throw std::invalid_argument(std::string("not a CURVE secret key: ") + zmq_strerror(zmq_errno()));
  return pub.data();
}

void write_secret_file(const std::filesystem::path& file, const std::string& text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    throw std::runtime_error(file.string() + ": cannot create it (" + std::strerror(errno) +
                             "); it must not exist yet: a key is never overwritten");
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw std::runtime_error(file.string() + ": cannot write it");
  }
}

std::string read_key_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line))
    throw std::runtime_error("key file " + file.string() + " cannot be read; check the path and its permissions");
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
  return line.substr(start);
}

}  // namespace citylink::host::keys
