#include <algorithm>
#include <ostream>
#include <utility>
#include <vector>

#include "commands.h"
#include "errors.h"
#include "tree.h"
#include "wick/io/reader.h"

namespace wick::cli {

namespace {
// operator<< on a Value prints its tensors with the process-wide options.
class ScopedPrintOptions {
 public:
  explicit ScopedPrintOptions(const PrintOptions& o) : saved_(print_options()) {
    print_options() = o;
  }
  ~ScopedPrintOptions() { print_options() = saved_; }
  ScopedPrintOptions(const ScopedPrintOptions&) = delete;
  ScopedPrintOptions& operator=(const ScopedPrintOptions&) = delete;

 private:
  PrintOptions saved_;
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Names the closest paths (typos, or a prefix or extension of the path asked for).
Failure no_such_path(const std::string& file, const std::string& path, const Value& root) {
  std::vector<std::pair<std::size_t, std::string>> close;
  for_each_node(root, [&](const std::string& p, const Value&) {
    if (p.empty()) return;
    const std::size_t d = edit_distance(p, path);
    if (d <= std::max<std::size_t>(2, path.size() / 4) || p.find(path) != std::string::npos ||
        path.find(p) != std::string::npos) {
      close.emplace_back(d, p);
    }
  });
  std::stable_sort(close.begin(), close.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::string similar;
  for (std::size_t i = 0; i < std::min<std::size_t>(close.size(), 5); ++i)
    similar += (i == 0 ? "; similar: '" : ", '") + close[i].second + "'";
  return {kUsage, "no entry '" + path + "' in " + file + similar};
}
}  // namespace

int run_cat(const std::string& file, const std::optional<std::string>& path,
            const PrintOptions& print, std::ostream& out) {
  const ScopedPrintOptions scoped(print);
  return on_file(file, [&] {
    LoadOptions options;
    options.mmap = true;
    io::Reader reader(file, options);
    if (path) {
      // A tensor loads alone; any other node needs the whole tree.
      for (const io::EntryInfo& e : reader.entries()) {
        if (e.path == *path) {
          out << to_string(reader.tensor(*path), print) << '\n';
          return kOk;
        }
      }
    }
    const Value root = reader.value();
    const Value* node = path ? find_node(root, *path) : &root;
    if (node == nullptr) throw no_such_path(file, *path, root);
    out << *node << '\n';
    return kOk;
  });
}

}  // namespace wick::cli
