// Deterministic random streams: xoshiro256** seeded per stream, with our own distribution
// mappings (the standard library's distributions differ between implementations).
#pragma once

#include <cstdint>
#include <string_view>

#include "sim/core/time.hpp"

namespace sim::core {

class Rng {
 public:
  Rng() : Rng(1, 0) {}
  // One stream per (scenario seed, stream id); stream ids are dense thread/source indices.
  Rng(uint64_t seed, uint64_t stream);

  uint64_t next();
  // Uniform integer in [lo, hi], unbiased (Lemire's multiply-and-reject).
  int64_t uniform_int(int64_t lo, int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();
  // Exponential with the given mean, rounded to ns.
  Duration exponential(Duration mean);
  // Normal (Box-Muller, one value per call), clamped at 0, rounded to ns.
  Duration normal(Duration mean, Duration stddev);
  // True with probability p.
  bool bernoulli(double p);

 private:
  uint64_t s_[4];
};

// Mixes a string into a 64-bit stream id (FNV-1a), for streams named rather than numbered.
uint64_t stream_id(std::string_view name);

}  // namespace sim::core
