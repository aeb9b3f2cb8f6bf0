// Results -> CSV, one row per thread in scenario order.
#include "reports/csv_report.hpp"

#include <array>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "sim/metrics/catalog.hpp"

namespace sim::reports {

namespace {

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, with quotes doubled.
void append_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

constexpr std::array<std::string_view, 8> kSummaryKeys{"count", "min", "p50", "p90",
                                                       "p99",   "p999", "max", "mean"};

void append_summary(std::string& out, const metrics::Summary& s) {
  fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},{},{}", s.count, s.min, s.p50,
                 s.p90, s.p99, s.p999, s.max, s.mean);
}

// One table over objects of type T: `key` then every catalogue field except histograms, in
// catalogue order, headed by their dotted paths.
template <typename T, typename Key>
std::string table(std::string_view key, const std::vector<metrics::Field<T>>& fields, const std::vector<T>& objects,
                  Key key_of) {
  std::string out(key);
  for (const metrics::Field<T>& f : fields) {
    if (f.type == metrics::FieldType::histogram) continue;
    out += ',';
    out += f.path;
  }
  out += '\n';
  for (size_t i = 0; i < objects.size(); ++i) {
    const T& o = objects[i];
    append_field(out, key_of(o, i));
    for (const metrics::Field<T>& f : fields) {
      switch (f.type) {
        case metrics::FieldType::number: fmt::format_to(std::back_inserter(out), ",{}", f.number(o)); break;
        case metrics::FieldType::text:
          out += ',';
          append_field(out, f.text(o));
          break;
        case metrics::FieldType::flag: out += f.flag(o) ? ",true" : ",false"; break;
        case metrics::FieldType::texts: {
          // A list in one cell: its items joined by "; " (system.panics only, not in a table).
          std::string joined;
          for (const std::string& t : f.texts(o)) joined += (joined.empty() ? "" : "; ") + t;
          out += ',';
          append_field(out, joined);
          break;
        }
        case metrics::FieldType::histogram: break;
      }
    }
    out += '\n';
  }
  return out;
}

// The histogram rows of every summary of the objects: kind, id, metric, lo, hi, count.
template <typename T>
void histogram_rows(std::string& out, std::string_view kind, const std::vector<metrics::Field<T>>& fields,
                    const std::vector<T>& objects) {
  for (const T& o : objects) {
    for (const metrics::Field<T>& f : fields) {
      if (f.type != metrics::FieldType::histogram) continue;
      const std::string_view metric = std::string_view(f.path).substr(0, f.path.rfind('.'));
      for (const metrics::HistogramBucket& b : f.histogram(o)) {
        out += kind;
        out += ',';
        append_field(out, o.id);
        fmt::format_to(std::back_inserter(out), ",{},{},{},{}\n", metric, b.lo, b.hi, b.count);
      }
    }
  }
}

}  // namespace

const std::vector<std::string>& csv_table_names() {
  static const std::vector<std::string> names = {"threads.csv", "jobs.csv",    "locks.csv",     "workloops.csv",
                                                 "interrupts.csv", "devices.csv", "cpus.csv", "histograms.csv"};
  return names;
}

std::vector<CsvTable> results_to_csv_tables(const metrics::Results& r) {
  auto id = [](const auto& o, size_t) { return o.id; };
  std::vector<CsvTable> out;
  out.push_back({"threads.csv", table("thread", metrics::thread_fields(), r.threads, id)});
  out.push_back({"locks.csv", table("lock", metrics::lock_fields(), r.locks, id)});
  out.push_back({"workloops.csv", table("workloop", metrics::workloop_fields(), r.workloops, id)});
  out.push_back({"interrupts.csv", table("interrupt", metrics::interrupt_fields(), r.interrupts, id)});
  out.push_back({"devices.csv", table("device", metrics::device_fields(), r.devices, id)});
  out.push_back({"cpus.csv", table("cpu", metrics::cpu_fields(), r.cpus,
                                   [](const metrics::CpuResult&, size_t i) { return std::to_string(i); })});
  std::string h = "kind,id,metric,lo,hi,count\n";
  histogram_rows(h, "thread", metrics::thread_fields(), r.threads);
  histogram_rows(h, "lock", metrics::lock_fields(), r.locks);
  histogram_rows(h, "workloop", metrics::workloop_fields(), r.workloops);
  histogram_rows(h, "interrupt", metrics::interrupt_fields(), r.interrupts);
  histogram_rows(h, "device", metrics::device_fields(), r.devices);
  out.push_back({"histograms.csv", std::move(h)});
  return out;
}

JobsCsvWriter::JobsCsvWriter(std::FILE* out, const core::NameTable& names) : out_(out), names_(names) {
  buffer_ = "thread,job,release,start,end,response,latency,missed\n";
}

JobsCsvWriter::PerThread& JobsCsvWriter::thread(int32_t i) {
  if (static_cast<size_t>(i) >= threads_.size()) threads_.resize(static_cast<size_t>(i) + 1);
  return threads_[static_cast<size_t>(i)];
}

// end < 0: unfinished (end, response empty); start < 0: never ran (start, latency empty).
void JobsCsvWriter::row(int32_t t, int64_t job, const Job& j, int64_t start, int64_t end, bool missed) {
  append_field(buffer_, names_.thread(t));
  fmt::format_to(std::back_inserter(buffer_), ",{},{},", job, j.release);
  if (start >= 0) fmt::format_to(std::back_inserter(buffer_), "{}", start);
  buffer_ += ',';
  if (end >= 0) fmt::format_to(std::back_inserter(buffer_), "{},{}", end, end - j.release);
  else buffer_ += ',';
  buffer_ += ',';
  if (start >= 0) fmt::format_to(std::back_inserter(buffer_), "{}", start - j.release);
  buffer_ += missed ? ",true\n" : ",false\n";
  if (buffer_.size() > (1 << 16)) flush();
}

void JobsCsvWriter::on_event(const core::TraceEvent& e) {
  switch (e.kind) {
    case core::TraceKind::released:
      thread(e.thread).open.push_back({e.time.ns, e.b});
      break;
    case core::TraceKind::switched:
      if (e.other >= 0) {
        PerThread& t = thread(e.other);
        if (!t.open.empty() && t.start < 0) t.start = e.time.ns + e.a;  // its own code runs after the cost
      }
      break;
    case core::TraceKind::completed: {
      PerThread& t = thread(e.thread);
      if (t.open.empty()) break;
      const Job j = t.open.front();
      // The dispatcher's rule: late when it completes after its deadline.
      row(e.thread, e.a, j, t.start, e.time.ns, j.deadline >= 0 && e.time.ns > j.deadline);
      t.open.pop_front();
      ++t.next_job;
      // A release that came during the job (an overrun) starts the next job at once, on this CPU.
      t.start = t.open.empty() ? -1 : e.time.ns;
      break;
    }
    default:
      break;
  }
}

void JobsCsvWriter::finish(core::SimTime end) {
  for (size_t i = 0; i < threads_.size(); ++i) {
    PerThread& t = threads_[i];
    int64_t job = t.next_job;
    for (const Job& j : t.open) {
      // Unfinished at the end: missed when its deadline had passed by then (as deadline_missed).
      row(static_cast<int32_t>(i), job, j, job == t.next_job ? t.start : -1, -1, j.deadline >= 0 && j.deadline < end.ns);
      ++job;
    }
    t.open.clear();
  }
  flush();
}

void JobsCsvWriter::flush() {
  if (!buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), out_);
  buffer_.clear();
  std::fflush(out_);
}

std::string results_to_csv(const metrics::Results& results) {
  std::string out = "id,task,mode,base_priority,cpu_time_ns,jobs,deadline_misses";
  for (std::string_view prefix : {"response_ns", "latency_ns"}) {
    for (std::string_view key : kSummaryKeys) {
      fmt::format_to(std::back_inserter(out), ",{}.{}", prefix, key);
    }
  }
  out += ",jitter_ns,blocked_ns,inversion_ns,preemptions,context_switches,migrations,demotions,"
         "min_sched_pri,max_sched_pri\n";

  for (const auto& t : results.threads) {
    append_field(out, t.id);
    out += ',';
    append_field(out, t.task);
    out += ',';
    append_field(out, t.mode);
    fmt::format_to(std::back_inserter(out), ",{},{},{},{}", t.base_priority, t.cpu_time_ns, t.jobs,
                   t.deadline_misses);
    append_summary(out, t.response_ns);
    append_summary(out, t.latency_ns);
    fmt::format_to(std::back_inserter(out), ",{},{},{},{},{},{},{},{},{}\n", t.jitter_ns,
                   t.blocked_ns, t.inversion_ns, t.preemptions, t.context_switches, t.migrations,
                   t.demotions, t.min_sched_pri, t.max_sched_pri);
  }
  return out;
}

}  // namespace sim::reports
