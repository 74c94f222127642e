#include "wick/io/native/tree_path.h"

#include <charconv>

#include "common/bytes.h"
#include "wick/core/error.h"

namespace wick::io {

void append_path_key(std::string& path, std::string_view key) {
  path += '/';
  for (const char c : key) {
    if (c == '~') {
      path += "~0";
    } else if (c == '/') {
      path += "~1";
    } else {
      path += c;
    }
  }
}

void append_path_index(std::string& path, std::size_t index) {
  path += '/';
  path += std::to_string(index);
}

std::string path_of(const std::vector<std::string>& keys) {
  std::string path;
  for (const auto& k : keys)
    append_path_key(path, k);
  return path;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> steps;
  if (path.empty()) return steps;
  WICK_CHECK(path.front() == '/', ArgumentError, "tree path '", path,
             "' must be empty (the root) or start with '/' (JSON Pointer, e.g. "
             "'/model/hidden.weight')");
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '/') {
      steps.emplace_back();
    } else if (c == '~') {
      const char next = i + 1 < path.size() ? path[i + 1] : '\0';
      WICK_CHECK(next == '0' || next == '1', ArgumentError, "tree path '", path, "': '~' at byte ",
                 i, " must be followed by 0 ('~') or 1 ('/')");
      steps.back() += next == '0' ? '~' : '/';
      ++i;
    } else {
      steps.back() += c;
    }
  }
  return steps;
}

std::optional<int64_t> int_key_step(std::string_view step) noexcept {
  const std::string_view digits = step.starts_with('-') ? step.substr(1) : step;
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') || step == "-0") return {};
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), v);
  if (ec != std::errc() || end != step.data() + step.size()) return {};
  return v;
}

bool is_index_step(std::string_view step, std::size_t& index) noexcept {
  if (step.empty() || (step.size() > 1 && step.front() == '0')) return false;
  const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), index);
  return ec == std::errc() && end == step.data() + step.size();
}

}  // namespace wick::io

namespace wick::io {

const Value* child_node(const Value& node, std::string_view step) {
  if (node.is_dict()) {
    if (const Value* by_string = node.dict().find(step)) return by_string;
    const std::optional<int64_t> i = int_key_step(step);
    return i ? node.dict().find(*i) : nullptr;
  }
  std::size_t i = 0;
  if ((node.is_list() || node.is_tuple()) && is_index_step(step, i) && i < node.size()) {
    return &node[i];
  }
  return nullptr;
}

const Value* find_node(const Value& root, std::string_view path) {
  const Value* node = &root;
  for (const std::string& step : split_path(path)) {
    node = child_node(*node, step);
    if (node == nullptr) return nullptr;
  }
  return node;
}

Value* find_node(Value& root, std::string_view path) {
  return const_cast<Value*>(find_node(static_cast<const Value&>(root), path));
}

namespace {
// Recursion is bounded by kMaxDepth.
void walk(std::string& path, const Value& v, const NodeFn& fn, int depth) {
  fn(path, v);
  if (!v.is_dict() && !v.is_list() && !v.is_tuple()) return;
  WICK_CHECK(depth < detail::kMaxDepth, ArgumentError, "value tree at '", path,
             "' nests deeper than ", detail::kMaxDepth, " containers");
  const std::size_t n = path.size();
  if (v.is_dict()) {
    for (const auto& [key, item] : v.dict()) {
      append_path_key(path, key.text());
      walk(path, item, fn, depth + 1);
      path.resize(n);
    }
    return;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    append_path_index(path, i);
    walk(path, v[i], fn, depth + 1);
    path.resize(n);
  }
}
}  // namespace

void for_each_node(const Value& root, const NodeFn& fn) {
  std::string path;
  walk(path, root, fn, 0);
}

}  // namespace wick::io
