#include "async/snapshot.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace wick::io::detail {

namespace {

// Copies of at least this many bytes are split with the helper thread: below it, handing work
// to another thread costs more than it saves.
constexpr std::size_t kSplitCopyBytes = std::size_t{32} << 20;

struct Copy {
  const std::byte* from;
  std::byte* to;
  std::size_t n;
};

void run_copies(const std::vector<Copy>& copies) {
  for (const Copy& c : copies)
    std::memcpy(c.to, c.from, c.n);
}

// Splits `copies` into two lists of about equal bytes, cutting one copy in two where needed.
std::pair<std::vector<Copy>, std::vector<Copy>> halve(const std::vector<Copy>& copies,
                                                      std::size_t total) {
  std::pair<std::vector<Copy>, std::vector<Copy>> out;
  std::size_t first = total / 2;
  for (const Copy& c : copies) {
    if (first >= c.n) {
      out.first.push_back(c);
      first -= c.n;
    } else if (first > 0) {
      out.first.push_back({c.from, c.to, first});
      out.second.push_back({c.from + first, c.to + first, c.n - first});
      first = 0;
    } else {
      out.second.push_back(c);
    }
  }
  return out;
}

void collect(Value& v, std::vector<Tensor*>& out) {
  switch (v.kind()) {
    case Value::Kind::Tensor:
      out.push_back(&v.tensor());
      break;
    case Value::Kind::List:
      for (Value& item : v.list())
        collect(item, out);
      break;
    case Value::Kind::Tuple:
      for (Value& item : v.tuple())
        collect(item, out);
      break;
    case Value::Kind::Dict:
      for (auto& item : v.dict())
        collect(item.second, out);
      break;
    default:
      break;
  }
}

}  // namespace

bool StagingPool::can_take(const std::vector<std::size_t>& sizes) const {
  std::size_t need = 0;
  for (std::size_t s : sizes)
    need += s;
  // Free buffers may all be dropped to make room, so only those in use count against the limit.
  return in_use_ + need <= limit_;
}

std::vector<std::shared_ptr<Storage>> StagingPool::take(const std::vector<std::size_t>& sizes) {
  // Which sizes a free buffer serves, without taking it yet: an allocation below may throw, and
  // the pool must then be as it was.
  std::vector<std::size_t> reuse(sizes.size(), SIZE_MAX);  // index into free_
  std::vector<bool> taken(free_.size(), false);
  std::size_t need = 0;  // bytes to allocate
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    for (std::size_t f = 0; f < free_.size(); ++f) {
      if (!taken[f] && free_[f]->nbytes() == sizes[i]) {
        reuse[i] = f;
        taken[f] = true;
        break;
      }
    }
    if (reuse[i] == SIZE_MAX) need += sizes[i];
  }
  // Free buffers of other sizes are dropped, largest first, while the new ones would not fit.
  std::vector<std::size_t> spare;
  for (std::size_t f = 0; f < free_.size(); ++f) {
    if (!taken[f]) spare.push_back(f);
  }
  std::sort(spare.begin(), spare.end(),
            [&](std::size_t a, std::size_t b) { return free_[a]->nbytes() > free_[b]->nbytes(); });
  std::size_t held = held_;
  std::vector<bool> dropped(free_.size(), false);
  for (std::size_t k = 0; k < spare.size() && held + need > limit_; ++k) {
    held -= free_[spare[k]]->nbytes();
    dropped[spare[k]] = true;
  }
  std::vector<std::shared_ptr<Storage>> out(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (reuse[i] == SIZE_MAX) out[i] = Storage::allocate(sizes[i]);  // may throw: nothing changed
  }
  // Nothing below throws.
  std::vector<std::shared_ptr<Storage>> keep;
  keep.reserve(free_.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (reuse[i] != SIZE_MAX) out[i] = free_[reuse[i]];
    in_use_ += sizes[i];
  }
  for (std::size_t f = 0; f < free_.size(); ++f) {
    if (!taken[f] && !dropped[f]) keep.push_back(std::move(free_[f]));
  }
  free_ = std::move(keep);
  held_ = held + need;
  return out;
}

void StagingPool::give_back(std::vector<std::shared_ptr<Storage>> buffers) {
  for (auto& b : buffers) {
    in_use_ -= b->nbytes();
    free_.push_back(std::move(b));
  }
}

void StagingPool::release_free() {
  for (const auto& b : free_)
    held_ -= b->nbytes();
  free_.clear();
}

SnapshotPlan::SnapshotPlan(std::vector<Tensor*> tensors) : tensors_(std::move(tensors)) {
  std::unordered_map<const Storage*, uint32_t> index;
  range_of_.assign(tensors_.size(), UINT32_MAX);
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = *tensors_[i];
    if (!t.defined() || t.numel() == 0) continue;  // reads nothing; left as it is
    // Strides are never negative (Tensor's constructor), so the last element is the furthest.
    int64_t last = t.offset();
    for (int64_t d = 0; d < t.dim(); ++d)
      last += (t.shape()[d] - 1) * t.strides()[d];
    const std::size_t es = t.element_size();
    const std::size_t lo = static_cast<std::size_t>(t.offset()) * es;
    const std::size_t hi = static_cast<std::size_t>(last) * es + es;
    const auto [it, fresh] = index.try_emplace(t.storage().get(), ranges_.size());
    if (fresh) {
      ranges_.push_back({t.storage().get(), lo, hi});
    } else {
      Range& r = ranges_[it->second];
      r.lo = std::min(r.lo, lo);
      r.hi = std::max(r.hi, hi);
    }
    range_of_[i] = it->second;
  }
  for (Range& r : ranges_) {
    // Aligned down so that every dtype's elements stay aligned in the copy, which the
    // allocator aligns to kStorageAlignment as it does the original.
    r.lo -= r.lo % kStorageAlignment;
    sizes_.push_back(r.hi - r.lo);
    bytes_ += r.hi - r.lo;
  }
  // Empty tensors on a storage that is copied follow it, so views of one storage stay so.
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = *tensors_[i];
    if (range_of_[i] != UINT32_MAX || !t.defined()) continue;
    if (const auto it = index.find(t.storage().get()); it != index.end()) range_of_[i] = it->second;
  }
}

void SnapshotPlan::copy_and_rebind(const std::vector<std::shared_ptr<Storage>>& buffers,
                                   Worker& helper) {
  std::vector<Copy> copies;
  for (std::size_t r = 0; r < ranges_.size(); ++r) {
    copies.push_back({ranges_[r].storage->data() + ranges_[r].lo, buffers[r]->data(), sizes_[r]});
  }
  if (bytes_ >= kSplitCopyBytes && Worker::worthwhile()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const auto halves = halve(copies, bytes_);
    if (helper.post([&halves] { run_copies(halves.second); })) {
      const DrainOnExit drain(helper);
      run_copies(halves.first);
    } else {
      run_copies(copies);
    }
  } else {
    run_copies(copies);
  }
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    if (range_of_[i] == UINT32_MAX) continue;
    Tensor& t = *tensors_[i];
    const std::size_t es = t.element_size();
    const std::size_t lo = ranges_[range_of_[i]].lo;
    const auto& buffer = buffers[range_of_[i]];
    const std::size_t at = static_cast<std::size_t>(t.offset()) * es;
    // An empty tensor may lie outside the copied range: any offset within the copy will do.
    const std::size_t offset = at < lo ? 0 : std::min(at - lo, buffer->nbytes()) / es;
    t = Tensor(buffer, t.shape(), t.strides(), static_cast<int64_t>(offset), t.dtype());
  }
}

std::vector<Tensor*> tensors_of(Value& value) {
  std::vector<Tensor*> out;
  collect(value, out);
  return out;
}

std::vector<Tensor*> tensors_of(TensorDict& dict) {
  std::vector<Tensor*> out;
  for (auto& item : dict)
    out.push_back(&item.second);
  return out;
}

}  // namespace wick::io::detail
