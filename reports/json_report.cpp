// Results -> results JSON; every collection is always present, empty as {} or [].
#include "reports/json_report.hpp"

#include <cstddef>
#include <iterator>
#include <utility>

#include <string_view>

#include <fmt/format.h>

#include "sim/metrics/catalog.hpp"

namespace sim::reports {

namespace {

using nlohmann::ordered_json;

// One results object: the catalogue's fields for its type, in catalogue order; a dotted path
// nests ("response_ns.p99" is key "p99" of object "response_ns").
template <typename T>
ordered_json object_json(const std::vector<metrics::Field<T>>& fields, const T& object) {
  ordered_json j = ordered_json::object();
  for (const metrics::Field<T>& f : fields) {
    if (f.shown && !f.shown(object)) continue;
    ordered_json* node = &j;
    std::string_view path = f.path;
    for (size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.')) {
      node = &(*node)[std::string(path.substr(0, dot))];
      path.remove_prefix(dot + 1);
    }
    ordered_json& leaf = (*node)[std::string(path)];
    switch (f.type) {
      case metrics::FieldType::number: leaf = f.number(object); break;
      case metrics::FieldType::text: leaf = f.text(object); break;
      case metrics::FieldType::flag: leaf = f.flag(object); break;
      case metrics::FieldType::texts: leaf = f.texts(object); break;  // an empty list becomes []
      case metrics::FieldType::histogram: {
        leaf = ordered_json::array();
        for (const metrics::HistogramBucket& b : f.histogram(object))
          leaf.push_back(ordered_json{{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}});
        break;
      }
    }
  }
  return j;
}

// The indented dump puts each key of a histogram bucket on its own line; a bucket on one line,
// {"lo": 1, "hi": 1, "count": 3}, keeps the file a fifth the size and as easy to read. Only
// histogram buckets are objects holding exactly the integer keys lo, hi and count, in that order.
std::string compact_buckets(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  // Reads `"key": <digits or ->` followed by `end` at text[i] after spaces; advances i.
  auto read_key = [&text](size_t& i, std::string_view key, char end, std::string_view& value) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (text.compare(i, key.size(), key) != 0) return false;
    size_t start = i + key.size();
    size_t j = start;
    while (j < text.size() && (text[j] == '-' || (text[j] >= '0' && text[j] <= '9'))) ++j;
    if (j == start || j >= text.size() || text[j] != end) return false;
    value = std::string_view(text).substr(start, j - start);
    i = j + 1;
    if (end == ',') {
      if (i >= text.size() || text[i] != '\n') return false;
      ++i;
    }
    return true;
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t brace = text.find("{\n", i);
    if (brace == std::string::npos) break;
    out.append(text, i, brace - i);
    size_t k = brace + 2;
    std::string_view lo, hi, count;
    if (read_key(k, "\"lo\": ", ',', lo) && read_key(k, "\"hi\": ", ',', hi) &&
        read_key(k, "\"count\": ", '\n', count)) {
      while (k < text.size() && text[k] == ' ') ++k;
      if (k < text.size() && text[k] == '}') {
        fmt::format_to(std::back_inserter(out), "{{\"lo\": {}, \"hi\": {}, \"count\": {}}}", lo, hi, count);
        i = k + 1;
        continue;
      }
    }
    out += "{\n";
    i = brace + 2;
  }
  out.append(text, i, std::string::npos);
  return out;
}

}  // namespace

ordered_json configuration_to_json(const metrics::Configuration& c) {
  ordered_json j = ordered_json::object();
  j["policy"] = c.policy;
  j["xnu"] = c.xnu;
  j["cpus"] = c.cpus;
  j["quantum_ns"] = c.quantum_ns;
  j["costs_ns"] = {{"context_switch", c.context_switch_ns},
                   {"interrupt_entry", c.interrupt_entry_ns},
                   {"interrupt_exit", c.interrupt_exit_ns},
                   {"thread_wakeup", c.thread_wakeup_ns}};
  j["funnels"] = c.funnels;
  j["calibration"] = c.calibration;
  j["seed"] = c.seed;
  j["duration_ns"] = c.duration_ns;
  j["scenario"] = c.scenario;
  j["file"] = c.file;
  j["sha256"] = c.sha256;
  j["sets"] = c.sets;  // an empty list becomes []
  return j;
}

ordered_json results_to_json(const metrics::Results& r) {
  ordered_json j = ordered_json::object();
  j["format"] = "xnusim-results";
  j["version"] = 1;
  j["scenario"] = r.scenario;
  j["policy"] = r.policy;
  j["seed"] = r.seed;
  j["xnu"] = r.xnu;
  j["duration_ns"] = r.duration_ns;
  j["configuration"] = configuration_to_json(r.configuration);

  ordered_json threads = ordered_json::object();
  for (const auto& t : r.threads) threads[t.id] = object_json(metrics::thread_fields(), t);
  j["threads"] = std::move(threads);

  ordered_json cpus = ordered_json::array();
  for (const auto& c : r.cpus) cpus.push_back(object_json(metrics::cpu_fields(), c));
  j["cpus"] = std::move(cpus);

  ordered_json locks = ordered_json::object();
  for (const auto& l : r.locks) locks[l.id] = object_json(metrics::lock_fields(), l);
  j["locks"] = std::move(locks);

  ordered_json interrupts = ordered_json::object();
  for (const auto& i : r.interrupts) interrupts[i.id] = object_json(metrics::interrupt_fields(), i);
  j["interrupts"] = std::move(interrupts);

  ordered_json workloops = ordered_json::object();
  for (const auto& w : r.workloops) workloops[w.id] = object_json(metrics::workloop_fields(), w);
  j["workloops"] = std::move(workloops);

  ordered_json devices = ordered_json::object();
  for (const auto& d : r.devices) devices[d.id] = object_json(metrics::device_fields(), d);
  j["devices"] = std::move(devices);

  j["system"] = object_json(metrics::system_fields(), r.system);

  // Only with machine.platform, so that a run without one is unchanged (results-format.md).
  if (r.energy.present) {
    ordered_json e = ordered_json::object();
    e["host"] = r.energy.host;
    e["joules"] = r.energy.joules;
    e["watts"] = r.energy.watts;
    e["pstate_changes"] = r.energy.pstate_changes;
    e["ns_by_pstate"] = r.energy.ns_by_pstate;
    j["energy"] = std::move(e);
  }

  ordered_json expect = ordered_json::array();
  for (const auto& e : r.expect) {
    ordered_json o = ordered_json::object();
    o["text"] = e.text;
    o["ok"] = e.ok;
    expect.push_back(std::move(o));
  }
  j["expect"] = std::move(expect);
  return j;
}

std::string json_text(const nlohmann::ordered_json& document) {
  // Invalid UTF-8 in an id must not abort the run after it finished: replace it.
  return compact_buckets(document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)) + "\n";
}

std::string results_to_json_text(const metrics::Results& results) { return json_text(results_to_json(results)); }

}  // namespace sim::reports
