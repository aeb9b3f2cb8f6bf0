#include "sim/metrics/names.hpp"

#include "sim/model/priorities.hpp"
#include "sim/model/program.hpp"

namespace sim::metrics {

std::string_view band_name(int priority) { return model::to_string(model::band_of(priority)); }

std::string_view mode_name(int mode) { return model::to_string(static_cast<model::ThreadMode>(mode)); }
std::string_view role_name(int role) { return model::to_string(static_cast<model::TaskRole>(role)); }

}  // namespace sim::metrics
