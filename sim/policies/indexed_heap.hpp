// IndexedHeap: a binary min-heap of thread indices with their keys, removable by thread. Keys
// are copied into the heap's own array, so sifting touches only that array; positions live in a
// vector the owner shares between its heaps (a thread is in at most one of them at a time), so
// nothing allocates once the heaps have grown. Used for the run queues of `edf` (deadline order)
// and `cfs` (vruntime order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sim::policies {

// `Less` is a strict order on Key with no two keys of one heap equal (break ties in the key).
template <class Key, class Less>
class IndexedHeap {
 public:
  struct Item {
    Key key;
    int32_t thread;
  };

  // `positions[thread]` is the thread's place in the heap that holds it, -1 when none holds it;
  // borrowed, sized to the thread count by the owner.
  explicit IndexedHeap(std::vector<int32_t>* positions) : pos_(positions) {}

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // The smallest item; the heap must not be empty.
  const Item& top() const { return items_.front(); }
  // The smallest item after the top (one of its two children), or nullptr.
  const Item* second() const {
    if (items_.size() < 2) return nullptr;
    if (items_.size() == 2 || less_(items_[1].key, items_[2].key)) return &items_[1];
    return &items_[2];
  }
  // Every item, in heap order (not sorted): for scans and consistency checks.
  const std::vector<Item>& items() const { return items_; }

  void push(int32_t thread, const Key& key) {
    items_.push_back(Item{key, thread});
    up(items_.size() - 1);
  }

  // Removes `thread`, which this heap must hold.
  void erase(int32_t thread) {
    size_t at = static_cast<size_t>((*pos_)[static_cast<size_t>(thread)]);
    (*pos_)[static_cast<size_t>(thread)] = -1;
    Item last = items_.back();
    items_.pop_back();
    if (at == items_.size()) return;
    items_[at] = last;
    up(at);
    down(static_cast<size_t>((*pos_)[static_cast<size_t>(last.thread)]));
  }

 private:
  void place(size_t at, const Item& item) {
    items_[at] = item;
    (*pos_)[static_cast<size_t>(item.thread)] = static_cast<int32_t>(at);
  }
  void up(size_t at) {
    Item item = items_[at];
    while (at > 0) {
      size_t parent = (at - 1) / 2;
      if (!less_(item.key, items_[parent].key)) break;
      place(at, items_[parent]);
      at = parent;
    }
    place(at, item);
  }
  void down(size_t at) {
    Item item = items_[at];
    size_t n = items_.size();
    for (;;) {
      size_t l = 2 * at + 1;
      if (l >= n) break;
      size_t m = l + 1 < n && less_(items_[l + 1].key, items_[l].key) ? l + 1 : l;
      if (!less_(items_[m].key, item.key)) break;
      place(at, items_[m]);
      at = m;
    }
    place(at, item);
  }

  std::vector<int32_t>* pos_;
  std::vector<Item> items_;
  [[no_unique_address]] Less less_{};
};

}  // namespace sim::policies
