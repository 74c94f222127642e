#include <ostream>

#include <filesystem>
#include <optional>

#include "commands.h"
#include "errors.h"
#include "page_release.h"
#include "progress.h"
#include "scratch_dir.h"
#include "source.h"
#include "text.h"
#include "tree.h"
#include "wick/io/formats.h"
#include "wick/io/interop/numpy.h"
#include "wick/io/native/reader.h"
#include "wick/io/native/writer.h"

namespace wick::cli {

namespace {
// The JSON pointer of the one node `path` names in `root`; Failure(kUsage) otherwise.
std::string pointer_of(const std::string& file, const Value& root, const std::string& path) {
  const std::vector<Found> found = find_nodes(root, path);
  if (found.size() == 1) return found[0].pointer;
  if (found.empty()) {
    std::string similar;
    for (const std::string& p : similar_paths(root, path))
      similar += (similar.empty() ? "; similar: '" : ", '") + shown(p) + "'";
    throw Failure(kUsage, "convert --only: no entry '" + shown(path) + "' in " + file + similar);
  }
  throw Failure(kUsage, "convert --only: '" + shown(path) + "' names more than one entry in " +
                            file + " ('" + shown(found[0].pointer) + "', '" +
                            shown(found[1].pointer) + "'); name one by its JSON pointer");
}

// `root` cut down to the subtrees `only` names (all of it when `only` is empty).
Value selected(const std::string& in, const Value& root, const std::vector<std::string>& only) {
  if (only.empty()) return root;
  std::vector<std::string> pointers;
  for (const std::string& p : only)
    pointers.push_back(pointer_of(in, root, p));
  return select_subtrees(root, pointers);
}

struct ConvertJob {
  std::string in;
  std::string out;
  io::FileFormat format;
  std::vector<std::string> only;
  ProgressMode progress;
};

// An .npz's arrays, one at a time, into a wick file at `to`: numpy.savez does not align its
// members, so few of them can be mapped, and savez_compressed's must be inflated. Memory holds
// one array; the copy is fast (unchecked, not synced) as it lives only as long as the convert.
// Errors reading IN name it (on_file); those writing the copy name the copy.
void unpack_npz(const std::string& in, const std::string& in_name, const std::filesystem::path& to,
                const ProgressFn& progress) {
  const auto copy_failure = [&](const IoError& e) {
    return Failure(kUnreadable,
                   "cannot unpack " + in_name + " to " + to.string() + ": " + without_file_name(e));
  };
  try {
    SaveOptions fast;
    fast.durable = false;
    io::Writer writer(to, fast);
    on_file(in, [&] {
      io::for_each_npz_array(
          in,
          [&](const std::string& key, const Tensor& t) {
            try {
              writer.add(key, t);
            } catch (const IoError& e) {
              throw copy_failure(e);
            }
          },
          progress);
    });
    writer.finish();
  } catch (const IoError& e) {
    throw copy_failure(e);
  }
}

// Streams tensor by tensor: the writer reads the tensors from a mapping of `source` (a wick file,
// or the stored members of the others, aligned as torch.save and wick write them) whose pages
// PageRelease hands back as it goes, so memory stays near one tensor however large the file. A
// wick input is first verified in one sequential pass (a copy must not launder a damaged tensor
// under fresh checksums); a mapped zip member's CRC-32 is checked when it is mapped. An .npz
// input is first unpacked into a scratch wick file (unpack_npz()); a PyTorch file's compressed
// or misaligned members (torch.save writes none) are read.
void convert_file(const ConvertJob& job, io::FileFormat from, std::ostream& err) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(job.in, ec);
  const bool bar = !ec && want_progress(job.progress, size);
  const std::string in_name = shown(job.in, kMaxShownBytes, Escape::kLine);
  std::optional<ScratchDir> scratch;
  std::string source = job.in;
  if (from == io::FileFormat::Npz) {
    scratch.emplace("npz", "unpack " + in_name);
    source = (scratch->path() / "arrays.wick").string();
    std::optional<ProgressBar> unpacking;
    unpack_npz(job.in, in_name, source,
               bar ? unpacking.emplace(err, "unpacking " + in_name).callback() : ProgressFn{});
  } else if (from == io::FileFormat::Wick) {
    on_file(job.in, [&] {
      std::optional<ProgressBar> verifying;  // outlives the reader that calls it
      LoadOptions check;
      if (bar) check.progress = verifying.emplace(err, "verifying " + in_name).callback();
      io::Reader(job.in, check).verify();
    });
  }
  // A wick input was just verified, and the unpacked copy was written from checked arrays.
  const Loaded l = load_any(source, /*verify=*/from != io::FileFormat::Wick && !scratch);
  const Value root = selected(job.in, l.root, job.only);
  std::optional<ProgressBar> writing;
  SaveOptions options;
  options.metadata = l.metadata;
  if (bar) options.progress = writing.emplace(err, "writing " + in_name).callback();
  const PageRelease release(root, source);
  try {
    io::save_as(root, job.out, job.format, options);
  } catch (const IoError& e) {
    // The input was read; what failed is the output (no space, no permission).
    throw Failure(kUnreadable, "cannot write " + job.out + ": " + e.what());
  } catch (const ArgumentError& e) {
    // OUT's format cannot hold what IN holds (scalars in safetensors, a dict in .npy, keys
    // wick cannot keep apart): a choice of the command line, so a usage error.
    throw Failure(kUsage, "cannot write " + job.out + " as " +
                              std::string(io::format_name(job.format)) + ": " + e.what());
  }
}
}  // namespace

int run_convert(const std::string& in, const std::string& out_path, const std::string& to,
                const std::vector<std::string>& only, ProgressMode progress, std::ostream& out,
                std::ostream& err) {
  std::optional<io::FileFormat> format;
  if (!to.empty()) {
    format = io::format_from_name(to);
    if (!format) throw Failure(kUsage, "convert: unknown format '" + shown(to) + "'");
  } else {
    format = io::format_from_extension(out_path);
    if (!format) {
      throw Failure(kUsage, "convert: " + shown(out_path, kMaxMessageBytes, Escape::kLine) +
                                " has no extension that names a format; use --to");
    }
  }
  // Errors reading IN name it; errors writing OUT are IoErrors that name OUT themselves.
  const io::FileFormat from = detect(in);
  const ConvertJob job{in, out_path, *format, only, progress};
  convert_file(job, from, err);
  out << "converted " << shown(in, kMaxMessageBytes, Escape::kLine) << " (" << format_label(from)
      << ") to " << shown(out_path, kMaxMessageBytes, Escape::kLine) << " ("
      << format_label(*format) << ")\n";
  return kOk;
}

}  // namespace wick::cli
