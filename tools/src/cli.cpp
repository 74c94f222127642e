#include <CLI/CLI.hpp>

#include <iterator>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "errors.h"
#include "text.h"
#include "wick/core/version.h"
#include "wick/io/formats.h"

namespace wick::cli {

namespace {
struct Args {
  std::string file;                // info, cat, diff's first file
  std::vector<std::string> files;  // verify
  std::optional<std::string> path;
  std::string b;   // diff's second file, convert's output
  std::string to;  // convert's --to
  bool json = false;
  std::string progress = "auto";
  std::size_t limit = kDefaultDiffLimit;
  int precision = 4;
  bool full = false;
};

// How every command names a node of a file's tree, and how it shows what a file says.
const char* const kPathHelp =
    "Paths are JSON pointers (RFC 6901): \"\" is the root, each step is \"/\" and a dict key\n"
    "or a list index, with '~' in keys written ~0 and '/' written ~1:\n"
    "  {\"model\": {\"hidden.weight\": t}} names t /model/hidden.weight; [t, u] names u /1;\n"
    "  {\"a/b\": t} names t /a~1b.\n"
    "Text from a file (keys, strings, names) is escaped before it is printed: control\n"
    "characters and bytes that are not UTF-8 as \\xNN (\\n, \\t, \\r), '\\' as \\\\ in\n"
    "paths, C1 controls and bidirectional or invisible format characters as \\uNNNN. Paths\n"
    "longer than 1024 bytes print as their first and last 480 bytes around \"...[N bytes]...\".\n"
    "--json output is exact: JSON's own escapes, bytes that are not UTF-8 as U+FFFD.\n";

// "a, b and c": the strings of `items` separated by `sep`, the last two by `last`.
template <typename Range>
std::string join(const Range& items, std::string_view sep, std::string_view last) {
  std::string out;
  std::size_t i = 0;
  for (const auto& item : items) {
    if (i > 0) out += i + 1 == std::size(items) ? last : sep;
    out += item;
    ++i;
  }
  return out;
}

void add_json(CLI::App* cmd, Args& args) {
  cmd->add_flag("--json", args.json, "Print the report as JSON on stdout");
}

void add_commands(CLI::App& app, Args& args) {
  CLI::App* info = app.add_subcommand(
      "info", "Show the format version, producer, metadata and a table of the entries");
  info->add_option("FILE", args.file, "A wick file")->required();
  add_json(info, args);

  CLI::App* verify = app.add_subcommand(
      "verify", "Check every checksum and structural rule, naming each bad entry");
  verify->add_option("FILE", args.files, "One or more wick files")->required();
  add_json(verify, args);
  verify
      ->add_option("--progress", args.progress,
                   "Progress bar on stderr: auto draws it for files of 64 MiB or more when "
                   "stderr is a terminal")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");

  CLI::App* cat = app.add_subcommand(
      "cat", "Print the whole tree, or the entry at PATH (tensors as PyTorch prints them)");
  cat->add_option("FILE", args.file, "A wick file")->required();
  cat->add_option("PATH", args.path,
                  "Tree path: a JSON pointer (/model/hidden.weight, /layers/0, \"\" for the "
                  "root), or the dotted spelling model.hidden.weight when it names one node only");
  cat->add_option("--precision", args.precision, "Digits after the decimal point")
      ->check(CLI::Range(0, 30))
      ->default_str("4");
  cat->add_flag("--full", args.full, "Print every element instead of summarising with ...");

  CLI::App* diff = app.add_subcommand(
      "diff",
      "Compare two files: entries, dtypes, shapes, max abs difference per tensor, matched by "
      "the trees' structure (dict keys, list indices); lists the first " +
          std::to_string(kDefaultDiffLimit) +
          " entries, differences first, and counts the rest (see --limit)");
  diff->add_option("A", args.file, "First wick file")->required();
  diff->add_option("B", args.b, "Second wick file")->required();
  add_json(diff, args);
  diff->add_option("--limit", args.limit,
                   "List at most this many entries, differences first (the summary counts all; "
                   "0 lists every entry); also caps the metadata keys listed")
      ->check(CLI::NonNegativeNumber)
      ->default_str(std::to_string(kDefaultDiffLimit));

  // The formats are listed from the library's table, so a new format shows up here by itself.
  std::vector<std::string_view> descriptions;
  std::vector<std::string_view> names;
  std::vector<std::string> extensions;  // ".pt/.pth": one item per format
  for (const io::FormatInfo& f : io::formats()) {
    descriptions.push_back(f.description);
    names.push_back(f.name);
    extensions.push_back(join(f.extensions, "/", "/"));
  }
  CLI::App* convert =
      app.add_subcommand("convert", "Convert between " + join(descriptions, ", ", " and ") +
                                        " (input format detected by content)");
  convert->add_option("IN", args.file, "Input file (any supported format)")->required();
  convert->add_option("OUT", args.b, "Output file")->required();
  convert->add_option("--to", args.to,
                      "Output format: " + join(names, ", ", " or ") +
                          " (default: from OUT's extension: " + join(extensions, ", ", ", ") + ")");
}

// Messages quote keys and paths from files: escaped, and cut when very long.
std::string message(std::string_view what) {
  return shown(what, kMaxMessageBytes, Escape::kLine);
}

int dispatch(const CLI::App& app, const Args& args, std::ostream& out, std::ostream& err) {
  if (app.got_subcommand("info")) return run_info(args.file, args.json, out);
  if (app.got_subcommand("verify")) {
    const ProgressMode mode = args.progress == "always"  ? ProgressMode::kAlways
                              : args.progress == "never" ? ProgressMode::kNever
                                                         : ProgressMode::kAuto;
    return run_verify(args.files, args.json, mode, out, err);
  }
  if (app.got_subcommand("diff")) return run_diff(args.file, args.b, args.json, args.limit, out);
  if (app.got_subcommand("convert")) return run_convert(args.file, args.b, args.to, out);
  PrintOptions print = print_options();
  print.precision = args.precision;
  if (args.full) print.threshold = std::numeric_limits<int64_t>::max();
  return run_cat(args.file, args.path, print, out);
}
}  // namespace

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app("wick: inspect, verify, print and compare wick files", "wick");
  app.set_version_flag("--version", "wick " + std::string(version()));
  app.require_subcommand(1);
  Args args;
  add_commands(app, args);
  app.footer(std::string(kPathHelp) + "\n" + kExitCodeHelp);
  for (const char* name : {"info", "verify", "cat", "diff", "convert"})
    app.get_subcommand(name)->footer(std::string(kPathHelp) + "\n" + kExitCodeHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kOk : kUsage;
  }
  try {
    return dispatch(app, args, out, err);
  } catch (const Failure& f) {
    err << "wick: " << message(f.what()) << '\n';
    return f.code();
  } catch (const ArgumentError& e) {
    err << "wick: " << message(e.what()) << '\n';
    return kUsage;
  } catch (const std::exception& e) {
    err << "wick: error: " << message(e.what()) << '\n';
    return kOther;
  }
}

}  // namespace wick::cli
