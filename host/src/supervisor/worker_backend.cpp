// The host's side of the worker protocol, and the supervisor of one worker process.
//
// Threads: the instance's dispatch thread sends Deliver requests; the supervisor thread
// owns the sockets from the worker, the data channel (Publish, Log) and the control channel
// (Heartbeat, Result, Ack, Nack, Progress), and watches the process:
// exit, or heartbeat silence inside a plugin call, ends it, and it is started again after a
// back-off, created and started again, until the restart limit marks the instance failed.
// Lifecycle requests (create, start, stop, destroy) are sent by whichever thread calls them
// and answered through the supervisor thread.
#include <citylink/host/child_process.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/worker.hpp>
#include <citylink/host/worker_backend.hpp>
#include <citylink/worker/v1/worker.pb.h>

#include "../worker/frame_parser.hpp"
#include "worker_requests.hpp"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace citylink::host {

namespace wv1 = citylink::worker::v1;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
// Deliveries a worker that reads batches may hold without having reported them handled: what
// its crash can take with it. Its worker reports every kReportEvery (worker_main.cpp). Their
// bytes are bounded too (WorkerSettings::window_bytes).
constexpr uint64_t kDeliveryWindow = 2048;
constexpr auto kHealthyAfter = std::chrono::minutes(10);
// Control messages held for data frames not yet served: acks behind a batch that waits. An
// honest worker holds back about one per durable delivery in flight (durable.in_flight is at
// most 100,000) and its answers; past this, one that claims data it never sends is cut off.
constexpr std::size_t kMaxHeldControl = 262144;
constexpr int64_t kMaxControlBytes = 64 * 1024;

// How a reaped worker ended, in the words `citylink run`, `inspect` and `verify` use for
// their children (child_process.hpp). r != pid: the system reaped it first (SIGCHLD ignored
// in this process, review L3), so how it ended is unknown.
std::string describe_exit(pid_t r, pid_t pid, int status) {
  ChildResult c;
  if (r != pid) c.status_lost = true;
  else if (WIFSIGNALED(status)) c.signal = WTERMSIG(status);
  else if (WIFEXITED(status)) c.exit_code = WEXITSTATUS(status);
  return describe(c, std::chrono::milliseconds(0));
}

class WorkerBackend final : public InstanceBackend {
 public:
  WorkerBackend(WorkerSettings s, std::string id, std::string config_json, std::shared_ptr<Publisher> publisher,
                std::shared_ptr<InstanceCounters> counters, DeliveryHooks delivery, zmq::context_t& ctx)
      : s_(std::move(s)),
        delivery_(std::move(delivery)),
        id_(std::move(id)),
        plugin_log_(id_),
        config_json_(std::move(config_json)),
        publisher_(std::move(publisher)),
        counters_(std::move(counters)),
        ctx_(ctx) {
    // A directory only this user can enter holds the ipc sockets, in a folder per worker.
    std::string dir_template = (std::filesystem::temp_directory_path() / "citylink-worker-XXXXXX").string();
    if (!mkdtemp(dir_template.data()))
      throw InstanceError("instance '" + id_ + "': cannot make a directory for its worker's sockets: " +
                          std::strerror(errno));
    dir_ = dir_template;
    // The worker is started on the supervisor thread, which lives as long as this backend:
    // a worker's PR_SET_PDEATHSIG fires when the *thread* that started it ends.
    supervisor_ = std::thread([this] { supervise(); });
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return first_launch_done_; });
    if (!running_) {
      const std::string why = first_launch_error_;
      stopping_ = true;
      cv_.notify_all();
      lk.unlock();
      supervisor_.join();
      cleanup();
      throw InstanceError("isolation: process: " + why);
    }
  }

  ~WorkerBackend() override {
    destroy();
    cleanup();
  }

  bool receives() const override {
    std::lock_guard lk(mu_);
    return receives_;
  }

  citylink_status start(std::string& error) override {
    {
      // A worker that ended between create and start is being replaced: wait for it.
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, 2 * s_.call_timeout + kMaxBackoff, [&] { return (running_ && !restarting_) || failed_; });
      if (!running_) {
        error = "its worker is not running (" + last_exit_ + ")";
        return CITYLINK_ERR_UNAVAILABLE;
      }
      last_beat_ = Clock::now();
    }
    const auto r = request_start(error);
    if (r == CITYLINK_OK) {
      std::lock_guard lk(mu_);
      started_ = true;
      serving_ = running_;
      serving_since_ = last_beat_ = Clock::now();
      cv_.notify_all();
    }
    return r;
  }

  bool deliver(const Delivery& delivery) override { return deliver_batch(&delivery, 1) == 1; }
  // The router's batch whole: cut into pieces of 32, it crossed the pipe in eight messages,
  // and isolated routing reached 45 % of raw ipc instead of 61 % (docs/performance.md). What
  // a crash takes with it is bounded by the delivery window, not by this.
  std::size_t batch_size() const override { return 256; }

  // All of them in one ZeroMQ message, or each alone to a worker that does not read batches.
  // Either way all or none are handed to one worker, so what a crash loses is counted whole.
  std::size_t deliver_batch(const Delivery* deliveries, std::size_t n) override {
    if (n == 0) return 0;
    bool batches;
    {
      std::lock_guard lk(mu_);
      batches = reads_batches_;
    }
    if (n > 1 && !batches) return InstanceBackend::deliver_batch(deliveries, n);
    // A worker that reads batches always gets one, written straight from the queue's
    // buffers into the message ZeroMQ sends (batch_frames); one that does not, one Deliver.
    wv1::HostToWorker& m = outgoing_;  // the dispatch thread's own: reused, its strings kept
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) bytes += deliveries[i].topic.size() + deliveries[i].size;
    if (batches) {
      items_out_.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const Delivery& d = deliveries[i];
        items_out_.push_back(batch_frames::Item{
            d.topic, std::string_view(reinterpret_cast<const char*>(d.envelope), d.size), d.delivery_tag,
            d.redelivery_count});
      }
    } else {
      fill(*m.mutable_deliver(), deliveries[0]);
    }
    std::unique_lock lk(mu_);
    while (true) {
      // While the worker restarts, deliveries wait here, and the instance's queue holds the
      // rest (bounded; the router counts what overflows).
      cv_.wait(lk, [&] { return serving_ || failed_ || stopping_ || draining_; });
      if (!serving_) {
        // A durable delivery stays in the outbox for the next start; any other is gone.
        for (std::size_t i = 0; i < n; ++i)
          if (deliveries[i].delivery_tag == 0) counters_->dropped_stopped.fetch_add(1, std::memory_order_relaxed);
        return 0;
      }
      if (window_full(n, bytes)) {
        if (deliveries[0].delivery_tag != 0) {
          // A durable batch stays in the outbox; the heartbeat that opens the window calls
          // DeliveryHooks::room (see the interface for why this is not waited for).
          durable_waiting_ = true;
          return 0;
        }
        // Its heartbeats report what it handled and wake this; a worker that stops reporting
        // is ended by its heartbeat timeout, and its successor starts with an empty window.
        cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return !serving_ || !window_full(n, bytes); });
        continue;
      }
      const uint64_t seq = ++seq_;
      const uint64_t generation = generation_;
      lk.unlock();
      bool sent;
      if (batches) {
        zmq::message_t frame(batch_frames::deliver_batch_size(seq, items_out_.data(), n));
        batch_frames::write_deliver_batch(seq, items_out_.data(), n, frame.data());
        sent = send(frame, std::chrono::milliseconds(200));
      } else {
        m.set_seq(seq);
        sent = send(m, std::chrono::milliseconds(200));
      }
      lk.lock();
      if (sent) {
        if (generation == generation_) {
          sent_deliveries_ += n;
          in_hands_.emplace_back(sent_deliveries_, bytes);
          held_bytes_ += bytes;
          settle_window();  // the worker may have reported it handled already
        }
        else counters_->lost_in_worker.fetch_add(n, std::memory_order_relaxed);
        return n;
      }
      // The worker's queue is full or the worker is gone; wait for it (or its successor).
    }
  }

  // Under mu_. Whether `n` more deliveries of `bytes` would put more than kDeliveryWindow, or
  // more than window_bytes, in this worker's hands (its pipe and its queue) unreported. One
  // batch always fits an empty window.
  bool window_full(std::size_t n, std::size_t bytes) const {
    if (!reads_batches_) return false;  // such a worker reports only every 200 ms: the pipe's bound holds
    const uint64_t held = sent_deliveries_ > handled_ ? sent_deliveries_ - handled_ : 0;
    // At a stop the window closes to one batch, so the Stop request waits behind few
    // deliveries (a slow plugin must answer it within call_timeout_ms).
    const uint64_t window = draining_ ? 32 : kDeliveryWindow;
    return held > 0 && (held + n > window || held_bytes_ + bytes > s_.window_bytes);
  }

  // Under mu_. The batches the worker reported handled leave its hands.
  void settle_window() {
    while (!in_hands_.empty() && in_hands_.front().first <= handled_) {
      held_bytes_ -= in_hands_.front().second;
      in_hands_.pop_front();
    }
  }

  static void fill(wv1::Deliver& d, const Delivery& from) {
    d.mutable_topic()->assign(from.topic.data(), from.topic.size());
    d.mutable_envelope()->assign(reinterpret_cast<const char*>(from.envelope), from.size);
    d.set_delivery_tag(from.delivery_tag);
    d.set_redelivery_count(from.redelivery_count);
  }

  void begin_stop() override {
    std::lock_guard lk(mu_);
    draining_ = true;
    cv_.notify_all();
  }

  void stop() override {
    {
      std::unique_lock lk(mu_);
      // A restart in progress finishes (or gives up) first, so it never starts the plugin
      // again after this stop.
      cv_.wait_for(lk, 2 * s_.call_timeout, [&] { return !restarting_; });
      if (!started_ || stopped_) return;
      stopped_ = true;
      if (!running_) {  // between restarts, or failed: nothing to stop
        started_ = serving_ = false;
        return;
      }
    }
    std::string error;
    wv1::HostToWorker m;
    m.mutable_stop();
    const auto r = request(m, s_.call_timeout, error);
    if (r != CITYLINK_OK) log()->warn("[{}] stop in its worker: {}", id_, error);
    std::lock_guard lk(mu_);
    started_ = serving_ = false;
  }

  void destroy() override {
    {
      std::lock_guard lk(mu_);
      if (destroyed_) return;
      destroyed_ = true;
    }
    std::string error;
    wv1::HostToWorker m;
    m.mutable_destroy();
    if (alive()) {
      const auto r = request(m, s_.call_timeout, error);
      if (r != CITYLINK_OK) log()->warn("[{}] destroy in its worker: {}", id_, error);
    }
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (supervisor_.joinable()) supervisor_.join();
    // The worker exits after destroy; one that does not is ended.
    end_process(std::chrono::milliseconds(2000));
  }

  bool failed() const override {
    std::lock_guard lk(mu_);
    return failed_;
  }

  std::string failure() const override {
    std::lock_guard lk(mu_);
    return failure_;
  }

  std::string where() const override {
    std::lock_guard lk(mu_);
    return pid_ > 0 ? "worker pid " + std::to_string(pid_) : std::string("worker (not running)");
  }

  int pid() const {
    std::lock_guard lk(mu_);
    return running_ ? pid_ : 0;
  }

 private:
  bool alive() const {
    std::lock_guard lk(mu_);
    return running_;
  }

  bool send(const wv1::HostToWorker& m, std::chrono::milliseconds timeout) {
    // Serialised straight into the message ZeroMQ sends: one buffer, one copy.
    zmq::message_t bytes(m.ByteSizeLong());
    m.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(bytes.data()));
    return send(bytes, timeout);
  }

  bool send(zmq::message_t& bytes, std::chrono::milliseconds timeout) {
    std::lock_guard lk(to_mu_);
    if (timeout != send_timeout_) {
      to_.set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
      send_timeout_ = timeout;
    }
    try {
      return to_.send(bytes, zmq::send_flags::none).has_value();
    } catch (const zmq::error_t&) {
      return false;
    }
  }

  // Sends a lifecycle request and waits for its Result (answered through the supervisor).
  citylink_status request(wv1::HostToWorker& m, std::chrono::milliseconds timeout, std::string& error) {
    uint64_t seq;
    uint64_t generation;
    {
      std::lock_guard lk(mu_);
      seq = ++seq_;
      generation = generation_;
      waiting_.insert(seq);
    }
    m.set_seq(seq);
    if (!send(m, timeout)) {
      std::lock_guard lk(mu_);
      waiting_.erase(seq);
      error = "the worker did not take the request within " + std::to_string(timeout.count()) + " ms";
      return CITYLINK_ERR_UNAVAILABLE;
    }
    std::unique_lock lk(mu_);
    const bool answered = cv_.wait_for(lk, timeout, [&] { return results_.count(seq) || generation_ != generation; });
    waiting_.erase(seq);
    if (!answered || !results_.count(seq)) {
      error = answered ? "the worker ended before it answered (" + last_exit_ + ")"
                       : "no answer from the worker within " + std::to_string(timeout.count()) + " ms";
      return answered ? CITYLINK_ERR_UNAVAILABLE : CITYLINK_ERR_INTERNAL;
    }
    auto r = std::move(results_[seq]);
    results_.erase(seq);
    error = escape_log_text(r.message());
    return r.status();
  }

  citylink_status request_start(std::string& error) {
    wv1::HostToWorker m;
    m.mutable_start();
    return request(m, s_.call_timeout, error);
  }

  // Starts a worker process and creates the plugin instance in it, on the calling thread
  // (the constructor) or the supervisor thread (a restart): both read from_ directly
  // because the supervisor loop is not reading it meanwhile.
  bool launch(std::string& why) {
    settle_predecessor();
    if (!open_channels(why)) return false;
    std::vector<std::string> argv = s_.command;
    argv.insert(argv.end(), {"--endpoint", "ipc://" + folder_, "--plugin", s_.plugin_file, "--sha256",
                             s_.plugin_sha256, "--instance", id_, "--parent", std::to_string(getpid())});
    if (s_.memory_mb) argv.insert(argv.end(), {"--memory-mb", std::to_string(s_.memory_mb)});
    if (s_.open_files) argv.insert(argv.end(), {"--open-files", std::to_string(s_.open_files)});
    if (s_.cpu_seconds) argv.insert(argv.end(), {"--cpu-seconds", std::to_string(s_.cpu_seconds)});
    // A clean environment: nothing of the host's (keys, tokens, library paths) reaches plugin code.
    int pid = 0;
    try {
      pid = spawn_process(argv, plugin_environment());
    } catch (const std::exception& e) {
      why = std::string("cannot start the worker process: ") + e.what();
      return false;
    }
    {
      std::lock_guard lk(mu_);
      pid_ = pid;
      ++generation_;
      sent_deliveries_ = 0;
      handled_ = 0;
      in_hands_.clear();
      held_bytes_ = 0;
      durable_waiting_ = false;  // what it turned away is redelivered with what was lost
      failed_reported_ = 0;
      refused_held_reported_ = 0;
      refused_rate_reported_ = 0;
    }
    // Hello, then the instance is created.
    const auto deadline = Clock::now() + s_.call_timeout;
    std::optional<wv1::WorkerToHost> hello = read_until(deadline, [](const wv1::WorkerToHost& w) { return w.has_hello(); });
    if (!hello) {
      why = "the worker process did not say hello within " + std::to_string(s_.call_timeout.count()) + " ms (" +
            reap_now() + ")";
      kill_process();
      return false;
    }
    if (hello->hello().protocol() != kWorkerProtocol) {
      why = "the worker speaks protocol " + std::to_string(hello->hello().protocol()) + ", this host speaks " +
            std::to_string(kWorkerProtocol) + "; run the `citylink` of the same release";
      kill_process();
      return false;
    }
    if (hello->hello().pid() != pid) {
      why = "a process other than the worker started (pid " + std::to_string(hello->hello().pid()) + ", started " +
            std::to_string(pid) + ") answered on its socket";
      kill_process();
      return false;
    }
    {
      std::lock_guard lk(mu_);
      reads_batches_ = hello->hello().reads_batches();
    }
    wv1::HostToWorker create;
    const uint64_t create_seq = expect_answer();
    create.set_seq(create_seq);
    auto* c = create.mutable_create();
    c->set_plugin_id(s_.plugin_id);
    c->set_instance_id(id_);
    c->set_config_json(config_json_);
    c->set_max_message_bytes(s_.max_message_bytes);
    c->set_publish_rate(s_.publish_rate);
    for (const auto& t : s_.critical_topics) c->add_critical_topics(t);
    c->set_reads_publish_batches(true);
    if (!send(create, s_.call_timeout)) {
      why = "the worker did not take its create request";
      kill_process();
      return false;
    }
    auto result = await_answer(create_seq, Clock::now() + s_.call_timeout);
    if (!result) {
      why = "no answer to create within " + std::to_string(s_.call_timeout.count()) + " ms (" + reap_now() + ")";
      kill_process();
      return false;
    }
    if (result->result().status() != CITYLINK_OK) {
      why = "create failed: " + escape_log_text(result->result().message());
      kill_process();
      return false;
    }
    {
      std::lock_guard lk(mu_);
      running_ = true;
      receives_ = result->result().receives();
      last_beat_ = Clock::now();
      cv_.notify_all();
    }
    log()->info("[{}] runs isolated in worker pid {}", id_, pid);
    return true;
  }

  // Each worker process gets sockets of its own, in a folder of its own (`<dir>/<n>/`): a
  // frame its predecessor sent that was still on its way when the predecessor was settled
  // goes with the predecessor's sockets, and is never counted as the new worker's data (which
  // would apply its ordered control messages early), nor a delivery handed to a dead worker's
  // connection.
  bool open_channels(std::string& why) {
    const std::string folder = dir_ + "/" + std::to_string(++channels_);
    if (mkdir(folder.c_str(), 0700) != 0) {
      why = "cannot make a directory for its worker's sockets (" + folder + "): " + std::strerror(errno);
      return false;
    }
    zmq::socket_t to, from, control;
    // On the supervisor thread, where an exception would end the host: a socket that cannot
    // be made (the process is out of descriptors) fails this worker's start instead.
    try {
      to = zmq::socket_t(ctx_, zmq::socket_type::push);
      from = zmq::socket_t(ctx_, zmq::socket_type::pull);
      control = zmq::socket_t(ctx_, zmq::socket_type::pull);
      // Few deliveries in flight to a worker: what is in flight is lost if it crashes (and
      // counted); the rest waits in the instance's own queue. A worker that reads batches is
      // held to kDeliveryWindow deliveries it has not reported handled; for one that does not,
      // this high-water mark (in ZeroMQ messages) is the bound.
      to.set(zmq::sockopt::sndhwm, 100);
      to.set(zmq::sockopt::linger, 0);
      from.set(zmq::sockopt::linger, 0);
      control.set(zmq::sockopt::linger, 0);
      // A control message is small (an answer's text is at most CITYLINK_ERROR_MESSAGE_MAX plus
      // a path): what a worker holds back cannot grow the host by large messages.
      control.set(zmq::sockopt::maxmsgsize, int64_t{kMaxControlBytes});
      to.bind("ipc://" + folder + "/to-worker");
      from.bind("ipc://" + folder + "/from-worker");
      control.bind("ipc://" + folder + "/control");
    } catch (const zmq::error_t& e) {
      why = "cannot open the worker's sockets in " + folder + ": " + e.what();
      for (auto* s : {&to, &from, &control})
        if (s->handle()) s->close();
      std::error_code ec;
      std::filesystem::remove_all(folder, ec);
      return false;
    }
    {
      std::lock_guard lk(to_mu_);
      to_ = std::move(to);
      send_timeout_ = std::chrono::milliseconds(-2);
    }
    from_ = std::move(from);
    control_ = std::move(control);
    std::error_code ec;
    if (!folder_.empty()) std::filesystem::remove_all(folder_, ec);
    folder_ = folder;
    return true;
  }

  // Before a worker starts: what its predecessor sent and the host has not read yet is read
  // now (its publishes were answered OK; the restart's back-off gave them time to arrive);
  // its sockets are closed after (open_channels). What its control channel still held back
  // is dropped: those acks' deliveries go again (DeliveryHooks::lost). The new worker counts
  // its data channel from its Hello on.
  void settle_predecessor() {
    if (!from_.handle()) return;  // the first worker
    zmq::message_t raw;
    while (receive(from_, raw, zmq::recv_flags::dontwait)) handle_data(raw);
    read_control(std::chrono::milliseconds(0));
    data_served_ = 0;
    held_control_.clear();
    broke_protocol_.clear();
  }

  // A request the supervisor itself waits for (create, a restart's start): its answer may be
  // applied while a publish waits inside read_until (the control channel is read then), so
  // it is kept as a lifecycle answer (waiting_), never taken for a failed delivery.
  uint64_t expect_answer() {
    std::lock_guard lk(mu_);
    const uint64_t seq = ++seq_;
    waiting_.insert(seq);
    return seq;
  }

  // The answer to `seq`, once it has been applied (handle() keeps the answers of waiting_).
  std::optional<wv1::WorkerToHost> take_answer(uint64_t seq) {
    std::lock_guard lk(mu_);
    const auto it = results_.find(seq);
    if (it == results_.end()) return std::nullopt;
    wv1::WorkerToHost w;
    w.set_seq(seq);
    *w.mutable_result() = std::move(it->second);
    results_.erase(it);
    return w;
  }

  // Reads from the worker until a data frame matches `wanted` or the answer to `answer_seq`
  // (from expect_answer) has been applied, handling everything else on the way.
  template <class Pred>
  std::optional<wv1::WorkerToHost> read_until(Clock::time_point deadline, Pred wanted, uint64_t answer_seq = 0) {
    std::optional<wv1::WorkerToHost> found;
    while (!found && Clock::now() < deadline) {
      zmq::pollitem_t items[] = {{from_.handle(), 0, ZMQ_POLLIN, 0}, {control_.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(50));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      read_control(std::chrono::milliseconds(0));
      zmq::message_t raw;
      while (!found && receive(from_, raw, zmq::recv_flags::dontwait)) {
        serve_data_frame([&] {
          wv1::WorkerToHost w;
          const bool parsed = w.ParseFromArray(raw.data(), static_cast<int>(raw.size()));
          if (parsed && wanted(w)) found = std::move(w);
          else if (parsed) handle(w);
        });
      }
      if (!found && answer_seq) found = take_answer(answer_seq);
      if (!found && process_ended()) break;
    }
    if (answer_seq) {
      std::lock_guard lk(mu_);
      waiting_.erase(answer_seq);
      results_.erase(answer_seq);
    }
    return found;
  }

  // The answer to a request made by expect_answer, read as read_until reads.
  std::optional<wv1::WorkerToHost> await_answer(uint64_t seq, Clock::time_point deadline) {
    return read_until(deadline, [](const wv1::WorkerToHost&) { return false; }, seq);
  }

  WorkerRequestTargets request_targets() {
    auto keep_waiting = [this] {
      std::lock_guard lk(mu_);
      return !stopping_ && !draining_ && !destroyed_ && !failed_;
    };
    auto refused = [this](const std::string& topic, citylink_status status, const std::string& why) {
      wv1::HostToWorker notice;
      notice.mutable_publish_refused()->set_topic(topic);
      notice.mutable_publish_refused()->set_status(status);
      notice.mutable_publish_refused()->set_reason(why);
      (void)send(notice, std::chrono::milliseconds(0));  // a full pipe: the next refusal tells it
    };
    // The control channel is read while a publish waits: the worker's heartbeats (its window,
    // its liveness) and the answers to start do not wait behind it (reliability.md §4).
    auto meanwhile = [this] { read_control(std::chrono::milliseconds(1)); };
    return WorkerRequestTargets{id_, *publisher_, plugin_log_, delivery_, keep_waiting, meanwhile, refused};
  }

  // A heartbeat: the counts it reports, and the window they open. True when a durable
  // batch was turned away by the full window and there is room now.
  bool heartbeat(const wv1::Heartbeat& b) {
    std::lock_guard lk(mu_);
    // What the previous worker counted is settled: handled, or lost with it.
    if (b.pid() != pid_) return false;
    last_beat_ = Clock::now();
    const uint64_t handled = b.handled(), failed = b.failed();
    if (handled > handled_) {
      // A worker runs vendor code, so its numbers are checked: failures are a part of what
      // it handled, never more (a counter that wrapped would hide every later delivery).
      const uint64_t new_failed =
          std::min(failed > failed_reported_ ? failed - failed_reported_ : 0, handled - handled_);
      counters_->delivered.fetch_add(handled - handled_ - new_failed, std::memory_order_relaxed);
      counters_->failed.fetch_add(new_failed, std::memory_order_relaxed);
    }
    if (handled > handled_) cv_.notify_all();  // the delivery window has room again
    handled_ = std::max(handled_, handled);
    settle_window();
    failed_reported_ = std::max(failed_reported_, failed);
    // Refusals the worker made itself while the host's refusal of that topic held: counted
    // with the host's own (issue 9: they went uncounted).
    if (const uint64_t held = b.refused_held(); held > refused_held_reported_) {
      counters_->refused_durable.fetch_add(held - refused_held_reported_, std::memory_order_relaxed);
      refused_held_reported_ = held;
    }
    if (const uint64_t rated = b.refused_rate(); rated > refused_rate_reported_) {
      counters_->refused_rate.fetch_add(rated - refused_rate_reported_, std::memory_order_relaxed);
      refused_rate_reported_ = rated;
    }
    if (!durable_waiting_ || window_full(1, 0)) return false;
    durable_waiting_ = false;
    return true;
  }

  // A frame of the data channel: the worker's publishes, read in place; any other frame, parsed.
  void handle_data(const zmq::message_t& raw) {
    serve_data_frame([&] {
      if (batch_frames::read_publish_batch(raw.data(), raw.size(), publishes_in_))
        serve_publish_batch(publishes_in_, request_targets());
      else if (const wv1::WorkerToHost* w = from_worker_.parse(raw))
        handle(*w);
    });
  }

  // A data frame is counted as served even when serving it throws: a count left short would
  // hold every later ordered control message back until the worker was taken for a forger.
  template <class Serve>
  void serve_data_frame(Serve serve) {
    try {
      serve();
    } catch (...) {
      data_frame_served();
      throw;
    }
    data_frame_served();
  }

  // One more data frame served: what the control channel said for after it applies now.
  void data_frame_served() {
    ++data_served_;
    while (!held_control_.empty() && held_control_.front().after_data_frames() <= data_served_) {
      const wv1::WorkerToHost w = std::move(held_control_.front());
      held_control_.pop_front();
      handle(w);
    }
  }

  // Reads what waits on the control channel, waiting up to `timeout` for the first of it.
  void read_control(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{control_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (timeout.count() > 0) zmq::poll(&item, 1, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
    zmq::message_t raw;
    // At most so many at a time: a worker that floods its control channel never keeps the
    // supervisor from its other duties (a stop, the process's health).
    for (int n = 0; n < 256 && receive(control_, raw, zmq::recv_flags::dontwait); ++n)
      if (const wv1::WorkerToHost* w = from_control_.parse(raw)) handle_control(*w);
  }

  // A frame of the control channel: applied now, or once the data frames it follows are
  // served (after_data_frames). Only the control messages are taken there: a publish on it
  // would be served while another waits, out of order and without bound.
  void handle_control(const wv1::WorkerToHost& w) {
    switch (w.event_case()) {
      case wv1::WorkerToHost::kHeartbeat:
      case wv1::WorkerToHost::kResult:
      case wv1::WorkerToHost::kAck:
      case wv1::WorkerToHost::kNack:
      case wv1::WorkerToHost::kProgress: break;
      default:
        if (const uint64_t n = ++control_refused_; n <= 5 || n % 1000 == 0)
          log()->warn("[{}] its worker sent a message that is not a control message (field {}) on its control "
                      "channel; ignored (#{})",
                      id_, static_cast<int>(w.event_case()), n);
        return;
    }
    if (w.after_data_frames() == 0 || (held_control_.empty() && w.after_data_frames() <= data_served_))
      return handle(w);
    if (held_control_.size() >= kMaxHeldControl) {
      // A worker that says it sent far more than it did has broken the protocol (its plugin
      // wrote to the worker's socket itself): it is ended as a crashed one, restarted, and
      // failed at the restart limit; what it holds back never grows past this.
      if (broke_protocol_.empty()) {
        broke_protocol_ = "broke the worker protocol: " + std::to_string(held_control_.size()) +
                          " control messages wait for data it never sent";
        log()->error("[{}] its worker {}; it is ended", id_, broke_protocol_);
        kill_process();
      }
      held_control_.clear();
      return;
    }
    held_control_.push_back(w);
  }

  void handle(const wv1::WorkerToHost& w) {
    if (serve_worker_request(w, request_targets())) return;
    switch (w.event_case()) {
      case wv1::WorkerToHost::kHeartbeat: {
        if (heartbeat(w.heartbeat()) && delivery_.room) delivery_.room();  // outside mu_
        break;
      }
      case wv1::WorkerToHost::kResult: {
        std::lock_guard lk(mu_);
        if (!waiting_.count(w.seq())) {
          // A delivery that failed: counted by the next heartbeat, logged here.
          const uint64_t n = ++failures_logged_;
          if (n <= 5 || n % 1000 == 0)
            log()->warn("[{}] on_message failed in its worker (status {}, #{}): {}", id_, w.result().status(), n,
                        escape_log_text(w.result().message()));
          break;
        }
        results_[w.seq()] = w.result();
        cv_.notify_all();
        break;
      }
      default: break;
    }
  }

  void supervise() {
    {
      std::string why;
      const bool ok = launch(why);
      std::lock_guard lk(mu_);
      first_launch_done_ = true;
      first_launch_error_ = why;
      cv_.notify_all();
      if (!ok) return;
    }
    while (true) {
      {
        std::lock_guard lk(mu_);
        if (stopping_) return;
      }
      zmq::pollitem_t items[] = {{from_.handle(), 0, ZMQ_POLLIN, 0}, {control_.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(100));
        if (items[1].revents & ZMQ_POLLIN) read_control(std::chrono::milliseconds(0));
        zmq::message_t raw;
        // A drain that goes on (a flood) looks at the control channel now and then; an empty
        // look costs a system call, so not at every frame.
        for (unsigned n = 1; receive(from_, raw, zmq::recv_flags::dontwait); ++n) {
          handle_data(raw);
          if (n % 64 == 0) read_control(std::chrono::milliseconds(0));
        }
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return;
        log()->error("[{}] worker channel: {}", id_, e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::string why;
      {
        std::lock_guard lk(mu_);
        if (destroyed_ || failed_) continue;  // a worker asked to destroy ends by itself
      }
      if (process_ended()) {
        why = broke_protocol_.empty() ? last_exit_ : broke_protocol_;
      } else if (hung()) {
        why = "hung: no heartbeat for " + std::to_string(s_.heartbeat_timeout.count()) + " ms";
        kill_process();
      } else {
        continue;
      }
      restart(why);
    }
  }

  // Under no lock. True when the worker process is gone (and reaped).
  bool process_ended() {
    int pid;
    {
      std::lock_guard lk(mu_);
      pid = pid_;
    }
    if (pid <= 0) return true;
    // Ended? Looked at without reaping, so its process group id cannot be reused yet and
    // what the plugin forked into it is killed with it.
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0)
      return false;
    ::kill(-pid, SIGKILL);
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0) return false;
    {
      std::lock_guard lk(mu_);
      last_exit_ = describe_exit(r, pid, status);
      pid_ = 0;
      const bool was_running = running_;
      running_ = false;
      serving_ = false;
      ++generation_;
      if (was_running) {
        // What was handed to the worker and not handled is lost with it; counted.
        const uint64_t lost = sent_deliveries_ > handled_ ? sent_deliveries_ - handled_ : 0;
        counters_->lost_in_worker.fetch_add(lost, std::memory_order_relaxed);
        if (lost) log()->warn("[{}] {} message(s) were in its worker when it ended; counted as lost", id_, lost);
      }
      cv_.notify_all();
    }
    // Durable deliveries it did not ack go again, to its successor (outside mu_: the queue
    // has its own lock).
    if (delivery_.lost) delivery_.lost();
    return true;
  }

  // Only a started instance beats: create and start have their own deadline (call_timeout).
  bool hung() {
    std::lock_guard lk(mu_);
    return running_ && started_ && !stopped_ && Clock::now() - last_beat_ > s_.heartbeat_timeout;
  }

  void kill_process() {
    int pid;
    {
      std::lock_guard lk(mu_);
      pid = pid_;
    }
    if (pid > 0) {
      ::kill(-pid, SIGKILL);  // its group: what the plugin forked goes too
      ::kill(pid, SIGKILL);
    }
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (!process_ended() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  std::string reap_now() {
    if (process_ended()) {
      std::lock_guard lk(mu_);
      return "it " + last_exit_;
    }
    return "it is still running";
  }

  void end_process(std::chrono::milliseconds grace) {
    const auto until = Clock::now() + grace;
    while (!process_ended() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill_process();
  }

  void restart(const std::string& why) {
    int attempt;
    {
      std::lock_guard lk(mu_);
      // A worker that served for a while before it ended starts the count afresh: the limit
      // is for a plugin that keeps failing, not one that fails once a day.
      if (serving_since_ != Clock::time_point{} && Clock::now() - serving_since_ > kHealthyAfter) restarts_ = 0;
      serving_since_ = {};
      attempt = ++restarts_;
      restarting_ = true;
    }
    struct Done {
      WorkerBackend* self;
      ~Done() {
        std::lock_guard lk(self->mu_);
        self->restarting_ = false;
        self->cv_.notify_all();
      }
    } done{this};
    if (attempt > s_.restart_limit) {
      std::unique_lock lk(mu_);
      failed_ = true;
      failure_ = "its worker " + why + " and was restarted " + std::to_string(s_.restart_limit) +
                 " time(s), the limit (worker.restart_limit)";
      restarting_ = false;  // given up: a stop need not wait for it
      cv_.notify_all();
      log()->error("[{}] FAILED: its worker {} and was restarted {} time(s), the limit (worker.restart_limit); the "
                   "city runs on without it. Fix the plugin, then restart the host",
                   id_, why, s_.restart_limit);
      cv_.wait(lk, [&] { return stopping_; });
      return;
    }
    auto delay = s_.backoff * (1 << std::min(attempt - 1, 16));
    delay = std::min<std::chrono::milliseconds>(delay, kMaxBackoff);
    log()->error("[{}] its worker {}; restart {} of {} in {} ms", id_, why, attempt, s_.restart_limit, delay.count());
    {
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, delay, [&] { return stopping_ || draining_; })) return;
    }
    std::string launch_why;
    bool started = false;
    counters_->restarts.fetch_add(1, std::memory_order_relaxed);
    if (launch(launch_why)) {
      bool was_started;
      {
        std::lock_guard lk(mu_);
        was_started = started_ && !stopped_ && !stopping_ && !draining_;
      }
      if (!was_started) return;  // created again; start comes with the host's start, if any
      // Replays what the instance had: its config (in create) and its start. Its
      // subscriptions live in the host, so its queue kept filling meanwhile.
      wv1::HostToWorker m;
      m.mutable_start();
      const uint64_t seq = expect_answer();
      m.set_seq(seq);
      if (send(m, s_.call_timeout)) {
        auto r = await_answer(seq, Clock::now() + s_.call_timeout);
        started = r && r->result().status() == CITYLINK_OK;
        if (!started)
          launch_why = r ? "start failed: " + escape_log_text(r->result().message()) : "gave no answer to start";
      } else {
        launch_why = "did not take its start request";
      }
      if (started) {
        {
          std::lock_guard lk(mu_);
          serving_ = true;
          serving_since_ = last_beat_ = Clock::now();
          cv_.notify_all();
        }
        log()->info("[{}] worker restarted (pid {})", id_, pid());
        return;
      }
      kill_process();
    }
    restart(launch_why);
  }

  void cleanup() {
    if (to_.handle()) to_.close();
    if (from_.handle()) from_.close();
    if (control_.handle()) control_.close();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  WorkerSettings s_;
  DeliveryHooks delivery_;
  std::string id_;
  PluginLog plugin_log_;  // its plugin's lines, as from an in-process one
  std::string config_json_;
  std::shared_ptr<Publisher> publisher_;
  std::shared_ptr<InstanceCounters> counters_;
  zmq::context_t& ctx_;
  std::string dir_;
  uint64_t channels_ = 0;  // sockets opened, one set per worker process
  std::string folder_;     // the current worker's sockets: <dir_>/<channels_>
  std::mutex to_mu_;
  zmq::socket_t to_;
  zmq::socket_t from_;     // the data channel
  zmq::socket_t control_;  // the control channel
  std::thread supervisor_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int pid_ = 0;
  uint64_t generation_ = 0;  // one per worker process
  uint64_t seq_ = 0;
  bool running_ = false;     // a worker with a created instance is up
  bool serving_ = false;     // ... and started: deliveries go to it
  bool restarting_ = false;  // the supervisor is replacing the worker
  bool draining_ = false;    // the instance stops: deliveries no longer wait for a worker
  bool first_launch_done_ = false;
  std::string first_launch_error_;
  Clock::time_point serving_since_{};
  bool started_ = false;     // the host started the instance (and has not stopped it)
  bool stopped_ = false;
  bool destroyed_ = false;
  bool stopping_ = false;
  bool failed_ = false;
  bool receives_ = false;
  bool reads_batches_ = false;  // this worker's Hello said it reads HostToWorker.deliver_batch
  int restarts_ = 0;
  std::string last_exit_;
  std::string failure_;  // under mu_: why it was given up, once failed_
  Clock::time_point last_beat_{};
  uint64_t sent_deliveries_ = 0;  // this worker's
  uint64_t handled_ = 0;          // reported by its heartbeats
  // Each batch it holds: sent_deliveries_ once it was sent, and its bytes.
  std::deque<std::pair<uint64_t, std::size_t>> in_hands_;
  std::size_t held_bytes_ = 0;  // the sum of in_hands_' bytes
  bool durable_waiting_ = false;  // a durable batch was turned away by the full window
  uint64_t failed_reported_ = 0;
  uint64_t refused_held_reported_ = 0;  // the worker's own refusals, counted so far
  uint64_t refused_rate_reported_ = 0;  // ... and those over its publish_rate
  uint64_t failures_logged_ = 0;
  std::set<uint64_t> waiting_;  // lifecycle requests someone waits for; other Results are deliveries
  std::vector<batch_frames::Item> items_out_;  // the dispatch thread's own, as outgoing_
  wv1::HostToWorker outgoing_;  // deliveries being sent; the dispatch thread's only
  std::vector<batch_frames::Item> publishes_in_;  // the worker's publishes being served, read in place
  FrameParser<wv1::WorkerToHost> from_worker_;  // what the worker said; the supervisor thread's only
  // Read while a frame of from_worker_ may be served (a publish that waits): a parser of its own.
  FrameParser<wv1::WorkerToHost> from_control_{16 * 1024};
  // The supervisor thread's only, both reset for each worker: the data frames served so far,
  // and the control messages that wait for more of them, in the order they came.
  uint64_t data_served_ = 0;
  std::deque<wv1::WorkerToHost> held_control_;
  uint64_t control_refused_ = 0;
  std::string broke_protocol_;  // why the supervisor ended this worker, if for its protocol
  std::chrono::milliseconds send_timeout_{-2};  // to_'s ZMQ_SNDTIMEO, under to_mu_
  std::map<uint64_t, wv1::Result> results_;
};

}  // namespace

std::unique_ptr<InstanceBackend> make_worker_backend(WorkerSettings settings, std::string instance_id,
                                                     std::string config_json, std::shared_ptr<Publisher> publisher,
                                                     std::shared_ptr<InstanceCounters> counters,
                                                     DeliveryHooks delivery, zmq::context_t& ctx) {
  return std::make_unique<WorkerBackend>(std::move(settings), std::move(instance_id), std::move(config_json),
                                         std::move(publisher), std::move(counters), std::move(delivery), ctx);
}

int worker_pid(const InstanceBackend& backend) {
  const auto* w = dynamic_cast<const WorkerBackend*>(&backend);
  return w ? w->pid() : 0;
}

}  // namespace citylink::host
