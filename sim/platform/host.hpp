// The platform's host and the load table the energy meter fills: plain data, shared by the
// meter (sim/platform/energy.cpp) and the SimGrid module (simgrid_host.cpp), which is loaded at
// run time only when a scenario has a platform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sim::platform {

// One performance state of the host, as SimGrid's energy plugin reads it (the host property
// wattage_per_state "idle:epsilon:all_cores" for each pstate).
struct Pstate {
  double speed = 1e9;     // flop/s of one core
  double idle_w = 0;      // nothing runs on the host
  double epsilon_w = 0;   // the host is in use but its load is (close to) zero
  double all_cores_w = 0; // every core at 100%
};

// A disk of the host (SimGrid's <disk>): bandwidths in bytes/s.
struct DiskSpec {
  std::string name;
  double read_bw = 0;
  double write_bw = 0;
};

// A peer host and the way to it. Inline platforms: a link between the host and the peer, the
// whole route between the two (bandwidth in bytes/s, latency in seconds). A platform file: `name`
// is empty and the route is the file's (SimGrid routes it; the figures are not used).
struct LinkSpec {
  std::string name;
  std::string peer;
  double bandwidth = 0;
  double latency = 0;
};

struct HostSpec {
  std::string name = "mac";
  std::string file;  // a platform XML file that declares the host (then the figures below are
                     // not used: SimGrid reads them from the file); "" = built from the figures
  int cores = 1;
  std::vector<Pstate> pstates;
  double off_w = 0;  // wattage_off (the host is never switched off in a run; kept for the file)
  int pstate = 0;    // the pstate at the start of the run
  // Its disks, in the scenario's order (indices are those of the devices' "disk"); with a file
  // only the names are used (SimGrid reads the bandwidths from the file).
  std::vector<DiskSpec> disks;
  // Its peers, one entry per peer host (peer indices are indices here).
  std::vector<LinkSpec> links;
};

// Time (ns) the host spent in each pstate with each number of active cores.
struct LoadTable {
  int cores = 1;
  std::vector<std::vector<int64_t>> ns;  // [pstate][active cores 0..cores]
};

struct EnergyReport {
  double joules = 0;                       // for the whole run, from SimGrid's plugin
  std::vector<int64_t> ns_by_pstate;       // time spent in each pstate
  int64_t pstate_changes = 0;              // set_pstate ops that changed it
  std::string error;                       // non-empty when SimGrid could not be run
};

// The platform XML that describes `host` the way SimGrid 3.32 reads it (docs/platforms.md).
std::string platform_xml(const HostSpec& host);

// What a platform file says about one host, read by SimGrid itself (inspect_platform_file).
struct FileHost {
  int status = 0;            // 0 read; 1 SimGrid could not read the file; 2 no such host
  int cores = 0;
  int pstates = 0;
  int pstate = 0;            // the host's pstate at the start
  int has_wattage = 0;       // it has the wattage_per_state property the energy plugin needs
  char hosts[512] = {0};     // status 2: the file's hosts, comma-separated (cut short)
  int disk_count = 0;        // the host's disks
  char disks[1024] = {0};    // their names, each followed by '\n' (cut short)
};

// The route a platform file declares between two hosts (xnusim_simgrid_route).
struct FileRoute {
  int status = 0;            // 0 a route; 1 SimGrid could not read the file; 2 no such peer host;
                             // 3 no route (SimGrid finds no link between the two)
  int links = 0;             // the links on the route
  double latency = 0;        // their latencies' sum (s)
  double bandwidth = 0;      // the smallest of their bandwidths (bytes/s)
  char hosts[512] = {0};     // status 2: the file's hosts, comma-separated (cut short)
};

// The entry points of the SimGrid module (libxnusim-simgrid.so): builds the host from
// `platform_file`, replays `table` on it and stores the joules SimGrid's host energy plugin
// reports. Returns 0 on success. Called once per process (one SimGrid Engine per process).
extern "C" int xnusim_simgrid_energy(const HostSpec* host, const LoadTable* table, const char* platform_file,
                                     double* joules);
extern "C" void xnusim_simgrid_inspect(const char* platform_file, const char* host, FileHost* out);
extern "C" void xnusim_simgrid_route(const char* platform_file, const char* host, const char* peer, FileRoute* out);

// The live session (session.hpp): fixed-size records on two pipes, the child reads commands on
// `in_fd` and answers on `out_fd`.
struct SessionCommand {
  enum Kind : int32_t { start_io = 1, advance = 2, quit = 3, start_send = 4 };
  int32_t kind = 0;
  int32_t disk = -1;    // start_io: index into HostSpec::disks
  int32_t write = 0;    // start_io: 1 write, 0 read
  int32_t from = -1;    // start_send: the sending host: -1 the machine, k >= 0 the peer of link k
  int32_t to = -1;      // start_send: the receiving host, the same way
  int32_t pad = 0;
  int64_t id = 0;       // start_io: the activity's id
  int64_t bytes = 0;    // start_io
  int64_t at_ns = 0;    // start_io: when it starts; advance: the instant to reach
};
struct SessionReply {
  enum Kind : int32_t { completion = 1, reached = 2, failed = 3 };
  int32_t kind = 0;
  int32_t pad = 0;
  int64_t id = 0;       // completion: the activity
  int64_t ns = 0;       // completion: when it ended, SimGrid's time rounded up to ns
  double seconds = 0;   // completion: SimGrid's time as it is
  // No transfer still in flight can end before this instant (ns; INT64_MAX when none is in
  // flight): a lower bound from each one's bytes left and the bandwidth that bounds it, less a
  // margin, so that the native side skips the round trips of the instants before it.
  int64_t horizon_ns = 0;
};
// Serves commands until quit or end of input; returns 0, or non-zero when SimGrid failed.
extern "C" int xnusim_simgrid_serve(const HostSpec* host, const char* platform_file, int in_fd, int out_fd);

}  // namespace sim::platform
