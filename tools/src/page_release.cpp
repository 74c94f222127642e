#include "page_release.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "tree.h"

namespace wick::cli {

namespace {
constexpr auto kPeriod = std::chrono::milliseconds(5);
}  // namespace

PageRelease::PageRelease(const Value& root) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  std::vector<std::pair<uintptr_t, uintptr_t>> spans;
  for_each_leaf(root, [&](const std::string&, const Value& v) {
    if (!v.is_tensor() || !v.tensor().storage()) return;
    const Storage& s = *v.tensor().storage();
    if (s.nbytes() == 0) return;
    const auto lo = reinterpret_cast<uintptr_t>(s.data());
    // Whole pages only: a page shared with bytes outside the storage is left alone.
    const uintptr_t begin = (lo + page - 1) / page * page;
    const uintptr_t end = (lo + s.nbytes()) / page * page;
    if (begin < end) spans.emplace_back(begin, end);
  });
  std::sort(spans.begin(), spans.end());
  for (const auto& [b, e] : spans) {
    if (!ranges_.empty()) {
      Range& last = ranges_.back();
      const auto last_end = reinterpret_cast<uintptr_t>(last.begin) + last.length;
      if (b <= last_end) {
        last.length = std::max(last_end, e) - reinterpret_cast<uintptr_t>(last.begin);
        continue;
      }
    }
    ranges_.push_back(Range{reinterpret_cast<std::byte*>(b), e - b});
  }
  if (ranges_.empty()) return;
  thread_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(kPeriod);
      release();
    }
  });
}

PageRelease::~PageRelease() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void PageRelease::release() const {
  // A failure only leaves the pages resident: memory, not correctness, so it is ignored.
  for (const Range& r : ranges_)
    ::madvise(r.begin, r.length, MADV_DONTNEED);
}

}  // namespace wick::cli
