#include "aria.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace ucp::aria {

namespace {

constexpr std::size_t kBlock = 16, kKey = 32;

// X9.23: zero bytes, the last one the count of bytes added (1..n).
std::string pad(std::string s, std::size_t n) {
  const std::size_t add = n - s.size() % n;
  s.append(add - 1, '\0');
  s.push_back(static_cast<char>(add));
  return s;
}

std::string run(const std::string& key32, const std::string& in, bool enc) {
  const EVP_CIPHER* cipher = EVP_aria_256_ecb();
  if (!cipher) throw std::runtime_error("this OpenSSL has no aria-256-ecb");
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, reinterpret_cast<const unsigned char*>(key32.data()),
                                nullptr, enc ? 1 : 0) != 1)
    throw std::runtime_error("cannot set up aria-256-ecb");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);  // X9.23 is applied by us; EVP's is PKCS#7
  std::string out(in.size() + kBlock, '\0');
  int n = 0, m = 0;
  if (EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                       reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &m) != 1)
    throw std::runtime_error("aria-256-ecb failed");
  out.resize(static_cast<std::size_t>(n + m));
  return out;
}

std::string to_text(const std::string& raw, TextForm form) {
  if (form == TextForm::hex) {
    std::string h(raw.size() * 2 + 1, '\0');
    std::size_t n = 0;
    if (OPENSSL_buf2hexstr_ex(h.data(), h.size(), &n, reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                              '\0') != 1)
      throw std::runtime_error("cannot write hex");
    h.resize(n - 1);  // n counts the terminating NUL
    return h;
  }
  std::string b(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  b.resize(static_cast<std::size_t>(n));
  return b;
}

std::optional<std::string> from_text(const std::string& text, TextForm form) {
  if (form == TextForm::hex) {
    std::string raw(text.size() / 2 + 1, '\0');
    std::size_t n = 0;
    if (text.empty() || OPENSSL_hexstr2buf_ex(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), &n,
                                              text.c_str(), '\0') != 1)
      return std::nullopt;
    raw.resize(n);
    return raw;
  }
  if (text.empty() || text.size() % 4) return std::nullopt;
  std::string raw(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the '=' padding as zero bytes.
  std::size_t len = static_cast<std::size_t>(n);
  if (text[text.size() - 1] == '=') --len;
  if (text[text.size() - 2] == '=') --len;
  raw.resize(len);
  return raw;
}

}  // namespace

bool available() { return EVP_aria_256_ecb() != nullptr; }

std::string key_from_secret(const std::string& secret) {
  const std::string cut = secret.substr(0, kKey);
  return cut.size() == kKey ? cut : pad(cut, kKey);
}

std::string encrypt_blocks(const std::string& key32, const std::string& blocks) { return run(key32, blocks, true); }

std::string encrypt(const std::string& plain, const std::string& secret, TextForm form) {
  return to_text(run(key_from_secret(secret), pad(plain, kBlock), true), form);
}

std::optional<std::string> decrypt(const std::string& text, const std::string& secret, TextForm form) {
  const auto raw = from_text(text, form);
  if (!raw || raw->empty() || raw->size() % kBlock) return std::nullopt;
  std::string plain;
  try {
    plain = run(key_from_secret(secret), *raw, false);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  const auto add = static_cast<unsigned char>(plain.back());
  if (add == 0 || add > kBlock) return std::nullopt;
  for (std::size_t i = plain.size() - add; i + 1 < plain.size(); ++i)
    if (plain[i] != '\0') return std::nullopt;
  plain.resize(plain.size() - add);
  return plain;
}

}  // namespace ucp::aria
