#include "tree.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "table.h"
#include "wick/core/error.h"

namespace wick::cli {

namespace {
std::string join(const std::string& parent, const std::string& part) {
  return parent.empty() ? part : parent + "." + part;
}

void walk(const std::string& path, const Value& v,
          const std::function<void(const std::string&, const Value&)>& fn) {
  fn(path, v);
  if (v.is_dict()) {
    for (const auto& [key, child] : v.dict())
      walk(join(path, key), child, fn);
  } else if (v.is_list()) {
    for (std::size_t i = 0; i < v.list().size(); ++i)
      walk(join(path, std::to_string(i)), v.list()[i], fn);
  }
}
}  // namespace

// Recursion is bounded: the format caps nesting at 512.
void for_each_node(const Value& root,
                   const std::function<void(const std::string&, const Value&)>& fn) {
  walk("", root, fn);
}

std::vector<Leaf> leaves(const Value& root) {
  std::vector<Leaf> out;
  for_each_node(root, [&](const std::string& path, const Value& v) {
    if ((!v.is_dict() && !v.is_list()) || v.size() == 0) out.push_back({path, &v});
  });
  return out;
}

const Value* find_node(const Value& root, std::string_view path) {
  const Value* found = nullptr;
  for_each_node(root, [&](const std::string& p, const Value& v) {
    if (found == nullptr && p == path) found = &v;
  });
  return found;
}

std::string repr(const Value& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string describe(const Value& v) {
  return v.is_tensor() ? describe(v.tensor().dtype(), v.tensor().shape()) : repr(v);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  WICK_CHECK(a.shape() == b.shape(), ShapeError,
             "max_abs_diff: shapes differ: ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  // Converted to float64 a chunk at a time, so a huge tensor needs no float64 copy of itself.
  constexpr int64_t kChunk = int64_t{1} << 16;
  const int64_t n = a.numel();
  const Tensor fa = a.contiguous().view({n});
  const Tensor fb = b.contiguous().view({n});
  double worst = 0.0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t end = std::min(n, start + kChunk);
    const Tensor x = fa.slice(0, start, end).to(kFloat64).contiguous();
    const Tensor y = fb.slice(0, start, end).to(kFloat64).contiguous();
    const auto xs = x.span<double>();
    const auto ys = y.span<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (xs[i] == ys[i] || (std::isnan(xs[i]) && std::isnan(ys[i]))) continue;
      const double d = std::fabs(xs[i] - ys[i]);
      if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
      worst = std::max(worst, d);
    }
  }
  return worst;
}

Json to_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None:
      return nullptr;
    case Value::Kind::Bool:
      return v.as_bool();
    case Value::Kind::Int:
      return v.as_int();
    case Value::Kind::Float:
      return v.as_float();
    case Value::Kind::String:
      return v.as_string();
    default:
      return repr(v);
  }
}

std::string dump(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

}  // namespace wick::cli
