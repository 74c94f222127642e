#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "commands.h"
#include "errors.h"
#include "json_writer.h"
#include "source.h"
#include "table.h"
#include "text.h"
#include "tree.h"
#include "wick/io/native/reader.h"
#include "wick/io/sharded/sharded_reader.h"

namespace wick::cli {

namespace {
using EntryFn = std::function<void(const std::string& path, const io::EntryInfo& entry)>;
using LeafFn = std::function<void(const std::string& path, const Value& leaf)>;

// The cells of a leaf that is not a tensor (a scalar, a string, None, an empty container).
std::string value_text(const Value& v) {
  if (v.is_dict() || v.is_list() || v.is_tuple()) return "(empty)";
  return shown(repr(v), kMaxMessageBytes, Escape::kLine);
}

// A leaf info lists beside the tensors: anything but an empty root (a file of nothing).
bool listed_value(const std::string& path, const Value& v) {
  return !v.is_tensor() && !(path.empty() && (v.is_dict() || v.is_list() || v.is_tuple()));
}

// How many leaves of `root` are not tensors.
uint64_t count_values(const Value& root) {
  uint64_t n = 0;
  for_each_leaf(root, [&](const std::string& path, const Value& v) { n += listed_value(path, v); });
  return n;
}

// A leaf that is not a tensor, for --json.
void write_value_entry(JsonWriter& w, const std::string& path, const Value& v) {
  w.begin_object().field("path", path).field("kind", kind_name(v.kind())).field("value", v);
  w.end_object();
}

/// The metadata's lines under "metadata:", escaped.
void print_metadata(const Dict& metadata, std::ostream& out) {
  for (const auto& [key, value] : metadata)
    out << "  " << shown(key.str()) << ": " << shown(repr(value), kMaxMessageBytes, Escape::kLine)
        << '\n';
}

/// The "metadata" member of a --json report.
void write_metadata(JsonWriter& w, const Dict& metadata) {
  w.key("metadata").begin_object();
  for (const auto& [key, value] : metadata)
    w.field(key.str(), value);
  w.end_object();
}

// What info reports: the index's facts, and the tree built from the index alone (tensors are
// unverified views of a mapping that nothing here reads), whose walk spells the paths one at a
// time instead of every entry holding its own.
struct Indexed {
  const io::FileInfo& info;
  const Dict& metadata;
  std::vector<io::EntryInfo> entries;
  Value tree;
};

LoadOptions index_only() {
  LoadOptions options;
  options.mmap = true;
  options.verify = false;  // the header, trailer and index are verified all the same
  return options;
}

// Calls `fn` for every tensor reference in tree order: Reader::entries() lists them in the
// order a walk of the tree meets them.
// Leaves that are not tensors go to `other`, when given.
void for_each_entry(const Indexed& ix, const EntryFn& fn, const LeafFn& other = nullptr) {
  std::size_t k = 0;
  for_each_node(ix.tree, [&](const std::string& path, const Value& v) {
    if (!v.is_tensor()) {
      if (other && is_leaf(v) && listed_value(path, v)) other(path, v);
      return;
    }
    if (k == ix.entries.size() || ix.entries[k].shape != v.tensor().shape()) {
      throw std::logic_error("info: the tree and the index list different tensors");
    }
    fn(path, ix.entries[k++]);
  });
  if (k != ix.entries.size()) throw std::logic_error("info: the index lists more tensors");
}

void write_json(const std::string& file, const Indexed& ix, std::ostream& out) {
  JsonWriter w(out);
  w.begin_object()
      .field("file", file)
      .field("format", "wick")
      .field("format_version", std::to_string(ix.info.major) + "." + std::to_string(ix.info.minor))
      .field("producer", ix.info.producer)
      .field("file_size", ix.info.file_size);
  write_metadata(w, ix.metadata);
  // Paths are exact, so this part is as long as the paths together; it is written as it is made.
  w.key("entries").begin_array();
  for_each_entry(
      ix,
      [&](const std::string& path, const io::EntryInfo& e) {
        w.begin_object()
            .field("path", path)
            .field("tensor_id", e.id)
            .field("dtype", dtype_name(e.dtype))
            .field("shape", e.shape)
            .field("bytes", e.nbytes)
            .field("offset", e.offset)
            .field("checksum", hex64(e.checksum));
        if (e.view) {
          w.key("view")
              .begin_object()
              .field("id", e.view->id)
              .field("offset", e.view->offset)
              .field("strides", e.view->strides)
              .end_object();
        }
        w.end_object();
      },
      [&](const std::string& path, const Value& v) { write_value_entry(w, path, v); });
  w.end_array();
  w.key("totals")
      .begin_object()
      .field("entries", ix.entries.size())
      .field("values", count_values(ix.tree))
      .field("tensors", ix.info.tensor_count)
      .field("views", ix.info.view_count)
      .field("payload_bytes", ix.info.payload_bytes)
      .end_object();
  w.end_object().finish();
}

// A file holding a single tensor names it by the empty path.
std::string shown_path(const std::string& path) {
  return path.empty() ? "(root)" : shown(path);
}

void print_entries(const Indexed& ix, std::ostream& out) {
  // Tied weights: one tensor under several paths, stored once; later paths name the first.
  // Views (format 2.1) share their record's storage; they name the first path on that record.
  // Paths are kept only for tensors referenced twice and records with views.
  const uint64_t n_records = ix.info.tensor_count;
  const auto key = [&](const io::EntryInfo& e) {
    return e.view ? n_records + e.view->id : uint64_t{e.id};
  };
  std::vector<uint32_t> refs(n_records + ix.info.view_count, 0);
  std::vector<bool> viewed(n_records, false);
  for (const io::EntryInfo& e : ix.entries) {
    ++refs.at(key(e));
    if (e.view) viewed.at(e.id) = true;
  }
  std::vector<std::string> first_path(refs.size());
  std::vector<std::string> first_on_record(n_records);
  std::vector<bool> seen(refs.size(), false);
  print_table(out, {"path", "dtype", "shape", "bytes", "checksum", ""},
              {false, false, false, true, false, false}, "  ", [&](const RowSink& sink) {
                seen.assign(seen.size(), false);
                for (std::string& p : first_on_record)
                  p.clear();
                for_each_entry(
                    ix,
                    [&](const std::string& path, const io::EntryInfo& e) {
                      const uint64_t k = key(e);
                      std::string note;
                      if (seen[k]) {
                        note = "same tensor as " + first_path[k];
                      } else {
                        if (refs[k] > 1) first_path[k] = shown_path(path);
                        if (!first_on_record[e.id].empty()) {
                          note = "shares storage with " + first_on_record[e.id];
                        } else if (viewed[e.id]) {
                          first_on_record[e.id] = shown_path(path);
                        }
                      }
                      seen[k] = true;
                      sink({shown_path(path), std::string(dtype_name(e.dtype)), shape_str(e.shape),
                            std::to_string(e.nbytes), hex64(e.checksum), note});
                    },
                    [&](const std::string& path, const Value& v) {
                      sink({shown_path(path), std::string(kind_name(v.kind())), "-", "-", "-",
                            value_text(v)});
                    });
              });
}

void print_text(const std::string& file, const Indexed& ix, std::ostream& out) {
  const io::FileInfo& fi = ix.info;
  out << "file:      " << shown(file, kMaxMessageBytes, Escape::kLine) << '\n'
      << "format:    wick " << fi.major << '.' << fi.minor << '\n'
      << "producer:  " << shown(fi.producer, kMaxMessageBytes, Escape::kLine) << '\n'
      << "size:      " << fi.file_size << " bytes (" << human_bytes(fi.file_size) << ")\n"
      << "metadata:" << (ix.metadata.empty() ? "  (none)" : "") << '\n';
  print_metadata(ix.metadata, out);
  const uint64_t values = count_values(ix.tree);
  out << "entries:" << (ix.entries.empty() && values == 0 ? "   (none)" : "") << '\n';
  if (!ix.entries.empty() || values > 0) print_entries(ix, out);
  out << "total:     " << ix.entries.size() << (ix.entries.size() == 1 ? " entry, " : " entries, ")
      << fi.tensor_count << (fi.tensor_count == 1 ? " tensor, " : " tensors, ");
  if (values > 0) out << values << (values == 1 ? " other value, " : " other values, ");
  if (fi.view_count > 0) out << fi.view_count << (fi.view_count == 1 ? " view, " : " views, ");
  out << fi.payload_bytes << " payload bytes (" << human_bytes(fi.payload_bytes) << ")\n";
}
// ---- foreign formats: the whole file is loaded (they have no index to read alone) ----

struct Totals {
  uint64_t tensors = 0;
  uint64_t values = 0;
  uint64_t bytes = 0;
};

Totals totals_of(const Value& root) {
  Totals t;
  for_each_leaf(root, [&](const std::string& path, const Value& v) {
    if (!v.is_tensor()) {
      t.values += listed_value(path, v);
      return;
    }
    ++t.tensors;
    t.bytes += v.tensor().nbytes();
  });
  return t;
}

void write_foreign_json(const std::string& file, const Loaded& l, uint64_t size,
                        std::ostream& out) {
  JsonWriter w(out);
  w.begin_object()
      .field("file", file)
      .field("format", io::format_name(l.format))
      .field("format_description", format_label(l.format))
      .field("file_size", size);
  write_metadata(w, l.metadata);
  w.key("entries").begin_array();
  for_each_leaf(l.root, [&](const std::string& path, const Value& v) {
    if (!v.is_tensor()) {
      if (listed_value(path, v)) write_value_entry(w, path, v);
      return;
    }
    const Tensor& t = v.tensor();
    w.begin_object()
        .field("path", path)
        .field("kind", "tensor")
        .field("dtype", dtype_name(t.dtype()))
        .field("shape", t.shape())
        .field("bytes", t.nbytes())
        .end_object();
  });
  w.end_array();
  const Totals t = totals_of(l.root);
  w.key("totals")
      .begin_object()
      .field("entries", t.tensors)
      .field("values", t.values)
      .field("tensors", t.tensors)
      .field("payload_bytes", t.bytes)
      .end_object();
  w.end_object().finish();
}

void print_foreign(const std::string& file, const Loaded& l, uint64_t size, std::ostream& out) {
  out << "file:      " << shown(file, kMaxMessageBytes, Escape::kLine) << '\n'
      << "format:    " << format_label(l.format) << '\n'
      << "size:      " << size << " bytes (" << human_bytes(size) << ")\n"
      << "metadata:" << (l.metadata.empty() ? "  (none)" : "") << '\n';
  print_metadata(l.metadata, out);
  const Totals t = totals_of(l.root);
  out << "entries:" << (t.tensors + t.values == 0 ? "   (none)" : "") << '\n';
  if (t.tensors + t.values > 0) {
    print_table(
        out, {"path", "dtype", "shape", "bytes", ""}, {false, false, false, true, false}, "  ",
        [&](const RowSink& sink) {
          for_each_leaf(l.root, [&](const std::string& path, const Value& v) {
            if (!v.is_tensor()) {
              if (!listed_value(path, v)) return;
              sink({shown_path(path), std::string(kind_name(v.kind())), "-", "-", value_text(v)});
              return;
            }
            const Tensor& x = v.tensor();
            sink({shown_path(path), std::string(dtype_name(x.dtype())), shape_str(x.shape()),
                  std::to_string(x.nbytes()), ""});
          });
        });
  }
  out << "total:     " << t.tensors << (t.tensors == 1 ? " entry, " : " entries, ") << t.tensors
      << (t.tensors == 1 ? " tensor, " : " tensors, ");
  if (t.values > 0) out << t.values << (t.values == 1 ? " other value, " : " other values, ");
  out << t.bytes << " payload bytes (" << human_bytes(t.bytes) << ")\n";
}

int run_foreign_info(const std::string& file, bool json, std::ostream& out) {
  const Loaded l = load_any(file);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(file, ec);
  if (json) {
    write_foreign_json(file, l, ec ? 0 : size, out);
  } else {
    print_foreign(file, l, ec ? 0 : size, out);
  }
  return kOk;
}

// ---- sharded checkpoints: a directory of shards and an index, read from the index alone ----

using ShardedEntryFn = std::function<void(const std::string& path, const io::ShardedEntry& entry)>;

/// What info reports on a sharded checkpoint: the index's facts, and its tree with every tensor
/// empty (sharded_skeleton()), whose walk gives the paths and the values beside the tensors.
struct ShardedIndexed {
  const io::ShardedInfo& info;
  const Dict& metadata;
  int64_t layout;  // the index's sharded layout version
  std::vector<io::ShardedEntry> entries;
  Value tree;
  std::unordered_map<std::string, std::size_t> by_path;  // entries' positions

  explicit ShardedIndexed(io::ShardedReader& reader)
      : info(reader.info()),
        metadata(reader.metadata()),
        layout(reader.info().layout_version),
        entries(reader.entries()),
        tree(sharded_skeleton(reader)) {
    for (std::size_t i = 0; i < entries.size(); ++i)
      by_path.emplace(entries[i].path, i);
  }
};

/// Calls `fn` for every tensor and `other` for every other listed leaf, in tree order.
void for_each_sharded(const ShardedIndexed& ix, const ShardedEntryFn& fn, const LeafFn& other) {
  std::size_t seen = 0;
  for_each_node(ix.tree, [&](const std::string& path, const Value& v) {
    if (!v.is_tensor()) {
      if (is_leaf(v) && listed_value(path, v)) other(path, v);
      return;
    }
    const auto it = ix.by_path.find(path);
    if (it == ix.by_path.end()) throw std::logic_error("info: a tensor the index does not list");
    fn(path, ix.entries[it->second]);
    ++seen;
  });
  if (seen != ix.entries.size()) throw std::logic_error("info: the index lists more tensors");
}

/// `wick info --json DIR`: the index's facts, metadata, every leaf and the totals.
void write_sharded_json(const std::string& dir, const ShardedIndexed& ix, std::ostream& out) {
  JsonWriter w(out);
  w.begin_object()
      .field("file", dir)
      .field("format", kShardedFormatName)
      .field("format_description", sharded_label(ix.info.world_size))
      .field("layout_version", ix.layout)
      .field("world_size", ix.info.world_size)
      .field("index_size", ix.info.index_size)
      .field("total_size", ix.info.total_size);
  write_metadata(w, ix.metadata);
  w.key("entries").begin_array();
  for_each_sharded(
      ix,
      [&](const std::string& path, const io::ShardedEntry& e) {
        w.begin_object()
            .field("path", path)
            .field("kind", "tensor")
            .field("dtype", dtype_name(e.dtype))
            .field("shape", e.shape)
            .field("bytes", e.nbytes)
            .field("pieces", e.pieces)
            .field("first_shard", e.first_shard)
            .end_object();
      },
      [&](const std::string& path, const Value& v) { write_value_entry(w, path, v); });
  w.end_array();
  w.key("totals")
      .begin_object()
      .field("entries", ix.info.tensor_count)
      .field("values", count_values(ix.tree))
      .field("tensors", ix.info.tensor_count)
      .field("pieces", ix.info.piece_count)
      .field("payload_bytes", ix.info.payload_bytes)
      .end_object();
  w.end_object().finish();
}

/// One line of the sharded report: "name:", then `value` lined up with the others' values.
void line(std::ostream& out, std::string_view name, const std::string& value) {
  static constexpr std::size_t kWidth = 13;  // "index size:  "
  out << name << ':';
  if (!value.empty()) out << std::string(kWidth - std::min(kWidth, name.size() + 1), ' ') << value;
  out << '\n';
}

/// "1234 bytes (1.2 KiB)".
std::string bytes_text(uint64_t n) {
  return std::to_string(n) + " bytes (" + human_bytes(n) + ")";
}

/// The table of every leaf: tensors with their piece counts, then values as for files.
void print_sharded_entries(const ShardedIndexed& ix, std::ostream& out) {
  print_table(out, {"path", "dtype", "shape", "bytes", "pieces", ""},
              {false, false, false, true, true, false}, "  ", [&](const RowSink& sink) {
                for_each_sharded(
                    ix,
                    [&](const std::string& path, const io::ShardedEntry& e) {
                      sink({shown_path(path), std::string(dtype_name(e.dtype)), shape_str(e.shape),
                            std::to_string(e.nbytes), std::to_string(e.pieces), ""});
                    },
                    [&](const std::string& path, const Value& v) {
                      sink({shown_path(path), std::string(kind_name(v.kind())), "-", "-", "-",
                            value_text(v)});
                    });
              });
}

/// `wick info DIR`: the index's facts, one per line, the metadata and the table.
void print_sharded_text(const std::string& dir, const ShardedIndexed& ix, std::ostream& out) {
  const io::ShardedInfo& si = ix.info;
  line(out, "file", shown(dir, kMaxMessageBytes, Escape::kLine));
  line(out, "format", sharded_label(si.world_size));
  line(out, "layout", std::to_string(ix.layout));
  line(out, "world size", std::to_string(si.world_size));
  line(out, "tensors", std::to_string(si.tensor_count));
  line(out, "pieces", std::to_string(si.piece_count));
  line(out, "payload", bytes_text(si.payload_bytes));
  line(out, "index size", bytes_text(si.index_size));
  line(out, "total size", bytes_text(si.total_size));
  line(out, "metadata", ix.metadata.empty() ? "(none)" : "");
  print_metadata(ix.metadata, out);
  const bool listed = !ix.entries.empty() || count_values(ix.tree) > 0;
  line(out, "entries", listed ? "" : "(none)");
  if (listed) print_sharded_entries(ix, out);
}

/// `wick info [--json] DIR` for a sharded checkpoint: from index.wick alone.
int run_sharded_info(const std::string& dir, bool json, std::ostream& out) {
  check_regular_file(std::filesystem::path(dir) / "index.wick");
  return on_sharded(dir, [&] {
    io::ShardedReader reader(dir);
    const ShardedIndexed ix(reader);
    if (json) {
      write_sharded_json(dir, ix, out);
    } else {
      print_sharded_text(dir, ix, out);
    }
    return kOk;
  });
}
}  // namespace

int run_info(const std::string& file, bool json, std::ostream& out) {
  if (io::is_sharded_checkpoint(file)) return run_sharded_info(file, json, out);
  if (detect(file) != io::FileFormat::Wick) return run_foreign_info(file, json, out);
  return on_file(file, [&] {
    io::Reader reader(file, index_only());
    const Indexed ix{reader.info(), reader.metadata(), reader.entries(), reader.value()};
    if (json) {
      write_json(file, ix, out);
    } else {
      print_text(file, ix, out);
    }
    return kOk;
  });
}

}  // namespace wick::cli
