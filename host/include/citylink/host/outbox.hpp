// The durable outbox: one SQLite file (WAL) per host that holds every envelope of a durable
// subscription from the moment the host accepted it for the subscriber until the subscriber
// acks it, and the dead letters (see docs/delivery.md).
#pragma once

#include <citylink/host/router.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct sqlite3;

namespace citylink::host {

// The outbox file cannot be opened or written; the message names the file, what failed and the fix.
class OutboxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OutboxOptions {
  std::filesystem::path path;
  uint64_t max_bytes = 0;  // the file's size limit (a full outbox refuses, loudly); 0: the disk's
  // true: every commit is on disk before it returns (synchronous=FULL), so a power cut loses
  // nothing committed; false (default): a crash of the host loses nothing, a power cut may
  // lose the last commits (synchronous=NORMAL in WAL mode).
  bool fsync_each_commit = false;
};

// One envelope waiting for its subscriber's ack.
struct OutboxRow {
  // Per subscriber, the order of delivery: the subscriber's id in the high bits, its own
  // count below (so one subscriber's rows are one range of the table's key).
  int64_t seq = 0;
  std::string topic;
  std::string envelope;  // the bytes as first accepted (stamped by the router)
  int64_t accepted_unix_ms = 0;
  uint32_t deliveries = 0;  // deliveries so far, as last written (see OutboxBatch::delivered_upto)
  // Deliveries that ended without an ack while it was the oldest one waiting (a timeout, a
  // lost worker, a host crash, a nack with requeue): what durable.max_deliveries limits.
  uint32_t strikes = 0;
};

// A message given up on: delivered `deliveries` times without an ack, or refused by the plugin.
struct DeadLetter {
  int64_t seq = 0;
  std::string subscriber, topic, envelope_id, reason;
  std::string envelope;
  uint32_t deliveries = 0;
  int64_t accepted_unix_ms = 0, dead_unix_ms = 0;
};

// What one subscriber writes in one transaction.
struct OutboxBatch {
  std::vector<std::pair<std::string, std::string>> append;  // topic, envelope: new rows, in order
  std::vector<int64_t> acked;                                // rows to forget
  struct Counts {
    int64_t seq;
    uint32_t deliveries, strikes;
  };
  std::vector<Counts> counted;  // rows whose counts changed (later entries win)
  struct Dead {
    int64_t seq;
    std::string envelope_id, reason;
    uint32_t deliveries;
  };
  std::vector<Dead> dead;
  // Every row up to this seq has been delivered at least once (0: unchanged). Written once
  // per batch instead of a count per row, so a first delivery costs no write.
  int64_t delivered_upto = 0;
  bool empty() const {
    return append.empty() && acked.empty() && counted.empty() && dead.empty() && delivered_upto == 0;
  }
};

// The outbox file. Thread-safe (one connection behind a mutex); each subscriber's dispatch
// thread writes its own batches. Also the admission gate of durable topics: while a write
// fails, publishers of a topic a durable subscription takes are refused (CITYLINK_ERR_UNAVAILABLE).
class Outbox : public AdmissionGate {
 public:
  // Opens or creates the file. Throws OutboxError.
  explicit Outbox(OutboxOptions options);
  ~Outbox() override;
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Writes the batch in one transaction and returns the seqs of batch.append, in order.
  // Throws OutboxError (and refuses durable publishes until a commit succeeds again).
  std::vector<int64_t> commit(const std::string& subscriber, const OutboxBatch& batch);
  // Rows of `subscriber` after `after_seq`, in order, at most `limit`.
  std::vector<OutboxRow> load(const std::string& subscriber, int64_t after_seq, std::size_t limit) const;
  uint64_t depth(const std::string& subscriber) const;
  // Every row up to `seq` was delivered at least once; `clean`: the subscriber stopped
  // cleanly after that (no delivery is to blame for the end of the last run).
  struct Delivered {
    int64_t seq = 0;
    bool clean = true;
  };
  Delivered delivered_upto(const std::string& subscriber) const;
  // The subscriber stopped cleanly: its last run ended by a stop, not a crash.
  void mark_clean(const std::string& subscriber);
  // Dead letters of one subscriber (empty: all), oldest first.
  std::vector<DeadLetter> dead_letters(const std::string& subscriber = {}) const;

  // Subscribers with rows waiting, and how many (to name rows no configured instance will take).
  std::vector<std::pair<std::string, uint64_t>> subscribers() const;

  // Durable subscriptions register their topic patterns for the admission gate.
  void add_durable_topics(const std::string& subscriber, const std::vector<std::string>& patterns);
  // A durable subscriber's incoming queue: while it holds `limit_bytes` or more, publishes
  // it takes are refused with BACKPRESSURE, so a burst waits at the publisher instead of
  // being dropped before the outbox. A null queue stops watching (the instance stopped).
  void watch_queue(const std::string& subscriber, std::shared_ptr<QueueBytes> queue, int64_t limit_bytes);
  // UNAVAILABLE while a subscriber that takes the topic cannot write its messages,
  // BACKPRESSURE while its queue is behind (watch_queue), else OK.
  citylink_status admit(std::string_view topic, std::string* why) const override;
  bool failing(const std::string& subscriber) const;
  const std::filesystem::path& path() const { return options_.path; }

 private:
  void open();
  void convert_from_schema_1();
  enum class Part { all, acks, dead };
  void commit_locked(const std::string& subscriber, const OutboxBatch& batch, Part part, std::vector<int64_t>* seqs);
  void set_failing(const std::string& subscriber, const std::string& error);
  // A subscriber's id in the file and the seq its next row gets.
  struct Range {
    int64_t id = 0;
    int64_t next = 0;
  };
  Range* find_range_locked(const std::string& subscriber) const;
  Range& range_locked(const std::string& subscriber);

  OutboxOptions options_;
  sqlite3* db_ = nullptr;
  struct Statements;
  std::unique_ptr<Statements> statements_;  // under mu_
  mutable std::map<std::string, Range> ranges_;  // under mu_; read from the file once
  mutable std::mutex mu_;  // the connection
  // The gate, apart from the connection so a publish never waits behind a commit.
  mutable std::mutex gate_mu_;
  std::atomic<int> failing_count_{0};
  std::atomic<int> watched_count_{0};
  struct Subscriber {
    std::vector<std::string> topics;
    std::string error;  // non-empty: its last write failed
    std::shared_ptr<QueueBytes> queue;
    int64_t limit = 0;
  };
  std::vector<std::pair<std::string, Subscriber>> subscribers_;  // under gate_mu_
};

}  // namespace citylink::host
