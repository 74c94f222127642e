#include "source.h"

#include <map>
#include <system_error>

#include "errors.h"
#include "wick/io/interop/safetensors.h"
#include "wick/io/native/reader.h"
#include "wick/io/serialize.h"

namespace wick::cli {

// Both texts come from the library's format table, so a new format brings its own.
std::string_view format_label(io::FileFormat format) {
  return io::formats()[static_cast<std::size_t>(format)].description;
}

std::string_view foreign_checks(io::FileFormat format) {
  return io::formats()[static_cast<std::size_t>(format)].checks;
}

void check_not_empty(const std::string& file) {
  std::error_code ec;
  const bool empty = std::filesystem::is_regular_file(file, ec) &&
                     std::filesystem::file_size(file, ec) == 0 && !ec;
  if (empty) throw Failure(kNotWick, file + " is empty (0 bytes): there is nothing to read");
}

io::FileFormat detect(const std::string& file) {
  check_regular_file(file);
  check_not_empty(file);
  return on_file(file, [&] { return io::detect_format(file); });
}

std::string sharded_label(uint64_t shards) {
  return "wick sharded checkpoint (" + std::to_string(shards) +
         (shards == 1 ? " shard)" : " shards)");
}

Value sharded_skeleton(io::ShardedReader& reader) {
  std::map<std::string, io::ElementRange> nothing;
  for (const io::ShardedEntry& e : reader.entries())
    nothing.emplace_hint(nothing.end(), e.path, io::ElementRange{});
  return reader.value(nothing);
}

Loaded load_any(const std::string& file, bool verify) {
  const io::FileFormat format = detect(file);
  return on_file(file, [&] {
    Loaded l;
    l.format = format;
    if (format == io::FileFormat::Wick) {
      LoadOptions options;
      options.mmap = true;
      options.verify = verify;
      io::Reader reader(file, options);
      l.root = reader.value();
      l.metadata = reader.metadata();
    } else if (format == io::FileFormat::Safetensors) {
      l.root = io::load_safetensors(file, &l.metadata, /*mmap=*/true);
    } else {
      // Safetensors was handled above for its metadata; the others keep none.
      LoadOptions options;
      options.mmap = true;
      l.root = load(file, options);
    }
    return l;
  });
}

}  // namespace wick::cli
