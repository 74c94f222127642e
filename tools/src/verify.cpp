#include <charconv>
#include <optional>
#include <ostream>
#include <set>
#include <string_view>

#include "commands.h"
#include "errors.h"
#include "table.h"
#include "tree.h"
#include "wick/io/reader.h"

namespace wick::cli {

namespace {
struct Problem {
  std::optional<std::string> entry;  // tree path of the bad tensor, when one is to blame
  std::optional<uint64_t> offset;
  std::string message;
};

struct Report {
  std::string file;
  int code = kOk;
  std::vector<Problem> problems;
  uint64_t tensors = 0;
  uint64_t bytes = 0;
};

// wick's FormatError messages say "... at offset N: ..."; keep N for the JSON report.
std::optional<uint64_t> offset_in(const std::string& message) {
  static constexpr std::string_view kAt = "at offset ";
  const std::size_t at = message.find(kAt);
  if (at == std::string::npos) return std::nullopt;
  uint64_t offset = 0;
  const char* first = message.data() + at + kAt.size();
  const auto [end, ec] = std::from_chars(first, message.data() + message.size(), offset);
  if (ec != std::errc() || end == first) return std::nullopt;
  return offset;
}

// The sequential pass stops at the first problem; load every tensor on its own to name each
// bad one (only for files already known to be corrupt, so intact files are read once).
std::vector<Problem> bad_tensors(io::Reader& reader) {
  std::vector<Problem> out;
  std::set<uint32_t> seen;
  for (const io::EntryInfo& e : reader.entries()) {
    if (!seen.insert(e.id).second) continue;
    try {
      reader.tensor(e.path);
    } catch (const FormatError& err) {
      out.push_back({e.path, e.offset, err.what()});
    }
  }
  return out;
}

Report verify_file(const std::string& file, ProgressMode mode, std::ostream& err) {
  Report r;
  r.file = file;
  try {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file, ec);
    std::optional<ProgressBar> bar;  // outlives the reader that calls it
    LoadOptions options;
    if (!ec && want_progress(mode, size)) options.progress = bar.emplace(err, file).callback();
    io::Reader reader(file, options);
    r.tensors = reader.info().tensor_count;
    r.bytes = reader.info().file_size;
    try {
      reader.verify();
      if (bar) bar->update(r.bytes, r.bytes);  // the last report comes before the trailer
      return r;
    } catch (const FormatError& e) {
      r.code = kCorrupt;
      r.problems = bad_tensors(reader);
      const std::string first = e.what();
      for (const Problem& p : r.problems) {
        if (p.message == first) return r;
      }
      r.problems.insert(r.problems.begin(), Problem{std::nullopt, offset_in(first), first});
    }
  } catch (const IoError& e) {
    r.code = kUnreadable;
    r.problems = {Problem{std::nullopt, std::nullopt, e.what()}};
  } catch (const FormatError& e) {
    r.code = has_wick_magic(file) ? kCorrupt : kNotWick;
    r.problems = {Problem{std::nullopt, offset_in(e.what()), e.what()}};
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
      return "not a wick file";
    default:
      return "corrupt";
  }
}

Json report_json(const std::vector<Report>& reports, int code) {
  Json files = Json::array();
  for (const Report& r : reports) {
    Json problems = Json::array();
    for (const Problem& p : r.problems) {
      problems.push_back({{"entry", p.entry ? Json(*p.entry) : nullptr},
                          {"offset", p.offset ? Json(*p.offset) : nullptr},
                          {"message", p.message}});
    }
    files.push_back({{"file", r.file},
                     {"ok", r.code == kOk},
                     {"status", status_name(r.code)},
                     {"exit_code", r.code},
                     {"problems", problems}});
  }
  return {{"ok", code == kOk}, {"exit_code", code}, {"files", files}};
}
}  // namespace

int run_verify(const std::vector<std::string>& files, bool json, ProgressMode progress,
               std::ostream& out, std::ostream& err) {
  std::vector<Report> reports;
  int code = kOk;
  for (const std::string& file : files) {
    reports.push_back(verify_file(file, progress, err));
    const Report& r = reports.back();
    if (code == kOk) code = r.code;
    if (json) continue;
    if (r.code == kOk) {
      out << file << ": OK (" << r.tensors << (r.tensors == 1 ? " tensor, " : " tensors, ")
          << human_bytes(r.bytes) << ", every checksum matches)\n";
      continue;
    }
    out << file << ": " << status_name(r.code);
    if (r.code == kCorrupt) {
      out << " (" << r.problems.size() << (r.problems.size() == 1 ? " problem)" : " problems)");
    }
    out << '\n';
    // wick's messages already name the entry and its offset; the line above names the file.
    for (const Problem& p : r.problems)
      out << "  " << without_file_name(p.message, file) << '\n';
  }
  if (json) out << dump(report_json(reports, code)) << '\n';
  return code;
}

}  // namespace wick::cli
