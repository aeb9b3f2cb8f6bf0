// The SimGrid module (libxnusim-simgrid.so): the only code linked with SimGrid (3.32 as Debian
// ships it). It builds the host from the platform file, replays a LoadTable on it and reads the
// joules from the host energy plugin. Loaded with dlopen by a child process (simgrid_child.cpp).
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "sim/platform/host.hpp"

namespace sim::platform {

namespace {

// One Engine, the host, and one actor that lives through the table: for each pstate, for each
// number k of busy cores, k execs of `speed x duration` flops each (one core each) or, for k = 0,
// a sleep of that duration.
double replay(const HostSpec& spec, const LoadTable& table, const char* file) {
  int argc = 2;
  char arg0[] = "xnusim";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine e(&argc, argv);
  sg_host_energy_plugin_init();
  e.load_platform(file);
  simgrid::s4u::Host* host = simgrid::s4u::Host::by_name(spec.name);
  simgrid::s4u::Actor::create("load", host, [&table, host] {
    for (size_t p = 0; p < table.ns.size(); ++p) {
      host->set_pstate(p);
      for (size_t k = 0; k < table.ns[p].size(); ++k) {
        int64_t ns = table.ns[p][k];
        if (ns <= 0) continue;
        double seconds = static_cast<double>(ns) / 1e9;
        if (k == 0) {
          simgrid::s4u::this_actor::sleep_for(seconds);
          continue;
        }
        std::vector<simgrid::s4u::ExecPtr> execs;
        for (size_t i = 0; i < k; ++i)
          execs.push_back(simgrid::s4u::this_actor::exec_async(host->get_pstate_speed(p) * seconds));
        for (simgrid::s4u::ExecPtr& x : execs) x->wait();
      }
    }
  });
  e.run();
  return sg_host_get_consumed_energy(host);
}

}  // namespace

extern "C" void xnusim_simgrid_inspect(const char* platform_file, const char* host_name, FileHost* out) {
  try {
    int argc = 2;
    char arg0[] = "xnusim";
    char arg1[] = "--log=root.thres:critical";
    char* argv[] = {arg0, arg1, nullptr};
    simgrid::s4u::Engine e(&argc, argv);
    sg_host_energy_plugin_init();
    e.load_platform(platform_file);
    simgrid::s4u::Host* h = e.host_by_name_or_null(host_name);
    if (!h) {
      out->status = 2;
      std::string names;
      for (simgrid::s4u::Host* x : e.get_all_hosts()) names += (names.empty() ? "" : ", ") + x->get_name();
      names.copy(out->hosts, sizeof out->hosts - 1);
      return;
    }
    out->cores = h->get_core_count();
    out->pstates = static_cast<int>(h->get_pstate_count());
    out->pstate = static_cast<int>(h->get_pstate());
    out->has_wattage = h->get_property("wattage_per_state") != nullptr;
    out->status = 0;
  } catch (const std::exception&) {
    out->status = 1;
  }
}

extern "C" int xnusim_simgrid_energy(const HostSpec* host, const LoadTable* table, const char* platform_file,
                                     double* joules) {
  try {
    *joules = replay(*host, *table, platform_file);
    return 0;
  } catch (const std::exception&) {
    return 1;
  }
}

}  // namespace sim::platform
