#pragma once
// The `wick` command-line tool's subcommands (tools/src/commands.h), called in-process on one
// file as `wick info`, `verify`, `cat`, `diff` and `convert` would run them, their reports
// written to a stream that discards them: the code of the fuzz_cli target, in a header so that a
// test linking wick_cli_lib can replay inputs through it. Each command is one bounded decode
// (decode_bounds.h); on top of that:
//  - a command ends with its exit code or a cli::Failure; any other exception escapes, and exit
//    code 3 (unreadable: the input is a readable file) or 6 (internal error) is a finding;
//  - the commands agree: a file `wick verify` passes is shown by `info` and `cat`, equals
//    itself under `diff`, and converts; `diff` never calls a file different from itself;
//  - `wick convert` never writes a file that `wick verify` refuses.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "errors.h"
#include "fuzz_harness.h"

namespace wick::fuzz {

namespace cli_detail {

/// Accepts and drops everything, so the reports are formatted in full but cost no memory.
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

/// Entry paths `wick cat FILE PATH` is tried with; each loads one tensor by name.
inline constexpr std::size_t kCatPaths = 4;

/// Where `wick convert` writes, next to the scratch input; removed at exit.
inline const std::filesystem::path& converted_path() {
  static const std::filesystem::path path = [] {
    std::filesystem::path p = scratch_path();
    p += ".converted.wick";
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove(converted_path(), ec);
    });
    return p;
  }();
  return path;
}

/// Runs one command as a bounded decode; returns its exit code (a Failure's code when it throws
/// one). `allowed` lists the codes it may end with on arbitrary bytes.
template <class F>
int command(const std::string& what, uint64_t file_size, const bounds::DecodeBound& bound,
            std::initializer_list<int> allowed, F&& run) {
  int code = cli::kOther;
  try {
    code = bounded(what, file_size, bound, std::forward<F>(run));
  } catch (const cli::Failure& f) {
    code = f.code();
  }
  for (const int ok : allowed) {
    if (code == ok) return code;
  }
  finding("cli: " + what + " exited with code " + std::to_string(code));
}

}  // namespace cli_detail

/// Runs every command on the file at `path`; see the top of this file.
inline void run_commands(const std::filesystem::path& path) {
  using namespace cli_detail;
  const FileFacts f = file_facts(path);
  const bounds::DecodeBound& bound = *f.bound;
  const std::string file = path.string();
  NullBuffer null_buffer;
  std::ostream null(&null_buffer);
  using cli::kCorrupt;
  using cli::kDiffer;
  using cli::kNotWick;
  using cli::kOk;
  using cli::kUsage;

  const int verify = command("wick verify", f.size, bound, {kOk, kNotWick, kCorrupt}, [&] {
    return cli::run_verify({file}, false, cli::ProgressMode::kNever, null, null);
  });
  const int verify_json =
      command("wick verify --json", f.size, bound, {kOk, kNotWick, kCorrupt},
              [&] { return cli::run_verify({file}, true, cli::ProgressMode::kNever, null, null); });
  if (verify_json != verify) finding("cli: verify and verify --json disagree");
  const bool intact = verify == kOk;

  for (const bool json : {false, true}) {
    const std::string what = json ? "wick info --json" : "wick info";
    const int info = command(what, f.size, bound, {kOk, kNotWick, kCorrupt},
                             [&] { return cli::run_info(file, json, null); });
    if (intact && info != kOk) finding("cli: verify passes a file " + what + " cannot list");
  }

  const PrintOptions print = print_options();
  const int cat = command("wick cat", f.size, bound, {kOk, kNotWick, kCorrupt},
                          [&] { return cli::run_cat(file, std::nullopt, print, null); });
  if (intact && cat != kOk) finding("cli: cat fails on a file verify passes");
  // A few entries by name, when the index lists any (listing them is this harness's own work).
  std::vector<std::string> names;
  try {
    const io::Reader reader(path);
    for (const io::EntryInfo& e : reader.entries()) {
      if (names.size() == kCatPaths) break;
      names.push_back(e.path.str());
    }
  } catch (const FormatError&) {
  }
  for (const std::string& name : names) {
    const int one = command("wick cat FILE PATH", f.size, bound, {kOk, kCorrupt},
                            [&] { return cli::run_cat(file, name, print, null); });
    if (intact && one != kOk) finding("cli: cat of an entry fails on a file verify passes");
  }
  command("wick cat FILE (missing path)", f.size, bound, {kUsage, kNotWick, kCorrupt},
          [&] { return cli::run_cat(file, std::string("/no such/entry"), print, null); });

  // As users run it (text, the default limit), and listing every entry (--json, no limit).
  for (const bool json : {false, true}) {
    const std::string what = json ? "wick diff --json --limit 0 FILE FILE" : "wick diff FILE FILE";
    const std::size_t limit = json ? 0 : cli::kDefaultDiffLimit;
    // Both files are read: the bound is for their sum.
    const int diff = command(what, 2 * f.size, bound, {kOk, kDiffer, kNotWick, kCorrupt}, [&] {
      return cli::run_diff(file, file, std::nullopt, json, limit, null);
    });
    if (diff == kDiffer) finding("cli: " + what + " calls a file different from itself");
    if (intact && diff != kOk) finding("cli: " + what + " fails on a file verify passes");
  }

  // convert reads every format wick::load() does, so any input may convert.
  const std::string out = converted_path().string();
  const int converted =
      command("wick convert --to wick", f.size, bound, {kOk, kNotWick, kCorrupt}, [&] {
        return cli::run_convert(file, out, "wick", {}, cli::ProgressMode::kNever, null, null);
      });
  if (intact && converted != kOk) finding("cli: convert fails on a file verify passes");
  if (converted == kOk) {
    const int again = cli::run_verify({out}, false, cli::ProgressMode::kNever, null, null);
    if (again != kOk) finding("cli: convert wrote a file verify refuses");
  }
  std::error_code ec;
  std::filesystem::remove(out, ec);
}

}  // namespace wick::fuzz
