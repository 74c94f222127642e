#include "wick/dist/zero_optimizer.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "wick/core/autograd.h"
#include "wick/core/creation.h"
#include "wick/core/error.h"
#include "wick/io/native/tree_path.h"

namespace wick::dist {

namespace {

// The most bytes one all_gather moves per rank (MPI counts are ints).
constexpr std::size_t kMaxGather = std::size_t{1} << 30;

uint64_t numel_of(const Tensor& t) {
  return static_cast<uint64_t>(t.numel());
}

// Bytes parameter `p` takes in a gather row: the largest slice any rank owns (rank 0's).
std::size_t row_bytes(const Tensor& p, int world) {
  return io::even_range(numel_of(p), 0, world).count * dtype_size(p.dtype());
}

// An FNV-1a hash of the parameters' dtypes and shapes, compared across ranks.
int64_t layout_hash(const std::vector<Tensor>& params) {
  uint64_t h = 1469598103934665603ULL;
  const auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ULL; };
  for (const Tensor& p : params) {
    mix(static_cast<uint64_t>(p.dtype()));
    mix(p.shape().size());
    for (const int64_t d : p.shape())
      mix(static_cast<uint64_t>(d));
  }
  return static_cast<int64_t>(h);
}

// The parameter index a state path step names ("3" -> 3), if any.
std::optional<std::size_t> param_index(std::string_view step, std::size_t count) {
  std::size_t i = 0;
  if (!io::is_index_step(step, i) || i >= count) return std::nullopt;
  return i;
}

}  // namespace

ZeroOptimizer::ZeroOptimizer(std::vector<Tensor> params, Communicator comm, const Factory& make,
                             ZeroOptions options)
    : params_(std::move(params)), comm_(std::move(comm)) {
  NoGradGuard no_grad;
  // The slices' checks are the inner optimizer's; the parameters' own must come first, since a
  // slice of a bad parameter may look fine (a non-leaf's detached view is a leaf).
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    WICK_CHECK(p.defined() && p.is_leaf() && p.requires_grad() && p.is_contiguous() &&
                   (p.dtype() == kFloat32 || p.dtype() == kFloat64),
               ArgumentError, "ZeroOptimizer: parameter ", i,
               " must be a float32 or float64 contiguous leaf that requires grad");
    for (std::size_t j = 0; j < i; ++j) {  // its slices would be distinct tensors
      WICK_CHECK(!params_[j].is_same(p), ArgumentError, "ZeroOptimizer: parameter ", i,
                 " is the same tensor as parameter ", j);
    }
    owned_.push_back(io::even_range(numel_of(p), comm_.rank(), comm_.size()));
    Tensor s =
        p.detach()
            .reshape({p.numel()})
            .slice(0, static_cast<int64_t>(owned_[i].start), static_cast<int64_t>(owned_[i].end()));
    s.set_requires_grad(true);
    slices_.push_back(std::move(s));
  }
  inner_ = make(slices_);
  WICK_CHECK(inner_ != nullptr, ArgumentError, "ZeroOptimizer: the factory returned no optimizer");
  // Every rank must cut the same parameters: the gathers' rows are laid out from them.
  const Tensor all = comm_.all_gather(full({1}, layout_hash(params_), kInt64));
  for (int r = 0; r < comm_.size(); ++r) {
    WICK_CHECK(all.data<int64_t>()[r] == all.data<int64_t>()[0], ShapeError,
               "ZeroOptimizer: ranks 0 and ", r,
               " passed parameters of different shapes or dtypes");
  }
  for (const Tensor& p : params_) {
    at_.push_back(row_);
    row_ += row_bytes(p, comm_.size());
  }
  part_ = std::clamp<std::size_t>(options.bucket_bytes, 1, kMaxGather);
}

void ZeroOptimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    // Shaped like the parameter: Tensor::set_grad() refuses any other shape.
    slices_[i].set_grad(g.defined() ? g.contiguous()
                                          .reshape({g.numel()})
                                          .slice(0, static_cast<int64_t>(owned_[i].start),
                                                 static_cast<int64_t>(owned_[i].end()))
                                    : Tensor());
  }
  // The inner step writes this rank's slices into the parameters (they share storage).
  inner_->step();
  // The slices' gradients are views of the whole ones: dropped, so that the next backward pass
  // does not run with last step's gradients still held.
  inner_->zero_grad();
  if (comm_.size() > 1) gather();
}

// Every rank's slices into the parameters: each rank's row holds, per parameter, room for the
// largest slice, and is exchanged in parts of part_ bytes (a part may end inside a parameter).
void ZeroOptimizer::gather() const {
  Tensor mine = zeros({static_cast<int64_t>(row_)}, kUInt8);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (slices_[i].nbytes() == 0) continue;  // no data pointer to copy from
    std::memcpy(mine.data<uint8_t>() + at_[i], slices_[i].raw_data(), slices_[i].nbytes());
  }
  for (std::size_t from = 0; from < row_; from += part_) {
    const std::size_t len = std::min(part_, row_ - from);
    const Tensor all = comm_.all_gather(
        mine.slice(0, static_cast<int64_t>(from), static_cast<int64_t>(from + len)));
    for (int r = 0; r < comm_.size(); ++r) {
      if (r != comm_.rank()) place(r, from, all.data<uint8_t>() + r * len, len);
    }
  }
}

// Bytes [from, from + len) of rank r's row, at `bytes`, into the parameters they belong to.
void ZeroOptimizer::place(int r, std::size_t from, const uint8_t* bytes, std::size_t len) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor p = params_[i];
    const std::size_t size = dtype_size(p.dtype());
    const io::ElementRange theirs = io::even_range(numel_of(p), r, comm_.size());
    const std::size_t lo = std::max(at_[i], from);
    const std::size_t hi = std::min(at_[i] + theirs.count * size, from + len);
    if (lo >= hi) continue;
    std::memcpy(static_cast<uint8_t*>(p.raw_data()) + theirs.start * size + (lo - at_[i]),
                bytes + (lo - from), hi - lo);
  }
}

void ZeroOptimizer::zero_grad() {
  for (Tensor& p : params_)
    p.set_grad(Tensor());
  inner_->zero_grad();
}

std::map<std::string, io::ShardSlice> ZeroOptimizer::shard_slices(const std::string& prefix) const {
  std::map<std::string, io::ShardSlice> out;
  const Value state = inner_->state_dict();
  for (const auto& [key, entry] : state.at("state").dict()) {
    const auto i = static_cast<std::size_t>(key.as_int());
    for (const auto& [name, buffer] : entry.dict()) {
      if (!buffer.is_tensor() || name.str() == "step") continue;
      std::string path = prefix;
      io::append_path_key(path, "state");
      io::append_path_index(path, i);
      io::append_path_key(path, name.str());
      out.emplace(std::move(path), io::ShardSlice{params_[i].shape(), owned_[i].start});
    }
  }
  return out;
}

io::SliceRule ZeroOptimizer::slice_rule(const std::string& prefix) const {
  std::vector<Shape> shapes;
  for (const Tensor& p : params_)
    shapes.push_back(p.shape());
  return [prefix, shapes,
          owned = owned_](const io::ShardedEntry& e) -> std::optional<io::ElementRange> {
    if (!e.path.starts_with(prefix) || e.path.size() == prefix.size() ||
        e.path[prefix.size()] != '/')
      return std::nullopt;
    const std::vector<std::string> steps = io::split_path(e.path.substr(prefix.size()));
    if (steps.size() != 3 || steps[0] != "state" || steps[2] == "step") return std::nullopt;
    const std::optional<std::size_t> i = param_index(steps[1], shapes.size());
    if (!i || e.shape != shapes[*i]) return std::nullopt;
    return owned[*i];
  };
}

}  // namespace wick::dist
