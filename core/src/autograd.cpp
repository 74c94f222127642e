// The autograd engine: grad mode, per-tensor state, recording and the reverse pass.

#include <unordered_map>

#include "autograd_impl.h"
#include "wick/core/creation.h"
#include "wick/core/ops.h"
#include "wick/core/reduce.h"

namespace wick {

namespace {
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() noexcept {
  return t_grad_enabled;
}

NoGradGuard::NoGradGuard() noexcept : previous_(t_grad_enabled) {
  t_grad_enabled = false;
}

NoGradGuard::~NoGradGuard() {
  t_grad_enabled = previous_;
}

namespace detail {

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  for (auto& e : next) {
    if (e.node) pending.push_back(std::move(e.node));
  }
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n.use_count() == 1) {  // last owner: detach its inputs before it dies
      for (auto& e : n->next) {
        if (e.node) pending.push_back(std::move(e.node));
      }
    }
  }
}

Tensor record(Tensor out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn) {
  std::vector<Edge> edges(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& m = AutogradAccess::meta(inputs[i]);
    if (!m || !m->requires_grad) continue;
    if (m->grad_fn) {
      edges[i].node = m->grad_fn;
    } else {
      edges[i].leaf = m;
    }
  }
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::make_shared<Node>(op, std::move(edges), std::move(fn));
  AutogradAccess::meta(out) = std::move(meta);
  return out;
}

Tensor reduce_to(const Tensor& g, const Shape& shape, DType dtype) {
  Tensor r = g;
  const int64_t lead = r.dim() - static_cast<int64_t>(shape.size());
  for (int64_t d = 0; d < lead; ++d)
    r = sum(r, 0);
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1 && r.shape()[d] != 1) r = sum(r, static_cast<int64_t>(d), true);
  }
  return r.reshape(shape).to(dtype);
}

namespace {

// True when `g` is the only handle on a storage that holds exactly its elements: nothing else
// can see it, so it may become a leaf's gradient as it is (PyTorch's AccumulateGrad steals such
// a gradient too). A Linear's weight gradient is one, fresh from its matmul; copying it would
// cost a pass over every weight per step.
bool stealable(const Tensor& g) {
  const auto& storage = g.storage();
  return storage != nullptr && storage.use_count() == 1 && !storage->borrowed() &&
         g.offset() == 0 && g.is_contiguous() && g.nbytes() == storage->nbytes();
}

void accumulate_leaf(AutogradMeta& leaf, const Tensor& g) {
  if (!leaf.grad.defined()) {
    if (stealable(g)) {
      leaf.grad = g.detach();
      return;
    }
    // A fresh copy: g may alias another leaf's gradient or the caller's tensor.
    leaf.grad = empty(g.shape(), g.dtype());
    leaf.grad.copy_(g);
  } else {
    leaf.grad.copy_(add(leaf.grad, g));
  }
}

// Every node reachable from `root` with the number of edges pointing at it; throws before
// anything is computed when part of the graph was already freed.
std::unordered_map<Node*, int64_t> count_dependencies(Node* root) {
  std::unordered_map<Node*, int64_t> deps{{root, 0}};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    WICK_CHECK(n->backward != nullptr, ArgumentError,
               "backward: trying to backward through the graph a second time (the saved tensors "
               "of '",
               n->name, "' were freed by the previous backward())");
    for (const auto& e : n->next) {
      if (!e.node) continue;
      auto [it, inserted] = deps.try_emplace(e.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(e.node.get());
    }
  }
  return deps;
}

void run_backward(Node* root, Tensor root_grad) {
  auto deps = count_dependencies(root);
  std::unordered_map<Node*, Tensor> pending{{root, std::move(root_grad)}};
  std::vector<Node*> ready{root};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    auto found = pending.find(n);
    const Tensor g = std::move(found->second);
    pending.erase(found);
    std::vector<bool> needed(n->next.size());
    for (std::size_t i = 0; i < needed.size(); ++i)
      needed[i] = n->next[i].active();
    const std::vector<Tensor> grads = n->backward(g, needed);
    n->backward = nullptr;  // frees the saved tensors
    for (std::size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.active() || !grads[i].defined()) continue;
      if (e.leaf) {
        accumulate_leaf(*e.leaf, grads[i]);
        continue;
      }
      Node* child = e.node.get();
      auto [it, inserted] = pending.try_emplace(child, grads[i]);
      if (!inserted) it->second = add(it->second, grads[i]);
      if (--deps[child] == 0) ready.push_back(child);
    }
  }
}

}  // namespace
}  // namespace detail

using detail::AutogradAccess;
using detail::AutogradMeta;

bool Tensor::requires_grad() const noexcept {
  return autograd_ != nullptr && autograd_->requires_grad;
}

bool Tensor::is_leaf() const noexcept {
  return autograd_ == nullptr || autograd_->grad_fn == nullptr;
}

Tensor& Tensor::set_requires_grad(bool on) {
  check_defined("set_requires_grad");
  if (on) {
    WICK_CHECK(is_floating(dtype_), ArgumentError,
               "set_requires_grad: only tensors of floating point dtype can require gradients, "
               "got ",
               dtype_name(dtype_));
  } else {
    WICK_CHECK(is_leaf(), ArgumentError,
               "set_requires_grad: you can only change requires_grad flags of leaf variables "
               "(this tensor was produced by '",
               autograd_->grad_fn->name, "'); use detach() to get a tensor without history");
  }
  if (!autograd_) {
    if (!on) return *this;
    autograd_ = std::make_shared<AutogradMeta>();
  }
  autograd_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  return autograd_ ? autograd_->grad : Tensor();
}

void Tensor::set_grad(Tensor g) {
  check_defined("set_grad");
  if (!g.defined()) {
    if (autograd_) autograd_->grad = Tensor();
    return;
  }
  WICK_CHECK(g.shape() == shape_, ShapeError, "set_grad: gradient shape ", shape_str(g.shape()),
             " does not match tensor shape ", shape_str(shape_));
  WICK_CHECK(g.dtype() == dtype_, ArgumentError, "set_grad: gradient dtype ", dtype_name(g.dtype()),
             " does not match tensor dtype ", dtype_name(dtype_));
  if (!autograd_) autograd_ = std::make_shared<AutogradMeta>();
  autograd_->grad = g.detach();  // no history: x.set_grad(x) must not make a cycle
}

Tensor Tensor::detach() const {
  Tensor out = *this;
  out.autograd_.reset();
  return out;
}

void Tensor::backward() const {
  backward(Tensor());
}

void Tensor::backward(const Tensor& grad) const {
  check_defined("backward");
  WICK_CHECK(requires_grad(), ArgumentError,
             "backward: the tensor does not require grad and has no grad_fn (call "
             "set_requires_grad() on a leaf it depends on, outside NoGradGuard)");
  Tensor g;
  if (grad.defined()) {
    WICK_CHECK(grad.shape() == shape_, ShapeError, "backward: grad shape ", shape_str(grad.shape()),
               " does not match tensor shape ", shape_str(shape_));
    WICK_CHECK(is_floating(grad.dtype()), ArgumentError,
               "backward: grad must be floating point, got ", dtype_name(grad.dtype()));
    g = grad.detach().to(dtype_);
  } else {
    WICK_CHECK(numel_ == 1, ArgumentError,
               "backward: grad can be implicitly created only for scalar outputs, got a tensor "
               "of shape ",
               shape_str(shape_), "; pass a grad of that shape");
    g = ones(shape_, dtype_);
  }
  NoGradGuard no_grad;
  if (autograd_->grad_fn) {
    detail::run_backward(autograd_->grad_fn.get(), std::move(g));
  } else {
    detail::accumulate_leaf(*autograd_, g);
  }
}

}  // namespace wick
