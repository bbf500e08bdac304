// The worker's side of the worker protocol. One thread (this one) calls the plugin, in
// order, and beats between calls; the plugin's own threads publish and log through the
// host table, whose hooks send on the data channel under a mutex. Heartbeats, answers, acks
// and nacks go on the control channel, which the host reads while a publish of this worker
// waits: no send of the thread that calls the plugin waits for the data channel.
#include <citylink/host/error.hpp>
#include <citylink/host/host_table.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_library.hpp>
#include <citylink/host/publish_rate.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/worker.hpp>
#include <citylink/worker/v1/worker.pb.h>

#include "batch_frames.hpp"
#include "frame_parser.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <system_error>
#include <thread>
#include <csignal>
#include <map>
#include <cstdio>
#include <mutex>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.hpp>

namespace citylink::host {

namespace wv1 = citylink::worker::v1;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kBeatEvery = std::chrono::milliseconds(200);
// Deliveries handled between two beats at most, while a stream lasts: the host lets a worker
// that reads batches hold 2,048 unreported (worker_backend.cpp), and this keeps that window moving.
constexpr uint64_t kReportEvery = 64;
// Publishes batched at most, in messages and in envelope bytes; past either the publishing
// thread sends the batch itself.
constexpr std::size_t kPublishBatch = 64;
constexpr std::size_t kPublishBatchBytes = 64 * 1024;
// How long publishes on a topic the host refused are refused locally; the first one after it
// goes to the host again, which says whether the reason still holds.
constexpr auto kRefusalHeld = std::chrono::seconds(1);

struct Options {
  std::string endpoint, plugin, sha256, instance;
  long parent = 0;
  uint64_t memory_mb = 0, open_files = 0, cpu_seconds = 0;
};

bool parse(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const auto& k = args[i];
    const auto& v = args[i + 1];
    if (k == "--endpoint") o.endpoint = v;
    else if (k == "--plugin") o.plugin = v;
    else if (k == "--sha256") o.sha256 = v;
    else if (k == "--instance") o.instance = v;
    else if (k == "--parent") o.parent = std::stol(v);
    else if (k == "--memory-mb") o.memory_mb = std::stoull(v);
    else if (k == "--open-files") o.open_files = std::stoull(v);
    else if (k == "--cpu-seconds") o.cpu_seconds = std::stoull(v);
    else return false;
  }
  return args.size() % 2 == 0 && !o.endpoint.empty() && !o.plugin.empty() && !o.sha256.empty() &&
         !o.instance.empty() && o.parent > 0;
}

void limit(int resource, uint64_t value) {
  if (!value) return;
  rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  if (setrlimit(resource, &r) != 0) std::fprintf(stderr, "citylink worker: setrlimit(%d) failed\n", resource);
}

class Worker {
 public:
  Worker(const Options& o)
      : o_(o),
        in_(ctx_, zmq::socket_type::pull),
        out_(ctx_, zmq::socket_type::push),
        control_(ctx_, zmq::socket_type::push) {
    in_.set(zmq::sockopt::linger, 0);
    in_.set(zmq::sockopt::rcvhwm, 100);
    out_.set(zmq::sockopt::linger, 2000);  // what the plugin published before destroy still leaves
    out_.set(zmq::sockopt::sndhwm, 10000);
    control_.set(zmq::sockopt::linger, 2000);  // ... and the answer to destroy
    in_.connect(o.endpoint + "/to-worker");
    out_.connect(o.endpoint + "/from-worker");
    control_.connect(o.endpoint + "/control");
  }

  int run() {
    wv1::WorkerToHost hello;
    hello.mutable_hello()->set_protocol(kWorkerProtocol);
    hello.mutable_hello()->set_pid(getpid());
    hello.mutable_hello()->set_reads_batches(true);
    send(hello, zmq::send_flags::none);

    while (true) {
      if (getppid() != o_.parent) return 3;  // the host is gone; so is this worker's purpose
      zmq::message_t raw;
      zmq::pollitem_t item{in_.handle(), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, kBeatEvery);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      while (receive(in_, raw, zmq::recv_flags::dontwait)) {
        uint64_t seq;
        if (batch_frames::read_deliver_batch(raw.data(), raw.size(), seq, batch_in_)) {
          for (const auto& d : batch_in_) deliver(seq, d);
        } else {
          const wv1::HostToWorker* m = incoming_.parse(raw);
          if (!m) continue;
          if (!handle(*m)) return 0;
        }
        beat_if_due();
      }
      // Nothing more waits: what was handled is reported now, so the host's window is open
      // whenever this worker is idle.
      if (handled_ != reported_handled_) beat();
      beat_if_due();
    }
  }

 private:
  // Publishes batched so far leave first: nothing overtakes a publish the plugin was told
  // is sent. A message sent without waiting is dropped if they cannot leave now (a log line).
  void send(const wv1::WorkerToHost& m, zmq::send_flags flags) {
    zmq::message_t bytes(m.ByteSizeLong());
    m.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(bytes.data()));
    std::lock_guard lk(out_mu_);
    if (!out_.handle() || !flush_locked(flags)) return;
    if (out_.send(bytes, flags)) ++data_frames_;
  }

  // On the control channel. `ordered`: the host applies it only after what this worker sent
  // on the data channel before it, the batch being filled included (an ack never overtakes
  // the publish made before it, which a crash would otherwise lose with the acked input).
  // True when it left (a message sent without waiting is dropped when it cannot leave now).
  bool send_control(wv1::WorkerToHost& m, bool ordered, zmq::send_flags flags) {
    if (ordered) {
      std::lock_guard lk(out_mu_);
      m.set_after_data_frames(data_frames_ + (batch_.count() > 0 ? 1 : 0));
    }
    zmq::message_t bytes(m.ByteSizeLong());
    m.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(bytes.data()));
    std::lock_guard lk(control_mu_);
    return control_.handle() && control_.send(bytes, flags).has_value();
  }

  // Under out_mu_. Sends the batched publishes, if any; false if they could not leave.
  bool flush_locked(zmq::send_flags flags) {
    if (batch_.count() == 0) return true;
    zmq::message_t bytes(batch_.frame_size());
    batch_.write_frame(bytes.data());
    if (!out_.send(bytes, flags)) return false;
    ++data_frames_;
    batch_.clear();
    batched_bytes_ = 0;
    return true;
  }

  // The flush thread: sends what the plugin's threads batched whenever it is idle, so a batch
  // is what accumulated while it woke and sent the last one; a lone publish goes at once.
  void flush_loop() {
    std::unique_lock lk(out_mu_);
    while (!closing_) {
      if (batch_.count() == 0) {
        flusher_idle_ = true;
        flush_cv_.wait(lk);
        flusher_idle_ = false;
        continue;
      }
      if (!out_.handle()) return;
      if (!flush_locked(zmq::send_flags::dontwait)) {
        // The host is behind: the plugin's publishes are refused with backpressure meanwhile.
        lk.unlock();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        lk.lock();
      }
    }
  }

 public:
  // After destroy: what was sent leaves (linger), and a plugin thread still publishing meets
  // a closed socket, not a freed one.
  void close_output() {
    {
      std::lock_guard lk(out_mu_);
      closing_ = true;
      flush_cv_.notify_all();
    }
    if (flusher_.joinable()) flusher_.join();
    {
      std::lock_guard lk(out_mu_);
      if (out_.handle()) (void)flush_locked(zmq::send_flags::none);
      out_.close();
    }
    {
      std::lock_guard lk(control_mu_);
      control_.close();
    }
    in_.close();
    ctx_.close();  // waits (up to the linger) until the last answer has left
  }

 private:

  // `ordered`: the answer to stop and destroy, which the host hears after what the plugin
  // published and logged before it. The answer to create and start is not: it must not wait
  // behind publishes that wait for subscribers that start after this instance.
  void result(uint64_t seq, citylink_status st, const std::string& message, bool receives = false,
              bool ordered = false) {
    wv1::WorkerToHost r;
    r.set_seq(seq);
    r.mutable_result()->set_status(st);
    r.mutable_result()->set_message(message);
    r.mutable_result()->set_receives(receives);
    send_control(r, ordered, zmq::send_flags::none);
  }

  void beat() {
    wv1::WorkerToHost b;
    b.mutable_heartbeat()->set_handled(handled_);
    b.mutable_heartbeat()->set_failed(failed_);
    b.mutable_heartbeat()->set_pid(getpid());
    b.mutable_heartbeat()->set_refused_held(refused_held_.load(std::memory_order_relaxed));
    b.mutable_heartbeat()->set_refused_rate(refused_rate_.load(std::memory_order_relaxed));
    // Never waits: a beat the host has no room for now is said again by the next, which
    // carries the counts so far. Only one that left reports them: one that was dropped is tried
    // again with the next delivery, not 64 deliveries later.
    if (send_control(b, false, zmq::send_flags::dontwait)) reported_handled_ = b.heartbeat().handled();
  }

  // False after destroy: the worker exits.
  bool handle(const wv1::HostToWorker& m) {
    citylink_error err{};
    err.struct_size = sizeof(err);
    switch (m.call_case()) {
      case wv1::HostToWorker::kCreate: {
        if (instance_) return result(m.seq(), CITYLINK_ERR_STATE, "already created"), true;
        create(m.seq(), m.create());
        return true;
      }
      case wv1::HostToWorker::kStart: {
        if (!instance_) return result(m.seq(), CITYLINK_ERR_STATE, "start before create"), true;
        phase_ = Phase::running;  // the host holds what start publishes until it succeeds
        const auto st = instance_->start(instance_, &err);
        if (st != CITYLINK_OK) phase_ = Phase::stopped;
        beat();  // settles the counts before the answer
        result(m.seq(), st, st == CITYLINK_OK ? "" : error_text(err));
        return true;
      }
      case wv1::HostToWorker::kStop: {
        if (instance_) instance_->stop(instance_);
        phase_ = Phase::stopped;
        beat();
        result(m.seq(), CITYLINK_OK, "", false, true);
        return true;
      }
      case wv1::HostToWorker::kDestroy: {
        phase_ = Phase::stopped;
        if (instance_) instance_->destroy(instance_);
        instance_ = nullptr;
        if (table_) table_->close();
        beat();
        result(m.seq(), CITYLINK_OK, "", false, true);
        return false;
      }
      case wv1::HostToWorker::kPublishRefused: {
        const auto& r = m.publish_refused();
        std::lock_guard lk(refused_mu_);
        refused_[r.topic()] = Refusal{static_cast<citylink_status>(r.status()), r.reason(), Clock::now() + kRefusalHeld};
        refusing_.store(true, std::memory_order_release);
        return true;
      }
      case wv1::HostToWorker::kDeliver:
        deliver(m.seq(), item(m.deliver()));
        return true;
      case wv1::HostToWorker::kDeliverBatch:
        for (const auto& d : m.deliver_batch().deliveries()) deliver(m.seq(), item(d));
        return true;
      default: return true;
    }
  }

  // One on_message. The worker beats between deliveries, within a batch too: the host's
  // heartbeat timeout is for one call, never for a batch of them.
  static batch_frames::Item item(const wv1::Deliver& d) {
    return batch_frames::Item{d.topic(), d.envelope(), d.delivery_tag(), d.redelivery_count()};
  }

  void deliver(uint64_t seq, const batch_frames::Item& d) {
    // One that reached this worker before its create was meant for the one before; the host
    // counted it lost with that one, so it is not counted here again.
    if (!instance_) return;
    beat_if_due();
    ++handled_;
    if (!instance_->on_message) {
      ++failed_;
      result(seq, CITYLINK_ERR_UNSUPPORTED,
             "on '" + std::string(d.topic) + "': the plugin takes no messages (no on_message)");
      return;
    }
    citylink_error err{};
    err.struct_size = sizeof(err);
    citylink_message msg{};
    msg.struct_size = sizeof(msg);
    topic_.assign(d.topic);  // the ABI's topic is NUL-terminated; the frame's is not
    msg.topic = topic_.c_str();
    msg.envelope = reinterpret_cast<const uint8_t*>(d.envelope.data());
    msg.envelope_size = d.envelope.size();
    msg.delivery_tag = d.delivery_tag;
    msg.redelivery_count = d.redelivery_count;
    if (d.redelivery_count > 0) msg.flags |= CITYLINK_MESSAGE_REDELIVERED;
    if (d.delivery_tag != 0) note_tag(d.delivery_tag);
    citylink_status st;
    std::string why;
    try {
      st = instance_->on_message(instance_, &msg, &err);
      if (st != CITYLINK_OK) why = error_text(err);
    } catch (...) {
      st = CITYLINK_ERR_INTERNAL;
      why = "on_message threw an exception across the C ABI; catch exceptions in the plugin";
    }
    if (st != CITYLINK_OK) {
      ++failed_;
      result(seq, st, "on '" + topic_ + "': " + why);
    }
    if (handled_ - reported_handled_ >= kReportEvery) beat();
  }

  void beat_if_due() {
    if (Clock::now() < next_beat_) return;
    beat();
    next_beat_ = Clock::now() + kBeatEvery;
  }

  void create(uint64_t seq, const wv1::Create& c) {
    try {
      LoadPolicy policy;
      policy.rules.allow_symlinks = true;  // the host applied its rules when it chose the file
      const std::string expected = o_.sha256;
      policy.admit = [expected](const PluginFile& f) {
        if (f.sha256() != expected)
          throw LoadError("plugin file '" + f.path().string() + "' changed after the host checked it (SHA-256 " +
                          f.sha256() + ", checked " + expected + "); it was not loaded");
      };
      library_ = PluginLibrary::load(o_.plugin, policy);
    } catch (const std::exception& e) {
      return result(seq, CITYLINK_ERR_UNAVAILABLE, e.what());
    }
    HostTableHooks hooks;
    const std::size_t max_bytes = c.max_message_bytes();
    rate_.set(c.publish_rate());
    critical_topics_.assign(c.critical_topics().begin(), c.critical_topics().end());
    hooks.publish = [this, max_bytes](std::string_view topic, const uint8_t* envelope, std::size_t size,
                                      std::string* why) -> citylink_status {
      // As in the host: a publish before start or after stop is a state error.
      if (phase_.load() != Phase::running) {
        if (why) *why = "instance '" + o_.instance + "' is not running (publish before start or after stop)";
        return CITYLINK_ERR_STATE;
      }
      if (max_bytes && size > max_bytes) {
        if (why) *why = "message on '" + std::string(topic) + "' is " + std::to_string(size) +
                        " bytes, over the host limit of " + std::to_string(max_bytes) + " (host.max_message_bytes)";
        wv1::WorkerToHost o;  // the host counts and logs it, as for an in-process instance
        o.mutable_oversize()->set_topic(std::string(topic));
        o.mutable_oversize()->set_bytes(size);
        send(o, zmq::send_flags::dontwait);
        return CITYLINK_ERR_TOO_LARGE;
      }
      // Refused here, before a byte crosses the pipe: the flood costs its own process only.
      if (rate_.limited() && !grants_allow(critical_topics_, topic) && !rate_.take()) {
        const std::string msg = rate_.refusal(o_.instance, topic);
        if (const uint64_t n = refused_rate_.fetch_add(1, std::memory_order_relaxed) + 1; n <= 5 || n % 10000 == 0) {
          wv1::WorkerToHost l;
          l.mutable_log()->set_level(CITYLINK_LOG_WARN);
          l.mutable_log()->set_message("publish refused (rate, #" + std::to_string(n) + "): " + msg);
          send(l, zmq::send_flags::dontwait);
        }
        if (why) *why = msg;
        return CITYLINK_ERR_BACKPRESSURE;
      }
      if (refusing_.load(std::memory_order_acquire)) {
        std::lock_guard lk(refused_mu_);
        std::erase_if(refused_, [now = Clock::now()](const auto& kv) { return kv.second.until <= now; });
        refusing_.store(!refused_.empty(), std::memory_order_release);
        if (const auto r = refused_.find(std::string(topic)); r != refused_.end()) {
          if (why) *why = "the host refused the last publish on '" + std::string(topic) + "': " + r->second.reason;
          refused_held_.fetch_add(1, std::memory_order_relaxed);
          return r->second.status;
        }
      }
      std::lock_guard lk(out_mu_);
      if (!out_.handle() || closing_) {
        if (why) *why = "the worker is ending";
        return CITYLINK_ERR_STATE;
      }
      if (batch_publishes_) {
        // Batched: the flush thread sends it when it is idle, or this thread when the batch
        // is full. The batch reuses its buffer, so a stream allocates nothing here.
        if (batch_.count() >= kPublishBatch || batched_bytes_ >= kPublishBatchBytes) {
          if (!flush_locked(zmq::send_flags::dontwait)) {
            if (why) *why = "the worker's queue to the host is full; message dropped";
            return CITYLINK_ERR_BACKPRESSURE;
          }
        }
        batch_.add(topic, std::string_view(reinterpret_cast<const char*>(envelope), size));
        batched_bytes_ += size;
        if (flusher_idle_) flush_cv_.notify_one();
        return CITYLINK_OK;
      }
      wv1::WorkerToHost p;
      p.mutable_publish()->set_topic(std::string(topic));
      p.mutable_publish()->set_envelope(envelope, size);
      if (!flush_locked(zmq::send_flags::dontwait)) {
        if (why) *why = "the worker's queue to the host is full; message dropped";
        return CITYLINK_ERR_BACKPRESSURE;
      }
      zmq::message_t bytes(p.ByteSizeLong());
      p.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(bytes.data()));
      if (out_.send(bytes, zmq::send_flags::dontwait)) {
        ++data_frames_;
        return CITYLINK_OK;
      }
      if (why) *why = "the worker's queue to the host is full; message dropped";
      return CITYLINK_ERR_BACKPRESSURE;
    };
    hooks.log = [this](citylink_log_level level, std::string_view message) {
      wv1::WorkerToHost l;
      l.mutable_log()->set_level(level);
      l.mutable_log()->set_message(std::string(message));
      send(l, zmq::send_flags::dontwait);
    };
    // The host's durable queue is the judge of a tag; the worker answers at once for the
    // tags it was handed (the range of them: tags of one queue only grow) and forwards.
    hooks.ack = [this](uint64_t tag) -> citylink_status {
      if (tag == 0) return CITYLINK_OK;
      if (!knows_tag(tag)) return CITYLINK_ERR_INVALID_ARGUMENT;
      wv1::WorkerToHost a;
      a.mutable_ack()->set_delivery_tag(tag);
      send_control(a, true, zmq::send_flags::none);
      return CITYLINK_OK;
    };
    hooks.nack = [this](uint64_t tag, bool requeue) -> citylink_status {
      if (tag == 0) return CITYLINK_OK;
      if (!knows_tag(tag)) return CITYLINK_ERR_INVALID_ARGUMENT;
      wv1::WorkerToHost a;
      a.mutable_nack()->set_delivery_tag(tag);
      a.mutable_nack()->set_requeue(requeue);
      send_control(a, true, zmq::send_flags::none);
      return CITYLINK_OK;
    };
    hooks.progress = [this](uint64_t tag) -> citylink_status {
      if (tag == 0) return CITYLINK_OK;
      if (!knows_tag(tag)) return CITYLINK_ERR_INVALID_ARGUMENT;
      wv1::WorkerToHost a;
      a.mutable_progress()->set_delivery_tag(tag);
      // Not ordered: applied early it only restarts an ack timeout, and a plugin may report
      // progress without bound while its publishes wait.
      send_control(a, false, zmq::send_flags::none);
      return CITYLINK_OK;
    };
    if (c.reads_publish_batches() && !flusher_.joinable()) {
      try {
        flusher_ = std::thread([this] { flush_loop(); });
        std::lock_guard lk(out_mu_);
        batch_publishes_ = true;
      } catch (const std::system_error&) {
        // No thread to be had under the worker's limits: each publish goes alone, as before.
      }
    }
    table_ = HostTable::create(c.instance_id(), std::move(hooks));
    citylink_error err{};
    err.struct_size = sizeof(err);
    instance_ = library_->entry().create(table_->api(), c.plugin_id().c_str(), c.config_json().c_str(), &err);
    if (!instance_) return result(seq, CITYLINK_ERR_CONFIG, error_text(err));
    if (instance_->struct_size < offsetof(citylink_instance, get_extension) || !instance_->start ||
        !instance_->stop || !instance_->destroy) {
      instance_ = nullptr;
      return result(seq, CITYLINK_ERR_UNSUPPORTED,
                    "the instance struct returned by create is incomplete; rebuild the plugin with the CityLink SDK");
    }
    result(seq, CITYLINK_OK, "", instance_->on_message != nullptr);
  }

  Options o_;
  FrameParser<wv1::HostToWorker> incoming_;  // the request being handled (see run)
  std::vector<batch_frames::Item> batch_in_;  // the deliveries being handled, read in place
  std::string topic_;                         // the delivery's topic, NUL-terminated
  Clock::time_point next_beat_ = Clock::now();
  zmq::context_t ctx_;
  zmq::socket_t in_;
  std::mutex out_mu_;
  // Topics the host refused lately (HostToWorker.publish_refused), refused here meanwhile.
  struct Refusal {
    citylink_status status;
    std::string reason;
    Clock::time_point until;
  };
  std::mutex refused_mu_;
  std::map<std::string, Refusal> refused_;  // under refused_mu_
  std::atomic<bool> refusing_{false};       // refused_ is not empty (checked without the lock)
  std::atomic<uint64_t> refused_held_{0};   // publishes refused here from refused_, for the heartbeat
  PublishRate rate_;                        // Create.publish_rate
  std::vector<std::string> critical_topics_;  // never limited by rate_
  std::atomic<uint64_t> refused_rate_{0};   // publishes refused here by rate_, for the heartbeat
  zmq::socket_t out_;
  uint64_t data_frames_ = 0;  // sent on out_ so far, under out_mu_ (WorkerToHost.after_data_frames)
  std::mutex control_mu_;
  zmq::socket_t control_;  // under control_mu_
  // Publishes waiting to leave as one PublishBatch (when the host reads them), under out_mu_.
  batch_frames::PublishBatchWriter batch_;
  std::size_t batched_bytes_ = 0;
  bool batch_publishes_ = false;
  bool closing_ = false;
  bool flusher_idle_ = false;
  std::condition_variable flush_cv_;
  std::thread flusher_;
  std::shared_ptr<PluginLibrary> library_;
  HostTable* table_ = nullptr;
  const citylink_instance* instance_ = nullptr;
  uint64_t handled_ = 0, failed_ = 0;
  uint64_t reported_handled_ = 0;  // handled_ as the last beat said it
  std::atomic<uint64_t> min_tag_{UINT64_MAX}, max_tag_{0};  // durable tags handed to the plugin
  void note_tag(uint64_t tag) {
    if (tag < min_tag_.load()) min_tag_.store(tag);
    if (tag > max_tag_.load()) max_tag_.store(tag);
  }
  bool knows_tag(uint64_t tag) const { return tag >= min_tag_.load() && tag <= max_tag_.load(); }
  enum class Phase { created, running, stopped };
  std::atomic<Phase> phase_{Phase::created};
};

}  // namespace

int run_worker(const std::vector<std::string>& args) {
  Options o;
  try {
    if (!parse(args, o)) throw std::invalid_argument("bad arguments");
  } catch (const std::exception&) {
    std::fprintf(stderr,
                 "usage: citylink worker --endpoint ipc://DIR --plugin FILE --sha256 HEX --instance NAME --parent PID "
                 "[--memory-mb N] [--open-files N] [--cpu-seconds N]\n(the host starts it; it is not run by hand)\n");
    return 2;
  }
  // Dies with the host, whatever the plugin does; and if the host died already, now.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != o.parent) return 3;
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);  // a Ctrl-C at the host's terminal reaches the host, which stops this worker in order
  // The logging thread and its queue are made first, outside the memory the plugin is given.
  set_log_level("warn");
  limit(RLIMIT_AS, o.memory_mb << 20);
  limit(RLIMIT_NOFILE, o.open_files);
  limit(RLIMIT_CPU, o.cpu_seconds);
  // Never destroyed: a plugin thread that outlived destroy may still be inside a host-table
  // hook that uses it. The process ends with _exit, without running the plugin's (or
  // anyone's) static destructors under such a thread.
  auto* w = new Worker(o);
  const int rc = w->run();
  w->close_output();
  flush_log();  // _exit runs no destructor, so the logging thread must be done first
  std::fflush(nullptr);
  _exit(rc);
}

}  // namespace citylink::host
