// The explicit policy registry: every policy is listed once, in registry.cpp, in this order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sim::policies {

class Policy;
struct PolicyContext;

struct PolicyInfo {
  std::string_view name;
  std::string_view summary;  // one line for `xnusim policies`
  std::unique_ptr<Policy> (*make)(const PolicyContext&);
};

// All policies, in a fixed order.
const std::vector<PolicyInfo>& registry();
// The entry named `name`, or nullptr.
const PolicyInfo* find_policy(std::string_view name);
// "fixed, xnu": for error messages.
std::string policy_names_joined();
// The policy a scenario runs when neither it nor the command line names one.
std::string_view default_policy_name();

}  // namespace sim::policies
