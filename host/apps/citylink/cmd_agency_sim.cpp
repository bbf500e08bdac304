// `citylink agency-sim`: a receiving agency for demos and tests. A ZeroMQ ROUTER behind CURVE
// (only the listed client keys get in) that acks every envelope an agency-link sends,
// de-duplicates by envelope id (across its own restarts, from its --out file), and can be
// told to be slow, to drop, or to die.
#include "commands.hpp"
#include "options.hpp"

#include <citylink/host/curve.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <zmq.hpp>

namespace citylink::cli {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

int64_t number(const Parsed& p, const char* name, int64_t def) {
  const auto v = p.get(name);
  if (!v) return def;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(*v, &used);
    if (used != v->size() || n < 0) throw std::invalid_argument("negative");
    return n;
  } catch (const std::exception&) {
    throw std::runtime_error(std::string(name) + ": '" + *v + "' is not a whole number of 0 or more");
  }
}

}  // namespace

int cmd_agency_sim(const Args& args) {
  const std::string usage =
      "usage: citylink agency-sim --bind ENDPOINT --secret-key-file FILE --allow-key PUBLIC [--allow-key ...]\n"
      "         [--name NAME] [--out FILE.jsonl] [--slow-ms N] [--drop-every N] [--die-after N] [--for SECONDS]\n"
      "  --allow-key   a link's CURVE public key (Z85); nobody else gets in\n"
      "  --out         one JSON line per envelope received for the first time (read back at start to de-duplicate)\n"
      "  --slow-ms     wait this long before each ack     --drop-every N  never answer every Nth message\n"
      "  --die-after N end abruptly (exit 3, no ack) when the Nth message arrives";
  const Parsed p = parse(args,
                         {"--bind", "--secret-key-file", "--allow-key", "--name", "--out", "--slow-ms", "--drop-every",
                          "--die-after", "--for"},
                         {}, usage, false);
  const auto bind = p.get("--bind");
  const auto key_file = p.get("--secret-key-file");
  if (!bind || !key_file) throw std::runtime_error(usage);
  std::map<std::string, std::string> allowed;
  for (const auto& [k, v] : p.options)
    if (k == "--allow-key") {
      if (!host::keys::is_curve_key(v))
        throw std::runtime_error("--allow-key: '" + v + "' is not a Z85 CURVE public key (40 characters)");
      allowed.emplace(v, "link-" + std::to_string(allowed.size() + 1));
    }
  if (allowed.empty())
    throw std::runtime_error("--allow-key: give the public key of every link that may deliver here; an agency "
                             "accepts no anonymous sender\n" + usage);
  const std::string name = p.get("--name").value_or("agency");
  const int64_t slow_ms = number(p, "--slow-ms", 0), drop_every = number(p, "--drop-every", 0),
                die_after = number(p, "--die-after", 0), run_for = std::min<int64_t>(number(p, "--for", 0), 100'000'000);

  // What an earlier run of this agency already took: a restarted agency still de-duplicates.
  std::unordered_set<std::string> seen;
  std::ofstream out;
  if (const auto file = p.get("--out")) {
    std::ifstream in(*file);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"].is_string()) seen.insert(j["id"].get<std::string>());
    }
    out.open(*file, std::ios::app);
    if (!out) throw std::runtime_error("--out: cannot append to '" + *file + "'");
  }

  zmq::context_t ctx(1);
  host::CurveRefusals refusals;
  host::ZapHandler zap(ctx, allowed, *bind, refusals);  // before bind: libzmq admits anyone without one
  zmq::socket_t s(ctx, zmq::socket_type::router);
  host::make_curve_server(s, host::keys::read_key_file(*key_file));
  s.set(zmq::sockopt::linger, 0);
  // Handshakes that fail before ZAP (a link with the wrong server key, a client without CURVE)
  // are counted too.
  host::HandshakeMonitor monitor(ctx, s, *bind, refusals);
  s.bind(*bind);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "agency-sim %s: listening on %s (%zu allowed link key(s), %zu envelope(s) seen before)\n",
               name.c_str(), bind->c_str(), allowed.size(), seen.size());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(run_for);
  uint64_t received = 0, fresh = 0, duplicates = 0, dropped = 0, refused = 0;
  while (!g_stop && (run_for == 0 || std::chrono::steady_clock::now() < until)) {
    zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}, {monitor.socket().handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;  // a signal: the loop condition decides
      throw;
    }
    if (items[1].revents & ZMQ_POLLIN) monitor.on_event();
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    // Up to 256 envelopes per poll: a poll per envelope (and libzmq's getpid() fork check
    // in each) was most of this loop's time.
    for (int burst = 0; burst < 256; ++burst) {
      std::vector<zmq::message_t> frames;
      zmq::message_t f;
      do {
        if (!s.recv(f, zmq::recv_flags::dontwait)) break;
        frames.push_back(std::move(f));
      } while (frames.back().more());
      if (frames.empty()) break;
      // [link][BATCH][citylink.v1.EnvelopeBatch], answered by [ACKS][citylink.v1.Acks]; or
      // [link][topic][envelope], answered by one citylink.v1.Ack. "BATCH" is never a topic.
      const bool batch = frames.size() == 3 && frames[1].to_string_view() == "BATCH";
      citylink::v1::EnvelopeBatch items;
      if (batch && !items.ParseFromArray(frames[2].data(), static_cast<int>(frames[2].size()))) {
        ++refused;
        std::fprintf(stderr, "agency-sim %s: a BATCH frame that is not a citylink.v1.EnvelopeBatch; not acked\n",
                     name.c_str());
        continue;
      }
      if (!batch) {
        auto* item = items.add_items();
        if (frames.size() == 3) {
          item->set_topic(frames[1].to_string());
          item->set_envelope(frames[2].to_string());
        } else {
          item->set_envelope("\x01");  // refused below, with the frame count
        }
      }
      citylink::v1::Acks acks;
      std::vector<std::string> stored;  // new ids written for this frame, acked once flushed
      for (const auto& item : items.items()) {
        ++received;
        if (die_after > 0 && static_cast<int64_t>(received) >= die_after) {
          std::fprintf(stderr, "agency-sim %s: dying on message %llu as told (--die-after)\n", name.c_str(),
                       static_cast<unsigned long long>(received));
          out.flush();
          _exit(3);
        }
        if (drop_every > 0 && received % static_cast<uint64_t>(drop_every) == 0) {
          ++dropped;
          continue;
        }
        auto& ack = *acks.add_acks();
        ack.set_receiver(name);
        ack.set_time_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count());
        citylink::v1::Envelope e;
        if ((!batch && frames.size() != 3) || !e.ParseFromString(item.envelope())) {
          ++refused;
          ack.set_accepted(false);
          ack.set_reason(batch ? "a batch item that is not a citylink.v1.Envelope"
                               : "expected [topic][citylink.v1.Envelope]; got " + std::to_string(frames.size() - 1) +
                                     " frame(s) that do not parse");
          continue;
        }
        ack.set_envelope_id(e.id());
        ack.set_accepted(true);
        if (!seen.insert(e.id()).second) {
          ++duplicates;
          continue;
        }
        ++fresh;
        if (out.is_open()) {
          out << nlohmann::json{{"id", e.id()},
                                {"topic", item.topic()},
                                {"source", e.source()},
                                {"correlation_id", e.correlation_id()},
                                {"schema", e.schema()}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
          stored.push_back(e.id());
        }
      }
      if (out.is_open() && !stored.empty() && !(out << std::flush)) {
        // Stored before it is acked: an agency that cannot write what it took says nothing,
        // so the link sends it again.
        std::fprintf(stderr, "agency-sim %s: cannot write to --out; %zu message(s) not acked\n", name.c_str(),
                     stored.size());
        for (const auto& id : stored) seen.erase(id);
        fresh -= stored.size();
        out.clear();
        continue;
      }
      if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms * items.items_size()));
      if (acks.acks_size() == 0) continue;
      s.send(frames[0], zmq::send_flags::sndmore);
      if (batch) {
        s.send(zmq::str_buffer("ACKS"), zmq::send_flags::sndmore);
        s.send(zmq::buffer(acks.SerializeAsString()), zmq::send_flags::dontwait);
      } else {
        s.send(zmq::buffer(acks.acks(0).SerializeAsString()), zmq::send_flags::dontwait);
      }
    }
  }
  std::fprintf(stderr,
               "agency-sim %s: received %llu, new %llu, duplicates %llu, dropped %llu, refused %llu, "
               "connections refused %llu\n",
               name.c_str(), static_cast<unsigned long long>(received), static_cast<unsigned long long>(fresh),
               static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(dropped),
               static_cast<unsigned long long>(refused),
               static_cast<unsigned long long>(refusals.unknown_key + refusals.no_curve + refusals.bad_handshake));
  return kOk;
}

}  // namespace citylink::cli
