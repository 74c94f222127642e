#pragma once
// Private autograd machinery: per-tensor state, graph nodes, and the helpers differentiable ops
// use to record themselves.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "wick/core/autograd.h"
#include "wick/core/tensor.h"

namespace wick::detail {

struct Node;

/// Autograd state of a tensor, shared by every handle copied from it.
struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                    // leaves only
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

/// Where a node sends the gradient of one input: the node that produced it, or the leaf
/// whose grad accumulates it; both null when that input does not require grad.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<AutogradMeta> leaf;
  bool active() const noexcept { return node != nullptr || leaf != nullptr; }
};

/// `needed[i]` says whether input i wants a gradient; the result holds one gradient per input
/// (undefined where not needed), each of that input's shape and dtype.
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needed)>;

/// One recorded operation. `backward` (and the tensors it captured) is dropped once used.
struct Node {
  const char* name;
  std::vector<Edge> next;
  BackwardFn backward;

  Node(const char* op, std::vector<Edge> edges, BackwardFn fn)
      : name(op), next(std::move(edges)), backward(std::move(fn)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Unlinks the chain iteratively: a long graph would otherwise recurse once per node.
  ~Node();
};

/// Access to Tensor's private autograd pointer.
struct AutogradAccess {
  static std::shared_ptr<AutogradMeta>& meta(Tensor& t) noexcept { return t.autograd_; }
  static const std::shared_ptr<AutogradMeta>& meta(const Tensor& t) noexcept { return t.autograd_; }
};

/// True when grad mode is on and any of `inputs` requires grad: the op must record a node.
inline bool needs_grad(const Tensor& a) {
  return a.requires_grad() && grad_enabled();
}
inline bool needs_grad(const Tensor& a, const Tensor& b) {
  return (a.requires_grad() || b.requires_grad()) && grad_enabled();
}
inline bool needs_grad(const Tensor& a, const Tensor& b, const Tensor& c) {
  return (a.requires_grad() || b.requires_grad() || c.requires_grad()) && grad_enabled();
}

/// Makes `out` the result of a node named `op` over `inputs` and returns it. `out` gets fresh
/// autograd state, so it must be a new handle (not shared with an input).
Tensor record(Tensor out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn);

/// Runs `f` with grad mode off and returns its result.
template <class F>
auto no_grad(F&& f) {
  NoGradGuard guard;
  return f();
}

/// `g` summed over the dimensions broadcasting added or expanded, reshaped to `shape` and
/// converted to `dtype`: the gradient of an input that was broadcast to g's shape.
Tensor reduce_to(const Tensor& g, const Shape& shape, DType dtype);

}  // namespace wick::detail

namespace wick::detail {

/// The differentiable elementwise ops, for the recording entry points below.
enum class GradOp { Add, Sub, Mul, Div, Neg, Relu, Exp, Log, Tanh, Sigmoid, Abs };

// Entry points the public ops call when needs_grad(): each runs the op with grad mode off and
// records its node (autograd_ops.cpp).
Tensor grad_binary(const Tensor& a, const Tensor& b, GradOp op);
Tensor grad_scalar(const Tensor& t, Scalar s, GradOp op, bool scalar_first);
Tensor grad_unary(const Tensor& x, GradOp op);
Tensor grad_matmul(const Tensor& a, const Tensor& b);
Tensor grad_linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
/// sum/mean over everything (dim == nullopt-like kAllDims) or along `dim`.
inline constexpr int64_t kAllDims = INT64_MIN;
Tensor grad_reduce(const Tensor& x, int64_t dim, bool keepdim, bool mean);

}  // namespace wick::detail
