// xoshiro256** (Blackman and Vigna) seeded with splitmix64.
#include "sim/core/rng.hpp"

#include <cmath>

#include "sim/core/int128.hpp"

namespace sim::core {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

int64_t round_ns(double v) {
  if (!(v > 0)) return 0;
  if (v > 9.0e18) return static_cast<int64_t>(9.0e18);
  return static_cast<int64_t>(std::llround(v));
}

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = seed * 0xD1342543DE82EF95ULL + stream * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
  for (uint64_t& w : s_) w = splitmix64(x);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
  if (range == 0) return static_cast<int64_t>(next());  // full 64-bit range
  uint128 m = static_cast<uint128>(next()) * range;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < range) {
    uint64_t threshold = (0 - range) % range;
    while (low < threshold) {
      m = static_cast<uint128>(next()) * range;
      low = static_cast<uint64_t>(m);
    }
  }
  return lo + static_cast<int64_t>(m >> 64);
}

double Rng::uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Duration Rng::exponential(Duration mean) {
  double u = uniform01();  // [0,1): -log1p(-u) is finite
  return Duration{round_ns(-std::log1p(-u) * static_cast<double>(mean.ns))};
}

Duration Rng::normal(Duration mean, Duration stddev) {
  double u1 = 1.0 - uniform01();  // (0,1]
  double u2 = uniform01();
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  return Duration{round_ns(static_cast<double>(mean.ns) + z * static_cast<double>(stddev.ns))};
}

bool Rng::bernoulli(double p) {
  if (p >= 1.0) return true;
  if (p <= 0.0) return false;
  return uniform01() < p;
}

uint64_t stream_id(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace sim::core
