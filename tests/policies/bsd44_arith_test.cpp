// The 4.4BSD-Lite2 arithmetic of the bsd44 policy, without a dispatcher: decay_cpu, schedcpu's
// estcpu, updatepri, resetpriority, statclock, loadav (policy-facts.md 1.1-1.5, 1.10).
#include <catch2/catch.hpp>

#include "sim/policies/bsd44_policy.hpp"

using namespace sim::policies::bsd44;

namespace {

// A lone hog's estcpu after `seconds` schedcpus with the load factor held: 100 statclock ticks,
// then the decay (policy-facts 1.2, 1.4).
std::vector<uint32_t> hog_after(uint32_t ldavg, uint32_t ticks_per_second, int seconds) {
  std::vector<uint32_t> out;
  uint32_t e = 0;
  for (int s = 0; s < seconds; ++s) {
    for (uint32_t k = 0; k < ticks_per_second; ++k) e = statclock_estcpu(e);
    e = schedcpu_estcpu(loadfactor(ldavg), e, 0);
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("bsd44: decay_cpu multiplies by 2L/(2L+1) in integers (policy-facts 1.1)", "[policies][unit]") {
  CHECK(decay_cpu(loadfactor(2048), 100) == 66);  // 409600 / 6144 = 66.67
  CHECK(decay_cpu(loadfactor(4096), 100) == 80);  // 819200 / 10240
  CHECK(decay_cpu(0, 255) == 0);                   // boot: ldavg 0 wipes estcpu
  CHECK(FSCALE == 2048);
  CHECK(PPQ == 4);
}

TEST_CASE("bsd44: check 1, a hog with ldavg held at 1.0 (policy-facts 1.10)", "[policies][fidelity]") {
  CHECK(hog_after(2048, 100, 5) == std::vector<uint32_t>{66, 110, 140, 160, 173});
  std::vector<int> pri;
  for (uint32_t e : hog_after(2048, 100, 5)) pri.push_back(usrpri(e, 0));
  CHECK(pri == std::vector<int>{66, 77, 85, 90, 93});
  // Just before each schedcpu: after + 100; priorities 75, 91, 102, 110, 115.
  CHECK(usrpri(100, 0) == 75);
  CHECK(usrpri(260, 0) == 115);
  // Steady state: 198 after, 298 before (pri 99 / 124).
  CHECK(hog_after(2048, 100, 60).back() == 198);
  CHECK(usrpri(198, 0) == 99);
  CHECK(usrpri(298, 0) == 124);
}

TEST_CASE("bsd44: check 2, ldavg held at 2.0: a lone hog and two sharing (policy-facts 1.10)", "[policies][fidelity]") {
  CHECK(hog_after(4096, 100, 5) == std::vector<uint32_t>{80, 144, 195, 236, 255});
  CHECK(hog_after(4096, 50, 5) == std::vector<uint32_t>{40, 72, 97, 117, 133});
  std::vector<int> pri;
  for (uint32_t e : hog_after(4096, 50, 5)) pri.push_back(usrpri(e, 0));
  CHECK(pri == std::vector<int>{60, 68, 74, 79, 83});
}

TEST_CASE("bsd44: check 4, updatepri decays S-2 times for S whole seconds asleep (policy-facts 1.5)",
          "[policies][fidelity]") {
  // estcpu 200 right after a schedcpu, lf 4096 (ldavg 1.0): the schedcpu of the first second
  // asleep decays it (slptime 1), the next ones skip it, and wakeup's updatepri does the rest.
  uint32_t lf = loadfactor(2048);
  uint32_t first = schedcpu_estcpu(lf, 200, 0);
  CHECK(first == 133);
  CHECK(updatepri_estcpu(lf, first, 3) == 88);  // 3 s asleep: 2 decays in all
  CHECK(usrpri(88, 0) == 72);
  CHECK(updatepri_estcpu(lf, first, 2) == 133);  // 2 s
  CHECK(updatepri_estcpu(lf, first, 4) == 58);   // 4 s
  // With ldavg 0 the limit 5 * loadfactor is 0: any sleep forgets everything.
  CHECK(updatepri_estcpu(0, 200, 2) == 0);
}

TEST_CASE("bsd44: resetpriority, nice and the unsigned arithmetic of Lite2 (policy-facts 1.1, 1.4)", "[policies][unit]") {
  CHECK(usrpri(0, 0) == PUSER);
  CHECK(usrpri(0, 10) == 70);
  CHECK(usrpri(0, -20) == 10);
  CHECK(usrpri(1000, 0) == MAXPRI);
  // schedcpu adds nice after the decay and caps at UCHAR_MAX.
  CHECK(schedcpu_estcpu(loadfactor(2048), 100, 5) == 71);
  CHECK(schedcpu_estcpu(loadfactor(2048), 400, 0) == 255);
  // newcpu is u_int: a negative nice above the decayed value wraps, and min() gives 255.
  CHECK(schedcpu_estcpu(0, 0, -5) == 255);
  CHECK(schedcpu_estcpu(loadfactor(2048), 30, -5) == 15);  // 20 - 5
  // statclock saturates instead of wrapping; it does not cap at 255.
  CHECK(statclock_estcpu(255) == 256);
  CHECK(statclock_estcpu(UINT32_MAX) == UINT32_MAX);
}

TEST_CASE("bsd44: loadav samples every 5 s with cexp 1884 from 0 at boot (policy-facts 1.4, 1.10 check 3)",
          "[policies][fidelity]") {
  CHECK(kCexp == 1884);
  CHECK(loadav(0, 1) == 164);
  CHECK(loadav(164, 1) == 314);
  CHECK(loadav(314, 1) == 452);
  uint32_t l = 0;
  for (int i = 0; i < 200; ++i) l = loadav(l, 1);
  CHECK(l == 2036);  // the steady state for one runnable process, not 2048
  l = 0;
  for (int i = 0; i < 200; ++i) l = loadav(l, 2);
  CHECK(l == 4084);
}

TEST_CASE("bsd44: the shown Mach priority and the sleep priorities", "[policies][unit]") {
  CHECK(shown_pri(PUSER) == 63);
  CHECK(shown_pri(66) == 47);
  CHECK(shown_pri(113) == 0);
  CHECK(shown_pri(127) == 0);
  CHECK(shown_pri(PWAIT) == 63);
  CHECK(sleep_priority(sim::core::BlockReason::io) == PRIBIO);
  CHECK(sleep_priority(sim::core::BlockReason::lock) == PRIBIO);
  CHECK(sleep_priority(sim::core::BlockReason::sleep) == PWAIT);
  CHECK(sleep_priority(sim::core::BlockReason::event) == PWAIT);
  CHECK(PRIBIO <= PZERO);
  CHECK(PWAIT > PZERO);
}
