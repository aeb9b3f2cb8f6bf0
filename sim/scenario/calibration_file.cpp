// Reads `xnusim-calibration` v1 files (docs/calibration.md).
#include "sim/scenario/calibration_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sim::scenario {
namespace {

using nlohmann::json;

CalibrationRead bad(std::string pointer, std::string message, std::string fix) {
  CalibrationRead r;
  r.pointer = std::move(pointer);
  r.message = std::move(message);
  r.fix = std::move(fix);
  return r;
}

const char* kRewrite = "write a new one with `xnusim calibrate -o FILE` (docs/calibration.md)";

}  // namespace

CalibrationRead read_calibration_text(const std::string& text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return bad("", fmt::format("not valid JSON (byte {})", e.byte), kRewrite);
  }
  if (!root.is_object())
    return bad("", "a calibration file must be a JSON object", kRewrite);
  auto f = root.find("format");
  if (f == root.end() || !f->is_string() || f->get<std::string>() != "xnusim-calibration")
    return bad("/format", "must be \"xnusim-calibration\"",
               "name a file written by `xnusim calibrate -o FILE`");
  auto v = root.find("version");
  if (v == root.end() || !v->is_number_unsigned() || v->get<uint64_t>() != 1)
    return bad("/version", "this build of xnusim reads version 1 of the calibration format",
               kRewrite);
  auto c = root.find("costs_ns");
  if (c == root.end() || !c->is_object())
    return bad("/costs_ns", "missing or not an object", kRewrite);
  CalibrationValues out;
  const std::pair<const char*, core::Duration*> keys[] = {
      {"context_switch", &out.costs.context_switch},
      {"interrupt_entry", &out.costs.interrupt_entry},
      {"interrupt_exit", &out.costs.interrupt_exit},
      {"thread_wakeup", &out.costs.thread_wakeup}};
  for (const auto& [key, dst] : keys) {
    auto k = c->find(key);
    std::string ptr = fmt::format("/costs_ns/{}", key);
    if (k == c->end()) return bad(ptr, "missing", kRewrite);
    if (!k->is_number_integer() || (k->is_number_integer() && !k->is_number_unsigned() &&
                                    k->get<int64_t>() < 0) ||
        (k->is_number_unsigned() && k->get<uint64_t>() > uint64_t(kMaxCalibratedCostNs)))
      return bad(ptr,
                 fmt::format("must be an integer number of nanoseconds from 0 to {} (got {})",
                             kMaxCalibratedCostNs, k->dump()),
                 kRewrite);
    *dst = core::Duration::nanoseconds(k->get<int64_t>());
  }
  for (auto it = c->begin(); it != c->end(); ++it) {
    std::string k = it.key();
    if (k != "context_switch" && k != "interrupt_entry" && k != "interrupt_exit" &&
        k != "thread_wakeup")
      return bad("/costs_ns/" + k, "unknown cost",
                 "valid: context_switch, interrupt_entry, interrupt_exit, thread_wakeup");
  }
  // The busy loop is optional for the simulation (only replay uses it).
  if (auto m = root.find("measurements"); m != root.end() && m->is_object()) {
    if (auto b = m->find("busy_loop"); b != m->end() && b->is_object()) {
      if (auto n = b->find("ns_per_iteration"); n != b->end()) {
        if (!n->is_number() || n->get<double>() <= 0 || n->get<double>() > 1e6)
          return bad("/measurements/busy_loop/ns_per_iteration",
                     "must be a positive number of nanoseconds (at most 1e6)", kRewrite);
        out.busy_loop_ns_per_iteration = n->get<double>();
      }
    }
  }
  CalibrationRead r;
  r.values = out;
  return r;
}

CalibrationRead read_calibration_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return bad("", "it is a directory", "name the calibration file, not its folder");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return bad("", fmt::format("cannot open it: {}", std::strerror(errno)),
               fmt::format("write it with `xnusim calibrate -o {}`, or remove "
                           "machine.calibration (paths are relative to the scenario's folder)",
                           path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return bad("", "read error", kRewrite);
  return read_calibration_text(text);
}

std::string resolve_calibration_path(const std::string& scenario_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  std::filesystem::path dir = std::filesystem::path(scenario_file).parent_path();
  return (dir / p).lexically_normal().string();
}

}  // namespace sim::scenario
