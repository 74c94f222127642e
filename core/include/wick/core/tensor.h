#pragma once
/// \file
/// wick::Tensor: a cheap handle to a strided view of shared, 64-byte-aligned storage.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "wick/core/dtype.h"
#include "wick/core/error.h"
#include "wick/core/scalar.h"
#include "wick/core/shape.h"
#include "wick/core/storage.h"

namespace wick {

namespace detail {
struct AutogradMeta;
struct AutogradAccess;
}  // namespace detail

/// An n-dimensional array. Copying a Tensor copies the handle, not the data (like
/// torch::Tensor): both handles see the same elements. `clone()` copies the data.
/// Views (`view`, `reshape`, `t`, `transpose`, `slice`, `select`, `expand`) share storage.
class Tensor {
 public:
  /// An undefined tensor: no storage; most operations on it throw ArgumentError.
  Tensor() = default;
  /// A view of `storage` (offset and strides in elements). Throws ShapeError when any element
  /// would fall outside the storage.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  /// True unless default-constructed.
  bool defined() const noexcept { return storage_ != nullptr; }
  /// Element type.
  DType dtype() const noexcept { return dtype_; }
  /// Sizes of every dimension.
  const Shape& shape() const noexcept { return shape_; }
  /// Size of dimension `d` (negative counts from the end).
  int64_t size(int64_t d) const;
  /// Strides in elements.
  const Shape& strides() const noexcept { return strides_; }
  /// Stride of dimension `d` in elements (negative counts from the end).
  int64_t stride(int64_t d) const;
  /// Offset of the first element into the storage, in elements.
  int64_t offset() const noexcept { return offset_; }
  /// Number of dimensions.
  int64_t dim() const noexcept { return static_cast<int64_t>(shape_.size()); }
  /// Number of elements.
  int64_t numel() const noexcept { return numel_; }
  /// Bytes per element.
  std::size_t element_size() const noexcept { return dtype_size(dtype_); }
  /// numel() * element_size().
  std::size_t nbytes() const noexcept { return static_cast<std::size_t>(numel_) * element_size(); }
  /// True when elements are laid out row-major without gaps.
  bool is_contiguous() const noexcept;
  /// The shared storage (nullptr when undefined).
  const std::shared_ptr<Storage>& storage() const noexcept { return storage_; }
  /// True when both tensors view the same storage.
  bool shares_storage(const Tensor& other) const noexcept {
    return storage_ != nullptr && storage_ == other.storage_;
  }
  /// True when both are the same view (storage, dtype, shape, strides, offset) of one storage.
  bool is_same(const Tensor& other) const noexcept;

  /// Address of the first element (may be nullptr for an empty tensor).
  void* raw_data();
  /// Address of the first element (may be nullptr for an empty tensor).
  const void* raw_data() const;
  /// Typed address of the first element; throws ArgumentError unless T matches dtype().
  template <class T>
  T* data() {
    check_element_type(dtype_of<T>(), "Tensor::data");
    return static_cast<T*>(raw_data());
  }
  /// Typed address of the first element; throws ArgumentError unless T matches dtype().
  template <class T>
  const T* data() const {
    check_element_type(dtype_of<T>(), "Tensor::data");
    return static_cast<const T*>(raw_data());
  }
  /// The elements of a contiguous tensor; throws unless T matches and is_contiguous().
  template <class T>
  std::span<T> span() {
    check_span(dtype_of<T>());
    return {static_cast<T*>(raw_data()), static_cast<std::size_t>(numel_)};
  }
  /// The elements of a contiguous tensor; throws unless T matches and is_contiguous().
  template <class T>
  std::span<const T> span() const {
    check_span(dtype_of<T>());
    return {static_cast<const T*>(raw_data()), static_cast<std::size_t>(numel_)};
  }
  /// The single element of a one-element tensor, as a Scalar.
  Scalar item() const;
  /// The single element converted to T (see convert.h); throws unless numel() == 1.
  template <class T>
  T item() const {
    return item().to<T>();
  }

  /// Deep copy into fresh contiguous storage.
  Tensor clone() const;
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// This tensor if already of dtype `d`, else a converted contiguous copy (see convert.h).
  Tensor to(DType d) const;
  /// Same elements with a new shape, sharing storage; one size may be -1. Throws ShapeError when
  /// the element count differs or the strides cannot express the new shape (use reshape).
  Tensor view(Shape shape) const;
  /// view() when possible, otherwise a contiguous copy with the new shape.
  Tensor reshape(Shape shape) const;
  /// reshape({-1}).
  Tensor flatten() const;
  /// Swaps dimensions `d0` and `d1` (a view).
  Tensor transpose(int64_t d0, int64_t d1) const;
  /// Transpose of a 0-, 1- or 2-d tensor (a view); ShapeError for more dimensions.
  Tensor t() const;
  /// Reorders dimensions (a view); `order` must be a permutation of 0..dim()-1.
  Tensor permute(const Shape& order) const;
  /// Elements start, start+step, ... < end along `dim` (a view). Bounds are clamped like Python
  /// slices, negative indices count from the end; step must be positive.
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  /// Removes dimension `dim` by picking element `index` (a view).
  Tensor select(int64_t dim, int64_t index) const;
  /// select(0, index).
  Tensor operator[](int64_t index) const { return select(0, index); }
  /// Inserts a dimension of size 1 at `dim` (a view).
  Tensor unsqueeze(int64_t dim) const;
  /// Removes dimension `dim` if its size is 1 (a view).
  Tensor squeeze(int64_t dim) const;
  /// Broadcasts size-1 dimensions to `shape` with stride 0 (a view); -1 keeps a size.
  Tensor expand(const Shape& shape) const;

  /// Copies `src` into this tensor's elements, broadcasting and converting dtype. Not recorded
  /// by autograd: no gradient flows back to `src`.
  Tensor& copy_(const Tensor& src);
  /// Sets every element to `value` (converted to dtype()).
  Tensor& fill_(Scalar value);
  /// Sets every element to zero.
  Tensor& zero_() { return fill_(0); }

  // ---- autograd (see autograd.h) ----
  // The state lives behind one shared pointer created on first use: handles copied after that
  // share it (a Module's parameter and its state_dict() entry see the same grad()), handles
  // copied before do not. In-place ops (copy_, fill_, zero_) on a tensor that requires grad
  // throw ArgumentError while grad mode is on.

  /// True when gradients flow to or through this tensor; false for undefined tensors.
  bool requires_grad() const noexcept;
  /// Marks a leaf as needing gradients (or not). ArgumentError for undefined or non-floating
  /// tensors, and for turning it off on a non-leaf.
  Tensor& set_requires_grad(bool on = true);
  /// The gradient accumulated by backward() into this leaf; undefined when there is none.
  Tensor grad() const;
  /// Replaces the gradient (undefined clears it); ShapeError when the shapes differ.
  void set_grad(Tensor g);
  /// Reverse pass from this tensor, accumulating into the grad() of every leaf reached, then
  /// frees the graph. A non-scalar needs `grad` of the same shape; ArgumentError when this
  /// tensor does not require grad or the graph was already freed by an earlier backward().
  void backward(const Tensor& grad) const;
  /// backward() from a one-element tensor (the gradient of the output is 1).
  void backward() const;
  /// Same storage and view, no history, requires_grad() false.
  Tensor detach() const;
  /// True unless this tensor was produced by a recorded operation (has a grad_fn).
  bool is_leaf() const noexcept;

 private:
  void check_element_type(DType requested, const char* op) const;
  void check_span(DType requested) const;
  void check_defined(const char* op) const;
  void check_in_place(const char* op) const;

  friend struct detail::AutogradAccess;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  DType dtype_ = DType::Float32;
  std::shared_ptr<detail::AutogradMeta> autograd_;
};

}  // namespace wick
