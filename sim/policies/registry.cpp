// The explicit list of policies. Add a policy here, nowhere else.
#include "sim/policies/registry.hpp"

#include "sim/policies/edf_policy.hpp"
#include "sim/policies/bsd44_policy.hpp"
#include "sim/policies/cfs_policy.hpp"
#include "sim/policies/fixed_policy.hpp"
#include "sim/policies/xnu_policy.hpp"

namespace sim::policies {

const std::vector<PolicyInfo>& registry() {
  static const std::vector<PolicyInfo> list = {
      {"xnu", "Mach timeshare scheduler of xnu-517/792: usage decay, real time, fail-safe",
       &XnuPolicy::make},
      {"fixed", "textbook global fixed priority: the m highest-priority ready threads run, round robin among equals, no decay",
       &FixedPolicy::make},
      {"edf", "preemptive earliest deadline first, global on m CPUs, partitioned for bound threads", &EdfPolicy::make},
      {"bsd44", "4.4BSD-Lite2: estcpu decay by load average, 100 ms round robin, nice", &Bsd44Policy::make},
      {"cfs", "Linux 6.5 Completely Fair Scheduler (vruntime, nice weights), RT and fixed as SCHED_FIFO above it",
       &CfsPolicy::make},
  };
  return list;
}

const PolicyInfo* find_policy(std::string_view name) {
  for (const PolicyInfo& p : registry())
    if (p.name == name) return &p;
  return nullptr;
}

std::string policy_names_joined() {
  std::string s;
  for (const PolicyInfo& p : registry()) {
    if (!s.empty()) s += ", ";
    s += p.name;
  }
  return s;
}

std::string_view default_policy_name() { return "xnu"; }

}  // namespace sim::policies
