// The explicit list of policies. Add a policy here, nowhere else.
#include "sim/policies/registry.hpp"

#include "sim/policies/cfs_policy.hpp"
#include "sim/policies/fixed_policy.hpp"
#include "sim/policies/xnu_policy.hpp"

namespace sim::policies {

const std::vector<PolicyInfo>& registry() {
  static const std::vector<PolicyInfo> list = {
      {"xnu", "Mach timeshare scheduler of xnu-517/792: usage decay, real time, fail-safe",
       &XnuPolicy::make},
      {"fixed", "strict fixed priority over 128 levels, round robin among equals, no decay",
       &FixedPolicy::make},
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
