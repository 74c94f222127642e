#include "wick/dist/zero_optimizer.h"

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
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    bytes += row_bytes(params_[i], comm_.size());
    if (bytes >= options.bucket_bytes || i + 1 == params_.size()) {
      bucket_ends_.push_back(i + 1);
      bytes = 0;
    }
  }
}

void ZeroOptimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor g = params_[i].grad();
    slices_[i].set_grad(g.defined() ? g.contiguous()
                                          .reshape({g.numel()})
                                          .slice(0, static_cast<int64_t>(owned_[i].start),
                                                 static_cast<int64_t>(owned_[i].end()))
                                    : Tensor());
  }
  // The inner step writes this rank's slices into the parameters (they share storage).
  inner_->step();
  std::size_t first = 0;
  for (const std::size_t last : bucket_ends_) {
    gather(first, last);
    first = last;
  }
}

// Every rank's slices of parameters [first, last) into the parameters: one all_gather of a row
// per rank holding, per parameter, room for the largest slice.
void ZeroOptimizer::gather(std::size_t first, std::size_t last) const {
  const int world = comm_.size();
  std::vector<std::size_t> at;  // [i - first]: the parameter's offset in a row
  std::size_t row = 0;
  for (std::size_t i = first; i < last; ++i) {
    at.push_back(row);
    row += row_bytes(params_[i], world);
  }
  Tensor mine = zeros({static_cast<int64_t>(row)}, kUInt8);
  for (std::size_t i = first; i < last; ++i) {
    std::memcpy(mine.data<uint8_t>() + at[i - first], slices_[i].raw_data(), slices_[i].nbytes());
  }
  const Tensor all = comm_.all_gather(mine);
  for (int r = 0; r < world; ++r) {
    if (r == comm_.rank()) continue;  // already in place
    const uint8_t* from = all.data<uint8_t>() + static_cast<std::size_t>(r) * row;
    for (std::size_t i = first; i < last; ++i) {
      Tensor p = params_[i];
      const std::size_t size = dtype_size(p.dtype());
      const io::ElementRange theirs = io::even_range(numel_of(p), r, world);
      std::memcpy(static_cast<uint8_t*>(p.raw_data()) + theirs.start * size, from + at[i - first],
                  theirs.count * size);
    }
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
  std::vector<uint64_t> numels;
  for (const Tensor& p : params_)
    numels.push_back(numel_of(p));
  return [prefix, numels,
          owned = owned_](const io::ShardedEntry& e) -> std::optional<io::ElementRange> {
    if (!e.path.starts_with(prefix) || e.path.size() == prefix.size() ||
        e.path[prefix.size()] != '/')
      return std::nullopt;
    const std::vector<std::string> steps = io::split_path(e.path.substr(prefix.size()));
    if (steps.size() != 3 || steps[0] != "state" || steps[2] == "step") return std::nullopt;
    const std::optional<std::size_t> i = param_index(steps[1], numels.size());
    if (!i || shape_numel(e.shape) != static_cast<int64_t>(numels[*i])) return std::nullopt;
    return owned[*i];
  };
}

}  // namespace wick::dist
