#include <charconv>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string_view>

#include "commands.h"
#include "errors.h"
#include "json_writer.h"
#include "source.h"
#include "table.h"
#include "text.h"
#include "tree.h"
#include "wick/io/native/reader.h"
#include "wick/io/serialize.h"
#include "wick/io/sharded/sharded_reader.h"

namespace wick::cli {

namespace {
/// Problems listed per file; the rest are counted. A corrupt file can have one per tensor, and
/// each message names its tensor, so the listing is capped to keep the report (held until
/// every file is checked) bounded.
constexpr std::size_t kMaxProblems = 1000;

struct Problem {
  std::optional<io::TreePath> entry;  // the bad tensor's (first) path, when one is to blame
  std::optional<uint64_t> offset;
  std::string message;  // exact for --json; without the file name, escaped and cut otherwise
  std::optional<std::string> part{};  // a sharded checkpoint's file at fault (index.wick, a shard)
};

struct Report {
  std::string file;
  int code = kOk;
  std::vector<Problem> problems;
  uint64_t not_listed = 0;  // problems beyond kMaxProblems
  uint64_t tensors = 0;
  uint64_t bytes = 0;
  io::FileFormat format = io::FileFormat::Wick;
  std::optional<uint64_t> shards;  // a sharded checkpoint directory of this many shards
  bool exact = false;              // messages kept whole for --json

  // A problem from wick's error `e`; its offset comes from the error's fields.
  void add(const Error& e, std::optional<io::TreePath> entry = std::nullopt, bool front = false) {
    add({std::move(entry), e.info().offset,
         exact ? std::string(e.what())
               : shown(without_file_name(e), kMaxMessageBytes, Escape::kLine)},
        front);
  }
  /// A problem from wick's error `e` in the sharded checkpoint `file`: the file at fault is named
  /// relative to it (sharded_message()), its offsets are in that file.
  void add_sharded(const Error& e) {
    Problem p{std::nullopt, e.info().offset,
              exact ? std::string(e.what())
                    : shown(sharded_message(file, e), kMaxMessageBytes, Escape::kLine)};
    if (!e.info().file.empty()) p.part = sharded_file(file, e);
    add(std::move(p));
  }
  // A problem the CLI found itself (the file is not a regular file, ...).
  void add(const Failure& f) {
    add({std::nullopt, std::nullopt,
         exact ? std::string(f.what()) : shown(f.what(), kMaxMessageBytes, Escape::kLine)});
  }
  void add(Problem p, bool front = false) {
    if (front) {
      problems.insert(problems.begin(), std::move(p));
    } else {
      problems.push_back(std::move(p));
    }
    if (problems.size() > kMaxProblems) {
      problems.pop_back();
      ++not_listed;
    }
  }
  uint64_t count() const { return problems.size() + not_listed; }
};

// The sequential pass stops at the first problem (`first`); load every tensor on its own, by id
// (no path is looked up or spelled out), to name each bad one. Only for files already known to
// be corrupt, so intact files are read once. Returns whether one of them is `first`.
bool add_bad_tensors(io::Reader& reader, const std::string& first, Report& r) {
  static constexpr uint32_t kNone = UINT32_MAX;
  const std::vector<io::EntryInfo> entries = reader.entries();
  std::vector<uint32_t> first_ref(reader.info().tensor_count, kNone);
  for (uint32_t k = 0; k < entries.size(); ++k) {
    if (first_ref.at(entries[k].id) == kNone) first_ref[entries[k].id] = k;
  }
  bool first_seen = false;
  for (uint32_t id = 0; id < first_ref.size(); ++id) {
    try {
      reader.tensor_by_id(id);
    } catch (const FormatError& err) {
      first_seen = first_seen || err.what() == first;
      if (first_ref[id] == kNone) {
        r.add(err);
      } else {
        const io::EntryInfo& e = entries[first_ref[id]];
        r.add({e.path, e.offset,
               r.exact ? std::string(err.what())
                       : shown(without_file_name(err), kMaxMessageBytes, Escape::kLine)});
      }
    }
  }
  return first_seen;
}

// A foreign file: a load checks what it reads, and io::verify_archive the members of a zip
// archive that no tensor comes from (foreign_checks says what the format allows). safetensors
// and .npy files are mapped: they have no checksums, so their tensor pages are never read.
void verify_foreign(const std::string& file, Report& r) {
  LoadOptions mapped;
  mapped.mmap = true;
  const Value root = load(file, mapped);
  io::verify_archive(file);
  for_each_leaf(root, [&](const std::string&, const Value& v) { r.tensors += v.is_tensor(); });
  std::error_code ec;
  r.bytes = std::filesystem::file_size(file, ec);
}

/// A sharded checkpoint directory: its index, then every shard as a wick file and every piece
/// against the index (ShardedReader::verify(), which stops at the first problem).
void verify_sharded(Report& r) {
  r.shards = 0;
  try {
    check_regular_file(std::filesystem::path(r.file) / "index.wick");
    io::ShardedReader reader(r.file);
    r.shards = reader.info().world_size;
    r.tensors = reader.info().tensor_count;
    r.bytes = reader.info().total_size;
    reader.verify();
  } catch (const Failure& f) {
    r.code = f.code();
    r.add(f);
  } catch (const IoError& e) {
    r.code = kUnreadable;
    r.add_sharded(e);
  } catch (const FormatError& e) {
    r.code = kCorrupt;
    r.add_sharded(e);
  }
}

Report verify_file(const std::string& file, bool json, ProgressMode mode, std::ostream& err) {
  Report r;
  r.file = file;
  r.exact = json;
  if (io::is_sharded_checkpoint(file)) {
    verify_sharded(r);
    return r;
  }
  try {
    check_regular_file(file);
    check_not_empty(file);
    r.format = io::detect_format(file);
    if (r.format != io::FileFormat::Wick) {
      verify_foreign(file, r);
      return r;
    }
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file, ec);
    std::optional<ProgressBar> bar;  // outlives the reader that calls it
    LoadOptions options;
    if (!ec && want_progress(mode, size)) {
      options.progress = bar.emplace(err, shown(file, kMaxShownBytes, Escape::kLine)).callback();
    }
    io::Reader reader(file, options);
    r.tensors = reader.info().tensor_count;
    r.bytes = reader.info().file_size;
    try {
      reader.verify();
      if (bar) bar->update(r.bytes, r.bytes);  // the last report comes before the trailer
      return r;
    } catch (const FormatError& e) {
      r.code = kCorrupt;
      if (!add_bad_tensors(reader, e.what(), r)) r.add(e, std::nullopt, true);
    }
  } catch (const Failure& f) {
    r.code = f.code();
    r.add(f);
  } catch (const IoError& e) {
    r.code = kUnreadable;
    r.add(e);
  } catch (const FormatError& e) {
    r.code = file_failure(file, e).code();
    r.add(e);
  }
  return r;
}

const char* status_name(int code) {
  switch (code) {
    case kOk:
      return "ok";
    case kUnreadable:
      return "unreadable";
    case kNotWick:
      return "not a file wick reads";
    default:
      return "corrupt";
  }
}

void write_json(const std::vector<Report>& reports, int code, std::ostream& out) {
  JsonWriter w(out);
  w.begin_object().field("ok", code == kOk).field("exit_code", code);
  w.key("files").begin_array();
  for (const Report& r : reports) {
    w.begin_object()
        .field("file", r.file)
        .field("ok", r.code == kOk)
        .field("status", status_name(r.code))
        .field("format", r.shards ? kShardedFormatName : io::format_name(r.format))
        .field("exit_code", r.code);
    if (r.shards) w.field("shards", *r.shards);
    w.key("problems").begin_array();
    for (const Problem& p : r.problems) {
      w.begin_object().key("entry");
      p.entry ? w.value(p.entry->str()) : w.null();
      if (r.shards) {
        w.key("file");  // the file of the checkpoint the offset is in
        p.part ? w.value(*p.part) : w.null();
      }
      w.key("offset");
      p.offset ? w.value(*p.offset) : w.null();
      w.field("message", p.message).end_object();
    }
    w.end_array().field("problems_not_listed", r.not_listed).end_object();
  }
  w.end_array().end_object().finish();
}

void print(const Report& r, std::ostream& out) {
  const std::string file = shown(r.file, kMaxMessageBytes, Escape::kLine);
  if (r.code == kOk) {
    out << file << ": OK (" << r.tensors << (r.tensors == 1 ? " tensor, " : " tensors, ")
        << human_bytes(r.bytes);
    if (r.shards) out << ", " << sharded_label(*r.shards);
    if (r.format != io::FileFormat::Wick) out << ", " << format_label(r.format);
    out << ", " << foreign_checks(r.format) << ")\n";
    return;
  }
  out << file << ": " << status_name(r.code);
  if (r.shards)
    out << " (" << (*r.shards > 0 ? sharded_label(*r.shards) : "wick sharded checkpoint") << ")";
  if (r.format != io::FileFormat::Wick) out << " (" << format_label(r.format) << ")";
  if (r.code == kCorrupt) out << " (" << r.count() << (r.count() == 1 ? " problem)" : " problems)");
  out << '\n';
  // wick's messages already name the entry and its offset; the line above names the file.
  for (const Problem& p : r.problems)
    out << "  " << p.message << '\n';
  if (r.not_listed > 0) out << "  ... and " << r.not_listed << " more not listed\n";
}
}  // namespace

int run_verify(const std::vector<std::string>& files, bool json, ProgressMode progress,
               std::ostream& out, std::ostream& err) {
  std::vector<Report> reports;
  int code = kOk;
  for (const std::string& file : files) {
    Report r = verify_file(file, json, progress, err);
    if (code == kOk) code = r.code;
    if (json) {
      reports.push_back(std::move(r));
    } else {
      print(r, out);  // as each file is done: nothing of it is kept
    }
  }
  if (json) write_json(reports, code, out);
  return code;
}

}  // namespace wick::cli
