// The event queue orders by (time, class rank, sequence).
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

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

// Issue 13: events of one (time, rank) share a bucket, found through a small cache of open
// buckets. Interleaved pushes and pops over few instants and ranks (so buckets are reused, closed
// by cache collisions and reopened) must still pop in exactly (time, rank, seq) order: checked
// against a reference that keeps every pending event and takes the least by that key.
TEST_CASE("core: interleaved pushes and pops over shared instants keep the total order", "[core][unit]") {
  EventQueue q;
  std::vector<Event> pending;  // the reference
  uint64_t x = 987654321;
  auto next = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  int64_t now = 0;
  uint64_t seq = 0;
  size_t popped = 0;
  for (int step = 0; step < 200000; ++step) {
    if (pending.empty() || (pending.size() < 400 && next() % 2 == 0)) {
      // Few distinct future instants (as periodic releases have), some at the current instant.
      int64_t at = now + static_cast<int64_t>(next() % 8) * 5 + static_cast<int64_t>(next() % 2) * 1000;
      uint32_t rank = static_cast<uint32_t>(next() % 5);
      q.push(SimTime{at}, rank, static_cast<uint16_t>(step & 0xffff), step);
      pending.push_back(Event{SimTime{at}, rank, seq++, static_cast<uint16_t>(step & 0xffff), step, 0, 0});
    } else {
      auto least = std::min_element(pending.begin(), pending.end(), [](const Event& a, const Event& b) {
        return a.time < b.time || (a.time == b.time && (a.rank < b.rank || (a.rank == b.rank && a.seq < b.seq)));
      });
      REQUIRE(q.top().seq == least->seq);
      Event e = q.pop();
      REQUIRE(e.seq == least->seq);
      REQUIRE(e.time == least->time);
      REQUIRE(e.rank == least->rank);
      REQUIRE(e.target == least->target);
      now = e.time.ns;
      pending.erase(least);
      ++popped;
    }
    REQUIRE(q.size() == pending.size());
  }
  CHECK(popped > 90000);
}
