// A live SimGrid platform for the whole run: disks whose transfers share their bandwidth as
// SimGrid's disk model says, with the native dispatcher in charge of time.
//
// SimGrid runs in a child process (the SimGrid module, loaded with dlopen, as for the energy:
// one Engine per process in Debian's 3.32, and a run without a platform never loads it). The
// child loads the platform and runs one controller actor on the host, which reads fixed-size
// commands from a pipe (host.hpp, SessionCommand): start a disk transfer at an instant, or
// advance to an instant, to which it answers with the first completion at or before it, or
// with "reached". The session is the dispatcher's ExternalClock (lazy synchronisation: it talks
// to the child only while a transfer is pending, so a run whose devices never use a disk never
// even starts the child) and the IOKit layer's HardwareModel. Completion times are SimGrid's,
// rounded up to the nanosecond (never early).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "sim/dispatcher/dispatcher.hpp"
#include "sim/platform/host.hpp"

namespace sim::platform {

// Round trips to SimGrid children made by every session of this process so far (bench/).
int64_t session_round_trips_total();

class PlatformSession final : public dispatcher::ExternalClock, public dispatcher::HardwareModel {
 public:
  PlatformSession(const HostSpec& host, dispatcher::Dispatcher& d);
  ~PlatformSession() override;
  PlatformSession(const PlatformSession&) = delete;
  PlatformSession& operator=(const PlatformSession&) = delete;

  void sync(core::SimTime next) override;
  void start_disk(int32_t disk, bool write, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) override;
  void start_send(int32_t from, int32_t to, int64_t bytes, uint16_t kind, int32_t target, int64_t arg) override;

  // Round trips to the child so far (each advance is one), for the benchmark.
  int64_t round_trips() const { return round_trips_; }
  int64_t transfers() const { return next_id_; }

 private:
  struct Pending {
    uint16_t kind;
    int32_t target;
    int64_t arg;
    int64_t started_ns;
  };
  void start_child();
  void send(const SessionCommand& c);
  void start(SessionCommand c, Pending p);
  [[noreturn]] void fail(const std::string& what);

  HostSpec host_;
  dispatcher::Dispatcher* d_;
  std::string file_;        // the platform file the child reads
  bool temp_file_ = false;  // written here, removed at the end
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  int64_t next_id_ = 0;
  int64_t round_trips_ = 0;
  // No pending transfer ends before this (the child's last horizon_ns); a start resets it.
  int64_t horizon_ = 0;
  std::unordered_map<int64_t, Pending> pending_;
};

}  // namespace sim::platform
