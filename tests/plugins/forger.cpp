// A plugin that forges its worker's protocol: run isolated, it reads the worker's sockets
// from the worker's command line (any code in the process can) and sends, on the control
// channel, a publish and a flood of acks that claim data the worker never sent. The host must
// serve neither the publish nor grow with the acks; what the plugin publishes through the
// host table still arrives. Frames are written with protobuf's wire-format API: linking the
// worker's own schema would register it twice in the worker process.
//
// With `outlive` (a marker file), its first worker instead leaves a process behind outside its
// process group and crashes; once the next worker runs, that process sends publishes on the
// first worker's data channel, as late frames of a dead worker would come (a worker that ended
// before its frames were read).
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

using google::protobuf::internal::WireFormatLite;

// WorkerToHost field numbers (sdk/proto/citylink/worker/v1/worker.proto).
constexpr int kPublish = 4, kAck = 6, kAfterDataFrames = 12;

// The value after `flag` on the command line of process `pid`.
std::string argument_of(const std::string& pid, const std::string& flag) {
  std::ifstream f("/proc/" + pid + "/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string previous;
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t end = all.find('\0', at);
    const std::string arg = all.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (previous == flag) return arg;
    previous = arg;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

std::string worker_endpoint() { return argument_of("self", "--endpoint"); }

std::string frame(const std::function<void(google::protobuf::io::CodedOutputStream&)>& write) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    write(coded);
  }
  return out;
}

// WorkerToHost{publish{topic, envelope}}: a SensorReading from `sensor_id` on `topic`.
std::string publish_frame(const std::string& topic, const std::string& sensor_id) {
  citylink::v1::Envelope env;
  citylink::v1::SensorReading r;
  r.set_sensor_id(sensor_id);
  env.set_topic(topic);
  env.set_schema(r.GetTypeName());
  r.SerializeToString(env.mutable_payload());
  return frame([&](auto& o) {
    std::string inner = frame([&](auto& i) {
      WireFormatLite::WriteString(1, topic, &i);
      WireFormatLite::WriteBytes(2, env.SerializeAsString(), &i);
    });
    WireFormatLite::WriteBytes(kPublish, inner, &o);
  });
}

class Forger : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.forger";
    d.name = "Forges worker-protocol frames";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = "test";
    d.publishes = {"test.forged", "test.ok", "test.late"};
    return d;
  }
  explicit Forger(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto c = nlohmann::json::parse(ctx.config_json().empty() ? "{}" : ctx.config_json());
    acks_ = c.value("forged_acks", 0);
    outlive_ = c.value("outlive", "");
  }
  void start() override {
    if (!outlive_.empty()) return outlive();
    thread_ = std::thread([this] { run(); });
  }
  void stop() override {
    if (thread_.joinable()) thread_.join();
  }
  ~Forger() override { stop(); }

 private:
  void run() {
    const std::string endpoint = worker_endpoint();
    if (endpoint.empty()) return;  // not in a worker: nothing to forge
    zmq::context_t ctx;
    zmq::socket_t control(ctx, zmq::socket_type::push);
    control.set(zmq::sockopt::linger, 5000);
    control.connect(endpoint + "/control");
    // A publish, on the channel that is read while the worker's own publishes wait.
    const std::string publish = publish_frame("test.forged", "forged");
    control.send(zmq::buffer(publish));
    // Acks held for data that never comes: more than the host keeps.
    for (int n = 0; n < acks_; ++n) {
      const std::string ack = frame([&](auto& o) {
        WireFormatLite::WriteBytes(kAck, frame([&](auto& i) { WireFormatLite::WriteUInt64(1, n + 1, &i); }), &o);
        WireFormatLite::WriteUInt64(kAfterDataFrames, uint64_t{1} << 60, &o);
      });
      control.send(zmq::buffer(ack));
    }
    control.close();
    ctx.close();  // lingers until the frames have left
    // What it publishes the proper way arrives.
    for (int i = 0; i < 10; ++i) {
      citylink::v1::SensorReading ok;
      ok.set_sensor_id("ok-" + std::to_string(i));
      host_.publish("test.ok", ok);
    }
  }

  // Once (the marker): a process outside the worker's group outlives it, and the worker ends.
  // That process is a fresh program (Python with pyzmq, from Debian): a multi-threaded
  // process that forks may only exec in the child.
  void outlive() {
    if (std::filesystem::exists(outlive_)) return;
    std::ofstream(outlive_) << "left a process behind\n";
    const std::string publish = publish_frame("test.late", "late");
    std::string hex;
    for (unsigned char c : publish) {
      static const char* digits = "0123456789abcdef";
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    // Waits (at most 50 s) until the worker is gone and a successor of the same instance runs,
    // then sends the publish 2,000 times on the first worker's data channel, and says so.
    static const char* script = R"(
import os, sys, time, zmq
endpoint, instance, worker, frame, done = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4]), sys.argv[5]
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
def argument(args, flag):
    return args[args.index(flag) + 1].decode() if flag in args and args.index(flag) + 1 < len(args) else None
# The next worker of this very instance: the same socket folder (a host that gives every worker
# one), or a numbered folder beside this one (a host that gives each worker its own). Another
# instance of the same name in another host has another folder.
def successor():
    parent = os.path.dirname(endpoint)
    for pid in filter(str.isdigit, os.listdir('/proc')):
        if int(pid) in (worker, os.getpid()):
            continue
        try:
            args = open('/proc/%s/cmdline' % pid, 'rb').read().split(b'\0')
        except OSError:
            continue
        if argument(args, b'--instance') != instance:
            continue
        theirs = argument(args, b'--endpoint') or ''
        if theirs == endpoint or (os.path.dirname(theirs) == parent and os.path.basename(parent).startswith('citylink-worker-')):
            return True
    return False
for _ in range(5000):
    if not alive(worker) and successor():
        break
    time.sleep(0.01)
s = zmq.Context().socket(zmq.PUSH)
s.setsockopt(zmq.LINGER, 0)
s.connect(endpoint + '/from-worker')
for _ in range(2000):
    try:
        s.send(frame, zmq.NOBLOCK)
    except zmq.Again:
        pass
    time.sleep(0.001)
open(done, 'w').write('sent\n')
)";
    const std::string worker = std::to_string(getpid()), done = outlive_ + ".done";
    const std::string endpoint = worker_endpoint(), instance = argument_of("self", "--instance");
    const char* argv[] = {"/usr/bin/python3", "-I", "-c", script, endpoint.c_str(), instance.c_str(),
                          worker.c_str(), hex.c_str(), done.c_str(), nullptr};
    if (fork() == 0) {
      setsid();
      if (fork() == 0) execv(argv[0], const_cast<char* const*>(argv));
      _exit(0);
    }
    // The worker ends once started; its successor finds the marker and runs on.
    thread_ = std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::abort();
    });
  }

  citylink::Host host_;
  int acks_ = 0;
  std::string outlive_;
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(Forger)
