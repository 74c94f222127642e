#include "wick/io/native/tree_path.h"

#include <charconv>

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
