// The 128 Mach priority levels and their bands, derived from one another as in
// xnu-517/792 osfmk/kern/sched.h (xnu-facts.md section 1).
//
//  127 +--------------------------+ MAXPRI
//      | real time (96..127)      | BASEPRI_RTQUEUES 97: every RT thread in 792
//   96 +--------------------------+ BASEPRI_REALTIME
//   95 | kernel only (80..95)     | MAXPRI_KERNEL 95 (tick thread), thread_call 94,
//      |                          | BASEPRI_PREEMPT 93 (urgent from here), page-out 92,
//      |                          | BASEPRI_KERNEL 81 (work loops, kernel threads)
//   80 +--------------------------+ MINPRI_KERNEL
//   79 | system / reserved        |
//   64 +--------------------------+ MINPRI_RESERVED
//   63 | elevated (52..63)        | MAXPRI_USER: top user band, window-manager events
//   52 +--------------------------+
//   51 | raised (32..51)          | BASEPRI_CONTROL 48, FOREGROUND 47, BACKGROUND 46
//   31 | default                  | BASEPRI_DEFAULT: regular timeshare threads
//   11 | lowered (11..30)         |
//    0 | aged (0..10)             | MINPRI, IDLEPRI, DEPRESSPRI
//      +--------------------------+
#pragma once

#include <string_view>

namespace sim::model {

inline constexpr int NRQS = 128;
inline constexpr int MAXPRI = NRQS - 1;
inline constexpr int MINPRI = 0;
inline constexpr int IDLEPRI = MINPRI;

inline constexpr int BASEPRI_REALTIME = MAXPRI - (NRQS / 4) + 1;
inline constexpr int BASEPRI_RTQUEUES = BASEPRI_REALTIME + 1;
inline constexpr int MAXPRI_KERNEL = BASEPRI_REALTIME - 1;
inline constexpr int BASEPRI_PREEMPT = MAXPRI_KERNEL - 2;
inline constexpr int MINPRI_KERNEL = MAXPRI_KERNEL - (NRQS / 8) + 1;
inline constexpr int BASEPRI_KERNEL = MINPRI_KERNEL + 1;
inline constexpr int MAXPRI_RESERVED = MINPRI_KERNEL - 1;
inline constexpr int MINPRI_RESERVED = MAXPRI_RESERVED - (NRQS / 8) + 1;
inline constexpr int MAXPRI_USER = MINPRI_RESERVED - 1;
inline constexpr int BASEPRI_DEFAULT = MAXPRI_USER - (NRQS / 4);
inline constexpr int BASEPRI_CONTROL = BASEPRI_DEFAULT + 17;
inline constexpr int BASEPRI_FOREGROUND = BASEPRI_DEFAULT + 16;
inline constexpr int BASEPRI_BACKGROUND = BASEPRI_DEFAULT + 15;
inline constexpr int MINPRI_USER = MINPRI;
inline constexpr int DEPRESSPRI = MINPRI;  // 517 and 792 (it was MAXPRI_THROTTLE in 1504..2050)

// Fixed-priority kernel threads of note (xnu-facts.md sections 2, 8).
inline constexpr int SCHED_TICK_PRI = MAXPRI_KERNEL;        // 95
inline constexpr int THREAD_CALL_PRI = BASEPRI_PREEMPT + 1;  // 94, callout threads
inline constexpr int THREAD_CALL_ACTIVATOR_PRI = BASEPRI_PREEMPT;  // 93
inline constexpr int PAGEOUT_PRI = BASEPRI_PREEMPT - 1;      // 92
// Mutex promotion clamps the waiter's value to [BASEPRI_DEFAULT, MINPRI_KERNEL] (section 7).
inline constexpr int MUTEX_PROMOTE_MIN = BASEPRI_DEFAULT;
inline constexpr int MUTEX_PROMOTE_MAX = MINPRI_KERNEL;

static_assert(BASEPRI_REALTIME == 96);
static_assert(BASEPRI_RTQUEUES == 97);
static_assert(MAXPRI_KERNEL == 95);
static_assert(BASEPRI_PREEMPT == 93);
static_assert(MINPRI_KERNEL == 80);
static_assert(BASEPRI_KERNEL == 81);
static_assert(MAXPRI_RESERVED == 79 && MINPRI_RESERVED == 64);
static_assert(MAXPRI_USER == 63);
static_assert(BASEPRI_DEFAULT == 31);
static_assert(BASEPRI_CONTROL == 48 && BASEPRI_FOREGROUND == 47 && BASEPRI_BACKGROUND == 46);
static_assert(THREAD_CALL_PRI == 94 && PAGEOUT_PRI == 92);

enum class Band { aged, lowered, normal, raised, elevated, system, kernel, realtime };
inline constexpr int kBandCount = 8;

constexpr Band band_of(int pri) {
  if (pri >= BASEPRI_REALTIME) return Band::realtime;
  if (pri >= MINPRI_KERNEL) return Band::kernel;
  if (pri >= MINPRI_RESERVED) return Band::system;
  if (pri >= 52) return Band::elevated;
  if (pri > BASEPRI_DEFAULT) return Band::raised;
  if (pri == BASEPRI_DEFAULT) return Band::normal;
  if (pri >= 11) return Band::lowered;
  return Band::aged;
}

constexpr std::string_view to_string(Band b) {
  switch (b) {
    case Band::aged: return "aged";
    case Band::lowered: return "lowered";
    case Band::normal: return "default";
    case Band::raised: return "raised";
    case Band::elevated: return "elevated";
    case Band::system: return "system";
    case Band::kernel: return "kernel";
    case Band::realtime: return "realtime";
  }
  return "?";
}

static_assert(band_of(0) == Band::aged && band_of(10) == Band::aged && band_of(11) == Band::lowered);
static_assert(band_of(31) == Band::normal && band_of(32) == Band::raised && band_of(51) == Band::raised);
static_assert(band_of(52) == Band::elevated && band_of(63) == Band::elevated);
static_assert(band_of(64) == Band::system && band_of(79) == Band::system);
static_assert(band_of(80) == Band::kernel && band_of(95) == Band::kernel);
static_assert(band_of(96) == Band::realtime && band_of(127) == Band::realtime);

}  // namespace sim::model
