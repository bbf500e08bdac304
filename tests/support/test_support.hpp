// Paths to the built plugins and binaries, temp dirs, and condition waits for the tests.
#pragma once

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace citylink::test {

// A loopback TCP port nobody listens on right now (for a peer the test starts later). It is
// drawn below the kernel's ephemeral range (32768-60999 by default), so that no connect()
// made meanwhile, by this test or the other ctest job, can be handed it as a source port.
inline int free_tcp_port() {
  static std::mt19937 draw(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = std::uniform_int_distribution<int>(20000, 32000)(draw);
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;  // the test's bind then fails and says so
}

inline std::filesystem::path zoo(const std::string& name) {
  return std::filesystem::path(CITYLINK_TEST_PLUGIN_DIR) / (name + ".so");
}
inline std::filesystem::path sample_plugin(const std::string& name) {
  return std::filesystem::path(CITYLINK_SAMPLE_PLUGIN_DIR) / (name + ".so");
}
inline std::string citylink_bin() { return CITYLINK_BIN; }

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("citylink-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The complete lines of a JSON-lines file. A last line without its newline is being written
// (or was cut by a kill -9 of the writer) and is left out; any other bad line throws.
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline after it: not complete yet
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// Waits for a condition that the code under test makes true eventually. The limit only
// bounds a broken run; nothing asserts how fast it happens.
inline bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace citylink::test
