// The two ways a run stops early: our own invariant broke (InternalError, exit 3) or the
// simulated system panicked the way xnu would (SimulatedPanic, exit 4). Thrown by every layer.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/core/time.hpp"

namespace sim::core {

// Raised when the simulated world breaks one of our own invariants (exit code 3). Carries the
// simulated time and the sequence number of the event being handled; what() reads
// "internal error at 1.000000000 s (event 123): <message>".
struct InternalError : std::runtime_error {
  InternalError(SimTime at_time, uint64_t event_seq, const std::string& message)
      : std::runtime_error(
            fmt::format("internal error at {} s (event {}): {}", format_time(at_time), event_seq, message)),
        at(at_time),
        event(event_seq),
        detail(message) {}
  SimTime at;
  uint64_t event;
  std::string detail;  // the message without the time and event prefix
};

// The simulated kernel panicked the way xnu would (exit code 4); the message is the panic report
// (who, where, when).
struct SimulatedPanic : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace sim::core
