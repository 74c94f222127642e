#include "page_release.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "tree.h"

namespace wick::cli {

namespace {
constexpr auto kPeriod = std::chrono::milliseconds(5);

using Span = std::pair<uintptr_t, uintptr_t>;

// The address ranges where `file` is mapped into this process.
std::vector<Span> mappings_of(const std::filesystem::path& file) {
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::canonical(file, ec);
  std::vector<Span> out;
  if (ec) return out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode   path": the path is the rest after the fifth field.
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in >> std::ws, path);
    if (path != target.string()) continue;
    const std::size_t dash = range.find('-');
    out.emplace_back(std::stoull(range.substr(0, dash), nullptr, 16),
                     std::stoull(range.substr(dash + 1), nullptr, 16));
  }
  return out;
}
}  // namespace

PageRelease::PageRelease(const Value& root, const std::filesystem::path& file) {
  const std::vector<Span> mapped = mappings_of(file);
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  std::vector<Span> spans;
  for_each_leaf(root, [&](const std::string&, const Value& v) {
    if (!v.is_tensor() || !v.tensor().storage()) return;
    const Storage& s = *v.tensor().storage();
    if (s.nbytes() == 0) return;
    const auto lo = reinterpret_cast<uintptr_t>(s.data());
    // Whole pages only: a page shared with bytes outside the storage is left alone.
    const uintptr_t begin = (lo + page - 1) / page * page;
    const uintptr_t end = (lo + s.nbytes()) / page * page;
    // Only the part inside a mapping of the file.
    for (const auto& [mb, me] : mapped) {
      const uintptr_t b = std::max(begin, mb);
      const uintptr_t e = std::min(end, me);
      if (b < e) spans.emplace_back(b, e);
    }
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
  // Dropping a page the process wrote to would lose the write (a private mapping's written page
  // is anonymous): while pages are released, a write faults instead of being lost.
  for (const Range& r : ranges_)
    ::mprotect(r.begin, r.length, PROT_READ);
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
  for (const Range& r : ranges_)
    ::mprotect(r.begin, r.length, PROT_READ | PROT_WRITE);  // as io's Mapping maps the file
}

void PageRelease::release() const {
  // A failure only leaves the pages resident: memory, not correctness, so it is ignored.
  for (const Range& r : ranges_)
    ::madvise(r.begin, r.length, MADV_DONTNEED);
}

}  // namespace wick::cli
