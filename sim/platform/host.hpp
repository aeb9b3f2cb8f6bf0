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

struct HostSpec {
  std::string name = "mac";
  std::string file;  // a platform XML file that declares the host (then the figures below are
                     // not used: SimGrid reads them from the file); "" = built from the figures
  int cores = 1;
  std::vector<Pstate> pstates;
  double off_w = 0;  // wattage_off (the host is never switched off in a run; kept for the file)
  int pstate = 0;    // the pstate at the start of the run
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
};

// The entry points of the SimGrid module (libxnusim-simgrid.so): builds the host from
// `platform_file`, replays `table` on it and stores the joules SimGrid's host energy plugin
// reports. Returns 0 on success. Called once per process (one SimGrid Engine per process).
extern "C" int xnusim_simgrid_energy(const HostSpec* host, const LoadTable* table, const char* platform_file,
                                     double* joules);
extern "C" void xnusim_simgrid_inspect(const char* platform_file, const char* host, FileHost* out);

}  // namespace sim::platform
