#include <filesystem>
#include <optional>
#include <ostream>
#include <vector>

#include "commands.h"
#include "errors.h"
#include "source.h"
#include "text.h"
#include "tree.h"
#include "wick/io/native/reader.h"
#include "wick/io/sharded/sharded_reader.h"

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

// Names the closest paths (typos, or the nodes on the way that exist).
Failure no_such_path(const std::string& file, const std::string& path, const Value& root) {
  std::string similar;
  for (const std::string& p : similar_paths(root, path))
    similar += (similar.empty() ? "; similar: '" : ", '") + shown(p) + "'";
  return {kUsage, "no entry '" + shown(path) + "' in " + file + similar};
}

Failure ambiguous(const std::string& file, const std::string& path,
                  const std::vector<Found>& found) {
  return {kUsage, "'" + shown(path) + "' names more than one entry in " + file + " ('" +
                      shown(found[0].pointer) + "', '" + shown(found[1].pointer) +
                      "'); name one by its JSON pointer"};
}

// The JSON pointer of the node `path` names, found in the tree built from the index alone
// (tensors are unverified views of a mapping that nothing here reads), and whether it is a
// tensor: a tensor then loads alone, verified, while other nodes need the whole tree.
Found resolve(const std::string& file, const std::string& path, bool& is_tensor) {
  LoadOptions options;
  options.mmap = true;
  options.verify = false;
  const Value skeleton = io::Reader(file, options).value();
  std::vector<Found> found = find_nodes(skeleton, path);
  if (found.empty()) throw no_such_path(file, path, skeleton);
  if (found.size() > 1) throw ambiguous(file, path, found);
  is_tensor = found[0].node->is_tensor();
  return Found{nullptr, std::move(found[0].pointer)};
}
// A file in a foreign format, loaded whole (it has no index to resolve a path from).
int cat_foreign(const std::string& file, const std::optional<std::string>& path,
                const PrintOptions& print, std::ostream& out) {
  const Value root = load_any(file).root;
  EscapingStream safe(out);
  if (!path) {
    safe << root << '\n';
    return kOk;
  }
  const std::vector<Found> found = find_nodes(root, *path);
  if (found.empty()) throw no_such_path(file, *path, root);
  if (found.size() > 1) throw ambiguous(file, *path, found);
  if (found[0].node->is_tensor()) {
    safe << to_string(found[0].node->tensor(), print) << '\n';
  } else {
    safe << *found[0].node << '\n';
  }
  return kOk;
}

/// A sharded checkpoint directory: a path is found in its tree from the index alone
/// (sharded_skeleton()); a tensor is then assembled from the pieces it needs, other nodes (and
/// the whole tree) load every tensor.
int cat_sharded(const std::string& dir, const std::optional<std::string>& path,
                const PrintOptions& print, std::ostream& out) {
  check_regular_file(std::filesystem::path(dir) / "index.wick");
  return on_sharded(dir, [&] {
    io::ShardedReader reader(dir);
    EscapingStream safe(out);
    if (!path) {
      safe << reader.value() << '\n';
      return kOk;
    }
    const Value skeleton = sharded_skeleton(reader);
    const std::vector<Found> found = find_nodes(skeleton, *path);
    if (found.empty()) throw no_such_path(dir, *path, skeleton);
    if (found.size() > 1) throw ambiguous(dir, *path, found);
    if (found[0].node->is_tensor()) {
      safe << to_string(reader.tensor(found[0].pointer), print) << '\n';
      return kOk;
    }
    const Value root = reader.value();
    safe << *find_nodes(root, found[0].pointer).at(0).node << '\n';
    return kOk;
  });
}
}  // namespace

int run_cat(const std::string& file, const std::optional<std::string>& path,
            const PrintOptions& print, std::ostream& out) {
  const ScopedPrintOptions scoped(print);
  if (io::is_sharded_checkpoint(file)) return cat_sharded(file, path, print, out);
  if (detect(file) != io::FileFormat::Wick) return cat_foreign(file, path, print, out);
  return on_file(file, [&] {
    LoadOptions options;
    options.mmap = true;
    EscapingStream safe(out);
    if (!path) {
      safe << io::Reader(file, options).value() << '\n';
      return kOk;
    }
    bool is_tensor = false;
    const std::string pointer = resolve(file, *path, is_tensor).pointer;
    io::Reader reader(file, options);
    if (is_tensor) {
      safe << to_string(reader.tensor(pointer), print) << '\n';
      return kOk;
    }
    const Value root = reader.value();
    safe << *find_nodes(root, pointer).at(0).node << '\n';
    return kOk;
  });
}

}  // namespace wick::cli
