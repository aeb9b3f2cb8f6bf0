// The text trace: one line per event, fixed format, e.g.
//   0.012345678 cpu0 switched low -> high reason=preempt pri=47
// Times are seconds with nine decimals; the second column is the CPU or "-".
#pragma once

#include <cstdio>
#include <string>

#include "sim/core/trace.hpp"

namespace sim::reports {

// Formats one event as a line (without the newline).
std::string format_trace_line(const core::TraceEvent& e, const core::NameTable& names);

// A sink writing every event to a stdio stream (borrowed), buffered.
class TextTraceWriter final : public core::TraceSink {
 public:
  TextTraceWriter(std::FILE* out, const core::NameTable& names);
  ~TextTraceWriter() override { flush(); }  // a run cut short still leaves its trace so far
  void flush();
  void on_event(const core::TraceEvent& e) override;
  void finish(core::SimTime end) override;

 private:
  // Lines are built in place at the end of one buffer, written in blocks of about this size.
  static constexpr size_t kBufferBytes = size_t{1} << 20;
  std::FILE* out_;
  const core::NameTable& names_;
  std::string buffer_;
};

}  // namespace sim::reports
