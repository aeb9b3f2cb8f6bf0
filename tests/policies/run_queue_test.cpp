// The 128-level run queue: bitmap, FIFO per level, head insertion, deadline order.
#include <catch2/catch.hpp>

#include "sim/policies/run_queue.hpp"

using namespace sim;
using sim::policies::RunQueue;
using sim::model::Thread;

namespace {
std::vector<model::Thread> make_threads(std::initializer_list<int> pris) {
  std::vector<model::Thread> ts;
  int i = 0;
  for (int p : pris) {
    model::Thread t;
    t.index = i++;
    t.sched_pri = p;
    ts.push_back(t);
  }
  return ts;
}
}  // namespace

TEST_CASE("policies: the run queue returns the highest level first, FIFO within a level", "[policies][unit]") {
  auto ts = make_threads({31, 47, 31, 0, 127, 63, 64});
  RunQueue q(ts.data());
  CHECK(q.highq() == -1);
  for (auto& t : ts) q.enqueue(t, false);
  CHECK(q.count() == 7);
  CHECK(q.highq() == 127);
  std::vector<int> order;
  while (Thread* t = q.dequeue_highest()) order.push_back(t->index);
  CHECK(order == std::vector<int>{4, 6, 5, 1, 0, 2, 3});
  CHECK(q.empty());
  CHECK(q.highq() == -1);
}

TEST_CASE("policies: a preempted thread re-queued at the head runs before its peers", "[policies][unit]") {
  auto ts = make_threads({31, 31, 31});
  RunQueue q(ts.data());
  q.enqueue(ts[0], false);
  q.enqueue(ts[1], false);
  q.enqueue(ts[2], true);
  CHECK(q.dequeue_highest()->index == 2);
  q.remove(ts[1]);
  CHECK(q.dequeue_highest()->index == 0);
  CHECK(q.empty());
}

TEST_CASE("policies: real-time threads are kept in deadline order, equal deadlines after", "[policies][unit]") {
  auto ts = make_threads({97, 97, 97, 97});
  ts[0].rt_deadline = core::SimTime{300};
  ts[1].rt_deadline = core::SimTime{100};
  ts[2].rt_deadline = core::SimTime{300};
  ts[3].rt_deadline = core::SimTime{200};
  RunQueue q(ts.data());
  for (auto& t : ts) q.enqueue_by_deadline(t);
  std::vector<int> order;
  while (Thread* t = q.dequeue_highest()) order.push_back(t->index);
  CHECK(order == std::vector<int>{1, 3, 0, 2});
}

TEST_CASE("policies: urgency counts queued urgent threads", "[policies][unit]") {
  auto ts = make_threads({94, 81, 97});
  ts[0].urgent = true;
  ts[2].urgent = true;
  RunQueue q(ts.data());
  for (auto& t : ts) q.enqueue(t, false);
  CHECK(q.urgency() == 2);
  q.remove(ts[0]);
  CHECK(q.urgency() == 1);
}
