// The event queue orders by (time, class rank, sequence).
#include <catch2/catch.hpp>

#include "sim/core/event_queue.hpp"

using namespace sim::core;

TEST_CASE("core: events pop by time, then class rank, then insertion order", "[core][unit]") {
  EventQueue q;
  q.push(SimTime{20}, 0, 1, 0);
  q.push(SimTime{10}, 3, 2, 0);
  q.push(SimTime{10}, 1, 3, 0);
  q.push(SimTime{10}, 1, 4, 0);
  q.push(SimTime{5}, 9, 5, 0);
  std::vector<int> order;
  while (!q.empty()) order.push_back(q.pop().kind);
  CHECK(order == std::vector<int>{5, 3, 4, 2, 1});
}

TEST_CASE("core: a large random load pops in non-decreasing order", "[core][unit]") {
  EventQueue q;
  uint64_t x = 12345;
  for (int i = 0; i < 10000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    q.push(SimTime{static_cast<int64_t>((x >> 33) % 1000)}, static_cast<uint32_t>((x >> 20) % 4), 0, i);
  }
  Event prev = q.pop();
  size_t n = 1;
  while (!q.empty()) {
    Event e = q.pop();
    bool ordered = prev.time < e.time || (prev.time == e.time && (prev.rank < e.rank ||
                   (prev.rank == e.rank && prev.seq < e.seq)));
    REQUIRE(ordered);
    prev = e;
    ++n;
  }
  CHECK(n == 10000);
}
