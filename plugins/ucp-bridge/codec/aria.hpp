// encAt = Y: the body encrypted with ARIA-256 in ECB mode and ANSI X9.23 padding, as the
// platform's adapters do, through OpenSSL's EVP (aria-256-ecb). ECB is the platform's
// choice, not ours: it hides the text, not its repetitions (docs/platform-bridge.md).
#pragma once

#include <optional>
#include <string>

namespace ucp::aria {

enum class TextForm { base64, hex };  // how the ciphertext is written into the body

// Whether this OpenSSL has aria-256-ecb (asked once at configuration, not on each send).
bool available();
// The key: the secret cut to 32 characters, X9.23-padded to 32 bytes.
std::string key_from_secret(const std::string& secret);
std::string encrypt(const std::string& plain, const std::string& secret, TextForm form = TextForm::base64);
// nullopt when the text is not in `form`, or does not decrypt to X9.23-padded blocks.
std::optional<std::string> decrypt(const std::string& text, const std::string& secret, TextForm form = TextForm::base64);
// Raw block cipher (no padding), for the known-answer test of the cipher itself.
std::string encrypt_blocks(const std::string& key32, const std::string& blocks);

}  // namespace ucp::aria
