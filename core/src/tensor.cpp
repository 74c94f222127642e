#include "wick/core/tensor.h"

#include <algorithm>
#include <cstring>

#include "autograd_impl.h"
#include "strided.h"
#include "wick/core/convert.h"
#include "wick/core/creation.h"

namespace wick {

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset,
               DType dtype)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      numel_(shape_numel(shape_)),
      dtype_(dtype) {
  WICK_CHECK(storage_ != nullptr, ArgumentError, "Tensor: storage must not be null");
  WICK_CHECK(strides_.size() == shape_.size(), ShapeError, "Tensor: ", shape_.size(), "-d shape ",
             shape_str(shape_), " needs ", shape_.size(), " strides, got ", strides_.size());
  WICK_CHECK(offset_ >= 0, ShapeError, "Tensor: negative storage offset ", offset_);
  const auto capacity = static_cast<int64_t>(storage_->nbytes() / dtype_size(dtype_));
  if (numel_ == 0) {
    // An empty view places no element, whatever its sizes and strides (PyTorch takes any
    // offset for one), but raw_data() points at its offset: keep that inside the storage or
    // just past its end, so the pointer stays valid and offset * element size cannot overflow.
    WICK_CHECK(offset_ <= capacity, ShapeError, "Tensor: empty view ", shape_str(shape_),
               " at offset ", offset_, " lies outside its ", capacity, "-element storage");
    return;
  }
  // The furthest element must lie inside the storage; computed without overflow.
  int64_t last = offset_;
  for (std::size_t i = 0; i < shape_.size(); ++i) {
    WICK_CHECK(strides_[i] >= 0, ShapeError, "Tensor: negative stride ", strides_[i],
               " in dimension ", i);
    int64_t span = 0;
    WICK_CHECK(!__builtin_mul_overflow(shape_[i] - 1, strides_[i], &span) &&
                   !__builtin_add_overflow(last, span, &last),
               ShapeError, "Tensor: view ", shape_str(shape_), " with strides ",
               shape_str(strides_), " overflows int64");
  }
  // last + 1 counted in uint64_t: the last element may be at 2^63-1.
  WICK_CHECK(last < capacity, ShapeError, "Tensor: view ", shape_str(shape_), " with strides ",
             shape_str(strides_), " at offset ", offset_, " needs ",
             static_cast<uint64_t>(last) + 1, " elements, storage holds ", capacity);
}

namespace {
// `out`, a view or copy of `in`, without `in`'s autograd state, recorded as op `name` whose
// gradient for `in` is `bw(g)` when grad mode is on and `in` requires grad.
template <class F>
Tensor recorded(const Tensor& in, Tensor out, const char* name, F bw) {
  detail::AutogradAccess::meta(out).reset();
  if (!detail::needs_grad(in)) return out;
  return detail::record(std::move(out), name, {in},
                        [bw = std::move(bw)](const Tensor& g, const std::vector<bool>&) {
                          return std::vector<Tensor>{bw(g)};
                        });
}
}  // namespace

int64_t Tensor::size(int64_t d) const {
  return shape_[normalize_dim(d, dim(), "size")];
}

int64_t Tensor::stride(int64_t d) const {
  return strides_[normalize_dim(d, dim(), "stride")];
}

bool Tensor::is_contiguous() const noexcept {
  if (numel_ <= 1) return true;
  int64_t expected = 1;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

bool Tensor::is_same(const Tensor& other) const noexcept {
  return storage_ == other.storage_ && dtype_ == other.dtype_ && offset_ == other.offset_ &&
         shape_ == other.shape_ && strides_ == other.strides_;
}

void Tensor::check_defined(const char* op) const {
  WICK_CHECK(defined(), ArgumentError, op, ": tensor is undefined (default-constructed)");
}

void Tensor::check_in_place(const char* op) const {
  if (!requires_grad() || !grad_enabled()) return;
  WICK_CHECK(!is_leaf(), ArgumentError, op,
             ": a leaf Variable that requires grad is being used in an in-place operation (wrap "
             "the update in a NoGradGuard)");
  throw ArgumentError(
      detail::cat(op, ": in-place operations on a tensor produced by '", autograd_->grad_fn->name,
                  "' that requires grad are not supported (its gradient would be wrong); use an "
                  "out-of-place op or detach() first"));
}

void Tensor::check_element_type(DType requested, const char* op) const {
  check_defined(op);
  WICK_CHECK(requested == dtype_, ArgumentError, op, ": requested element type ", requested,
             " but the tensor holds ", dtype_);
}

void Tensor::check_span(DType requested) const {
  check_element_type(requested, "Tensor::span");
  WICK_CHECK(is_contiguous(), ArgumentError, "Tensor::span: tensor of shape ", shape_str(shape_),
             " with strides ", shape_str(strides_), " is not contiguous; call contiguous() first");
}

void* Tensor::raw_data() {
  check_defined("Tensor::raw_data");
  if (storage_->data() == nullptr) return nullptr;
  // Every view's offset lies inside its storage or just past its end (the constructor and the
  // view ops keep it there), so this neither overflows nor leaves the allocation.
  return storage_->data() + offset_ * static_cast<int64_t>(element_size());
}

const void* Tensor::raw_data() const {
  return const_cast<Tensor*>(this)->raw_data();
}

Scalar Tensor::item() const {
  check_defined("item");
  WICK_CHECK(numel_ == 1, ArgumentError, "item: a Tensor with ", numel_,
             " elements cannot be converted to Scalar (shape ", shape_str(shape_), ")");
  const void* p = raw_data();
  return visit_dtype(dtype_, [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, p, sizeof(T));
    return Scalar(v);
  });
}

Tensor Tensor::clone() const {
  check_defined("clone");
  Tensor out = empty(shape_, dtype_);
  out.copy_(*this);
  return recorded(*this, std::move(out), "clone", [](const Tensor& g) { return g; });
}

Tensor Tensor::contiguous() const {
  check_defined("contiguous");
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType d) const {
  check_defined("to");
  if (d == dtype_) return *this;
  Tensor out = empty(shape_, d);
  out.copy_(*this);
  if (!is_floating(d)) return out;  // gradients stop at integral results, as in PyTorch
  return recorded(*this, std::move(out), "to",
                  [from = dtype_](const Tensor& g) { return g.to(from); });
}

namespace {
// Resolves one -1 entry and checks the element count; `op` names the caller in errors.
Shape infer_shape(Shape shape, int64_t numel, const Shape& from, const char* op) {
  int64_t known = 1;
  int64_t infer_at = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      WICK_CHECK(infer_at < 0, ShapeError, op, ": only one dimension can be inferred, got ",
                 shape_str(shape));
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    WICK_CHECK(shape[i] >= 0, ShapeError, op, ": invalid size ", shape[i], " in ",
               shape_str(shape));
    WICK_CHECK(!__builtin_mul_overflow(known, shape[i], &known), ShapeError, op, ": shape ",
               shape_str(shape), " overflows int64");
  }
  if (infer_at >= 0) {
    WICK_CHECK(known != 0 && numel % known == 0, ShapeError, op, ": shape ", shape_str(shape),
               " is invalid for input of size ", numel, " (shape ", shape_str(from), ")");
    shape[infer_at] = numel / known;
  } else {
    WICK_CHECK(known == numel, ShapeError, op, ": shape ", shape_str(shape),
               " is invalid for input of size ", numel, " (shape ", shape_str(from), ")");
  }
  return shape;
}

// Strides that express `new_shape` over the memory of (shape, strides) without copying, or an
// empty optional-like flag when impossible. Follows ATen's computeStride: each run of input
// dimensions that is contiguous with itself may be re-split freely.
bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, int64_t numel,
                  Shape& out) {
  out.assign(new_shape.size(), 0);
  if (numel == 0 || shape.empty()) {
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= shape[tensor_d];
    if (tensor_d == 0 ||
        (shape[tensor_d - 1] != 1 && strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (tensor_d > 0) {
        chunk_base_stride = strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}
}  // namespace

Tensor Tensor::view(Shape shape) const {
  check_defined("view");
  shape = infer_shape(std::move(shape), numel_, shape_, "view");
  Shape strides;
  WICK_CHECK(view_strides(shape_, strides_, shape, numel_, strides), ShapeError, "view: size ",
             shape_str(shape), " is not compatible with input of shape ", shape_str(shape_),
             " and strides ", shape_str(strides_),
             " (at least one dimension spans across two contiguous subspaces); use reshape()");
  return recorded(*this, Tensor(storage_, std::move(shape), std::move(strides), offset_, dtype_),
                  "view", [from = shape_](const Tensor& g) { return g.reshape(from); });
}

Tensor Tensor::reshape(Shape shape) const {
  check_defined("reshape");
  shape = infer_shape(std::move(shape), numel_, shape_, "reshape");
  Shape strides;
  if (view_strides(shape_, strides_, shape, numel_, strides)) {
    return recorded(*this, Tensor(storage_, std::move(shape), std::move(strides), offset_, dtype_),
                    "reshape", [from = shape_](const Tensor& g) { return g.reshape(from); });
  }
  return clone().view(std::move(shape));  // both steps record themselves
}

Tensor Tensor::flatten() const {
  return reshape({-1});
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  check_defined("transpose");
  d0 = normalize_dim(d0, dim(), "transpose");
  d1 = normalize_dim(d1, dim(), "transpose");
  Tensor out = *this;
  if (dim() == 0)
    return recorded(*this, std::move(out), "transpose", [](const Tensor& g) { return g; });
  std::swap(out.shape_[d0], out.shape_[d1]);
  std::swap(out.strides_[d0], out.strides_[d1]);
  return recorded(*this, std::move(out), "transpose",
                  [d0, d1](const Tensor& g) { return g.transpose(d0, d1); });
}

Tensor Tensor::t() const {
  check_defined("t");
  WICK_CHECK(dim() <= 2, ShapeError, "t: expects a tensor with <= 2 dimensions, but got ", dim(),
             "-d tensor of shape ", shape_str(shape_));
  if (dim() == 2) return transpose(0, 1);
  return recorded(*this, *this, "t", [](const Tensor& g) { return g; });  // a new alias, as PyTorch
}

Tensor Tensor::permute(const Shape& order) const {
  check_defined("permute");
  WICK_CHECK(static_cast<int64_t>(order.size()) == dim(), ShapeError, "permute: order ",
             shape_str(order), " has ", order.size(), " entries but the tensor has ", dim(),
             " dimensions");
  std::vector<bool> seen(order.size(), false);
  Shape inverse(order.size());
  Tensor out = *this;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int64_t d = normalize_dim(order[i], dim(), "permute");
    WICK_CHECK(!seen[d], ArgumentError, "permute: dimension ", d, " repeats in ", shape_str(order));
    seen[d] = true;
    out.shape_[i] = shape_[d];
    out.strides_[i] = strides_[d];
    inverse[d] = static_cast<int64_t>(i);
  }
  return recorded(*this, std::move(out), "permute",
                  [inverse](const Tensor& g) { return g.permute(inverse); });
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  check_defined("slice");
  WICK_CHECK(dim() > 0, ShapeError, "slice: cannot slice a 0-d tensor");
  d = normalize_dim(d, dim(), "slice");
  WICK_CHECK(step > 0, ArgumentError, "slice: step must be positive, got ", step);
  const int64_t n = shape_[d];
  auto clamp = [n](int64_t i) {
    if (i < 0) i += n;
    return std::clamp<int64_t>(i, 0, n);
  };
  start = clamp(start);
  end = std::max(clamp(end), start);
  Tensor out = *this;
  out.shape_[d] = (end - start + step - 1) / step;
  out.numel_ = shape_numel(out.shape_);
  // Only an empty view's strides can be large enough to overflow here, and they place nothing.
  if (__builtin_mul_overflow(strides_[d], step, &out.strides_[d])) out.strides_[d] = strides_[d];
  // An empty result keeps the offset, inside the storage (see select()).
  if (out.numel_ > 0) out.offset_ = offset_ + start * strides_[d];
  return recorded(*this, std::move(out), "slice",
                  [d, start, end, step, from = shape_](const Tensor& g) {
                    Tensor r = zeros(from, g.dtype());
                    r.slice(d, start, end, step).copy_(g);
                    return r;
                  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  check_defined("select");
  WICK_CHECK(dim() > 0, ShapeError, "select: cannot index a 0-d tensor");
  d = normalize_dim(d, dim(), "select");
  const int64_t n = shape_[d];
  WICK_CHECK(index >= -n && index < n, ArgumentError, "select: index ", index,
             " is out of bounds for dimension ", d, " with size ", n);
  if (index < 0) index += n;
  Tensor out = *this;
  out.shape_.erase(out.shape_.begin() + d);
  out.strides_.erase(out.strides_.begin() + d);
  out.numel_ = shape_numel(out.shape_);
  // Like slice(): an empty result keeps the offset, which stays inside the storage; the strides
  // of an empty tensor may point anywhere (the rows of [5, 0, 2^20] start 2^20 apart).
  if (out.numel_ > 0) out.offset_ = offset_ + index * strides_[d];
  return recorded(*this, std::move(out), "select", [d, index, from = shape_](const Tensor& g) {
    Tensor r = zeros(from, g.dtype());
    r.select(d, index).copy_(g);
    return r;
  });
}

Tensor Tensor::unsqueeze(int64_t d) const {
  check_defined("unsqueeze");
  d = normalize_dim(d, dim() + 1, "unsqueeze");
  Tensor out = *this;
  const int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  out.shape_.insert(out.shape_.begin() + d, 1);
  out.strides_.insert(out.strides_.begin() + d, stride);
  return recorded(*this, std::move(out), "unsqueeze",
                  [d](const Tensor& g) { return g.squeeze(d); });
}

Tensor Tensor::squeeze(int64_t d) const {
  check_defined("squeeze");
  auto alias = [](const Tensor& g) { return g; };
  if (dim() == 0) return recorded(*this, *this, "squeeze", alias);
  d = normalize_dim(d, dim(), "squeeze");
  if (shape_[d] != 1) return recorded(*this, *this, "squeeze", alias);
  Tensor out = *this;
  out.shape_.erase(out.shape_.begin() + d);
  out.strides_.erase(out.strides_.begin() + d);
  return recorded(*this, std::move(out), "squeeze",
                  [d](const Tensor& g) { return g.unsqueeze(d); });
}

Tensor Tensor::expand(const Shape& shape) const {
  check_defined("expand");
  WICK_CHECK(shape.size() >= shape_.size(), ShapeError, "expand: target ", shape_str(shape),
             " has fewer dimensions than the tensor's ", shape_str(shape_));
  const std::size_t lead = shape.size() - shape_.size();
  Shape new_shape(shape.size());
  Shape new_strides(shape.size(), 0);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool is_new = i < lead;
    const int64_t have = is_new ? 1 : shape_[i - lead];
    const int64_t want = shape[i] == -1 ? have : shape[i];
    WICK_CHECK(!(is_new && shape[i] == -1), ShapeError, "expand: -1 is not allowed in a new ",
               "leading dimension (target ", shape_str(shape), ")");
    WICK_CHECK(want >= 0 && (have == want || have == 1), ShapeError, "expand: the expanded size ",
               want, " must match the existing size ", have, " at dimension ", i, " (tensor ",
               shape_str(shape_), ", target ", shape_str(shape), ")");
    new_shape[i] = want;
    new_strides[i] = (is_new || have != want) ? 0 : strides_[i - lead];
  }
  Tensor out = *this;
  out.shape_ = std::move(new_shape);
  out.strides_ = std::move(new_strides);
  out.numel_ = shape_numel(out.shape_);
  return recorded(*this, std::move(out), "expand", [from = shape_, dt = dtype_](const Tensor& g) {
    return detail::reduce_to(g, from, dt);
  });
}

namespace {
template <class To, class From>
void convert_rows(std::byte* dst, const std::byte* src, std::span<const int64_t> shape,
                  std::span<const int64_t> dst_strides, std::span<const int64_t> src_strides) {
  auto* d = reinterpret_cast<To*>(dst);
  const auto* s = reinterpret_cast<const From*>(src);
  detail::for_each_row<2>(
      shape, {dst_strides, src_strides},
      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
        To* dp = d + off[0];
        const From* sp = s + off[1];
        if constexpr (std::is_same_v<To, From>) {
          if (st[0] == 1 && st[1] == 1) {
            std::memcpy(dp, sp, static_cast<std::size_t>(n) * sizeof(To));
            return;
          }
        }
        for (int64_t i = 0; i < n; ++i) {
          dp[i * st[0]] = convert_value<To>(sp[i * st[1]]);
        }
      });
}

// True when the byte ranges the two views may touch intersect.
bool may_overlap(const Tensor& a, const Tensor& b) {
  if (!a.shares_storage(b) || a.numel() == 0 || b.numel() == 0) return false;
  auto extent = [](const Tensor& t) {
    int64_t last = t.offset();
    for (int64_t i = 0; i < t.dim(); ++i)
      last += (t.shape()[i] - 1) * t.strides()[i];
    const auto es = static_cast<int64_t>(t.element_size());
    return std::pair<int64_t, int64_t>{t.offset() * es, (last + 1) * es};
  };
  const auto [a0, a1] = extent(a);
  const auto [b0, b1] = extent(b);
  return a0 < b1 && b0 < a1;
}
}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  check_defined("copy_");
  check_in_place("copy_");
  WICK_CHECK(src.defined(), ArgumentError, "copy_: source tensor is undefined");
  Tensor from = src.expand(shape_);  // throws ShapeError naming both shapes
  if (may_overlap(*this, from)) from = from.clone();
  if (numel_ == 0) return *this;
  auto* dst = static_cast<std::byte*>(raw_data());
  const auto* s = static_cast<const std::byte*>(from.raw_data());
  visit_dtype(dtype_, [&](auto to_tag) {
    using To = typename decltype(to_tag)::type;
    visit_dtype(from.dtype(), [&](auto from_tag) {
      using From = typename decltype(from_tag)::type;
      convert_rows<To, From>(dst, s, shape_, strides_, from.strides());
    });
  });
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  check_defined("fill_");
  check_in_place("fill_");
  if (numel_ == 0) return *this;
  auto* base = static_cast<std::byte*>(raw_data());
  visit_dtype(dtype_, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<T>();
    T* p = reinterpret_cast<T*>(base);
    detail::for_each_row<1>(
        shape_, {std::span<const int64_t>(strides_)},
        [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& st) {
          for (int64_t i = 0; i < n; ++i)
            p[off[0] + i * st[0]] = v;
        });
  });
  return *this;
}

}  // namespace wick
