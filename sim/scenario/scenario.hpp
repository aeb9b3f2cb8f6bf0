// A parsed, validated scenario (format v1, see docs/scenario-format.md): plain structs only.
// References between objects are resolved to dense indices in declaration order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/time.hpp"
#include "sim/model/program.hpp"

namespace sim::scenario {

using core::Duration;
using model::DurationSpec;
using model::Op;

struct Costs {
  Duration context_switch;
  Duration interrupt_entry;
  Duration interrupt_exit;
  Duration thread_wakeup;
};

enum class XnuRelease : uint8_t { r517, r792 };
enum class FunnelSetup : uint8_t { split, merged };

// machine.platform (docs/platforms.md): the simulated machine as a SimGrid host, for energy.
struct PstateSpec {
  double speed = 1e9;      // flop/s of one core
  double idle_w = 0;       // the host runs nothing
  double epsilon_w = 0;    // in use at (near) zero load; idle_w when not given
  double all_cores_w = 0;  // every core busy
};

// A disk of the platform host (SimGrid's <disk>), bandwidths in bytes/s (0 when it comes from
// the platform file).
struct DiskSpec {
  std::string id;
  double read_bw = 0;
  double write_bw = 0;
};

// A network link between the platform host and a peer host (inline platforms only): the route
// between the two. Bandwidth in bytes/s, latency in ns.
struct LinkSpec {
  std::string id;
  std::string peer;
  double bandwidth = 0;
  Duration latency;
};

struct PlatformSpec {
  std::string host = "mac";
  // A platform XML file (docs/platforms.md): as written, and resolved against the scenario's
  // folder. With a file, SimGrid reads the host's speeds and power figures from it; `pstates`
  // then only has as many entries as the file's host has pstates (for set_pstate's check).
  std::string file;
  std::string file_path;
  std::vector<PstateSpec> pstates;
  int pstate = 0;  // at the start of the run
  double off_w = 0;
  std::vector<DiskSpec> disks;  // the host's disks (inline, or named in the file)
  std::vector<LinkSpec> links;  // its links, one per peer host (inline)
};

struct MachineSpec {
  int cpus = 1;
  XnuRelease xnu = XnuRelease::r517;
  Duration quantum = Duration::milliseconds(10);
  Costs costs;
  std::string calibration;  // path, empty when none
  FunnelSetup funnels = FunnelSetup::split;
  std::optional<PlatformSpec> platform;  // none: SimGrid is not used at all
};

struct ThreadSpec {
  std::string id;
  std::string task = "user";
  bool kernel = false;
  model::ThreadMode mode = model::ThreadMode::timeshare;
  int priority = 31;
  std::optional<int> nice;  // -20..19; absent = 0 (docs/policies/nice.md)
  bool root = false;        // the task runs as root (uid 0)
  std::optional<model::RealtimeParams> realtime;
  std::optional<int> cpu;
  Duration start;
  bool spawned = false;  // "start": "spawned": created at run time by a create_thread op
  std::optional<Duration> period;
  std::optional<Duration> deadline;  // the period when not given
  bool deadline_given = false;       // `deadline` was in the file
  std::vector<Op> program;
  std::string pointer;  // "/threads/3"
};

enum class LockKind : uint8_t { mutex, spin, rw };
enum class LockProtocol : uint8_t { xnu, none, inherit, ceiling };

struct LockSpec {
  std::string id;
  LockKind kind = LockKind::mutex;
  LockProtocol protocol = LockProtocol::xnu;
  std::optional<int> ceiling;
  std::string pointer;
};

struct EventSpec {
  std::string id;
  std::string pointer;
  // "policy": SYNC_POLICY_FIFO or SYNC_POLICY_FIXED_PRIORITY. Both wake in arrival order, as
  // xnu-792's wait queues do (docs/scenario-format.md, "Events").
  bool fixed_priority = false;
  // "count": a Mach semaphore with this initial count (semaphore_signal preposts); -1 a plain
  // event, whose wakeups with nobody waiting are lost.
  int64_t count = -1;
};

struct ArrivalSpec {
  enum class Kind : uint8_t { periodic, poisson, at, packets };
  Kind kind = Kind::periodic;
  // packets: the NIC's peer sends `bytes` every `period` (docs/platforms.md, "Network")
  int32_t nic = -1;      // device index of the NIC
  int64_t bytes = 0;
  int64_t count = -1;    // -1: until the end of the run
  Duration period;       // periodic
  Duration jitter;       // periodic
  Duration mean;         // poisson: mean interval (1 / rate)
  std::vector<Duration> times;  // at
};

struct InterruptSpec {
  std::string id;
  int cpu = 0;
  ArrivalSpec arrival;
  // "handler" given as ops (run, lock and unlock of spin locks) instead of one duration
  std::vector<Op> handler_program;
  DurationSpec handler;
  int32_t workloop = -1;  // "source": "<workloop>.<source>"
  int32_t source = -1;    // index into that workloop's sources
  std::string pointer;
};

enum class EventSourceKind : uint8_t { interrupt, filter_interrupt };

struct EventSourceSpec {
  std::string id;
  EventSourceKind kind = EventSourceKind::interrupt;
  DurationSpec action;
  DurationSpec filter;
  double accept = 1.0;
  int32_t wakeup = -1;  // event whose command-gate sleepers the action wakes (all), or -1
  std::string pointer;
};

struct WorkloopSpec {
  std::string id;
  int priority = 81;
  std::vector<EventSourceSpec> sources;
  std::string pointer;
};

struct TimerSpec {
  std::string id;
  int32_t workloop = -1;
  DurationSpec action;
  std::string pointer;
};

struct DeviceSpec {
  std::string id;
  int32_t provider = -1;
  int32_t workloop = -1;  // own work loop, or -1 to use the provider's
  DurationSpec service;
  bool direct = false;    // "path": "direct": I/O by the client in a runAction (docs/iokit.md)
  int32_t disk = -1;      // "disk": index into machine.platform's disks (docs/platforms.md);
                          // -2 only while loading: given, but wrong
  int32_t nic = -1;       // "nic": index into machine.platform's links (a NIC); -2 as above
  std::string pointer;
};

enum class ExpectTarget : uint8_t { system, thread, lock, cpu, workloop, interrupt, device };
enum class ExpectOp : uint8_t { min, max, eq };

struct ExpectSpec {
  ExpectTarget target = ExpectTarget::system;
  std::string target_id;   // thread/lock/... id, or the CPU index as text
  int32_t target_index = -1;
  std::string metric;      // dotted path, e.g. "response_ns.p99"
  ExpectOp op = ExpectOp::max;
  int64_t value = 0;       // durations already converted to ns
  std::string value_text;  // as written, for messages
  std::string pointer;
};

struct Scenario {
  std::string file;        // path it was read from
  std::string name;
  std::string description;
  uint64_t seed = 1;
  Duration duration;
  MachineSpec machine;
  std::optional<std::string> policy;
  std::vector<LockSpec> locks;
  std::vector<EventSpec> events;
  std::vector<WorkloopSpec> workloops;
  std::vector<InterruptSpec> interrupts;
  std::vector<TimerSpec> timers;
  std::vector<DeviceSpec> devices;
  std::vector<ThreadSpec> threads;
  std::vector<ExpectSpec> expects;
};

}  // namespace sim::scenario
