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
#include "stdin_spool.h"
#include "text.h"
#include "wick/core/version.h"
#include "wick/io/formats.h"

namespace wick::cli {

namespace {
struct Args {
  std::string file;                // info, cat, diff's first file
  std::vector<std::string> files;  // verify
  std::optional<std::string> path;
  std::string b;                  // diff's second file, convert's output
  std::string to;                 // convert's --to
  std::vector<std::string> only;  // convert's --only
  bool json = false;
  std::string progress = "auto";
  std::size_t limit = kDefaultDiffLimit;
  int precision = 4;
  bool full = false;
};

// How every command names a node of a file's tree, and how it shows what a file says.
const char* const kInputHelp =
    "Files: wick, PyTorch .pt (torch.save zip), safetensors, .npy and .npz, told apart by\n"
    "content; every report says which it read. FILE - (or /dev/stdin, /dev/fd/0) reads\n"
    "standard input, copied first to a temporary file that is removed at exit (every format\n"
    "needs random access; the copy costs disk, not memory). Named FIFOs, devices and\n"
    "directories are refused (exit 3) rather than read, since they may never end; empty input\n"
    "exits 4. A sharded checkpoint (a directory holding index.wick and its shards) is read by\n"
    "info, verify and cat; diff and convert refuse one (exit 2).\n";

const char* const kPathHelp =
    "Tree paths (cat PATH, diff PATH, convert --only PATH) are JSON pointers (RFC 6901):\n"
    "\"\" is the root, each step is \"/\" and a dict key\n"
    "or a list index, with '~' in keys written ~0 and '/' written ~1:\n"
    "  {\"model\": {\"hidden.weight\": t}} names t /model/hidden.weight; [t, u] names u /1;\n"
    "  {\"a/b\": t} names t /a~1b; an int dict key by its digits.\n"
    "The dotted spelling of PyTorch's state_dict keys (model.hidden.weight) is accepted when\n"
    "it names one node only; a key holding dots needs the pointer.\n"
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

ProgressMode progress_mode(const Args& args) {
  return args.progress == "always"  ? ProgressMode::kAlways
         : args.progress == "never" ? ProgressMode::kNever
                                    : ProgressMode::kAuto;
}

void add_progress(CLI::App* cmd, Args& args) {
  cmd->add_option("--progress", args.progress,
                  "Progress bar on stderr: auto draws it for files of 64 MiB or more when "
                  "stderr is a terminal")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->default_str("auto");
}

void add_json(CLI::App* cmd, Args& args) {
  cmd->add_flag("--json", args.json, "Print the report as JSON on stdout");
}

void add_commands(CLI::App& app, Args& args) {
  CLI::App* info = app.add_subcommand(
      "info", "Show the format version, producer, metadata and a table of the entries");
  info->add_option("FILE", args.file,
                   "A file in any format wick reads (- for stdin), or a sharded checkpoint "
                   "directory")
      ->required();
  add_json(info, args);

  CLI::App* verify = app.add_subcommand(
      "verify", "Check every checksum and structural rule, naming each bad entry");
  verify
      ->add_option("FILE", args.files,
                   "One or more files in formats wick reads (- for stdin) or sharded "
                   "checkpoint directories")
      ->required();
  add_json(verify, args);
  add_progress(verify, args);

  CLI::App* cat = app.add_subcommand(
      "cat", "Print the whole tree, or the entry at PATH (tensors as PyTorch prints them)");
  cat->add_option("FILE", args.file,
                  "A file in any format wick reads (- for stdin), or a sharded checkpoint "
                  "directory")
      ->required();
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
  diff->add_option("A", args.file, "First file (any format wick reads; - for stdin)")->required();
  diff->add_option("B", args.b, "Second file")->required();
  diff->add_option("PATH", args.path,
                   "Compare only the subtree at this tree path (a JSON pointer, or the dotted "
                   "spelling when it names one node only)");
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
  convert->add_option("IN", args.file, "Input file (any supported format; - for stdin)")
      ->required();
  convert->add_option("OUT", args.b, "Output file")->required();
  convert->add_option("--to", args.to,
                      "Output format: " + join(names, ", ", " or ") +
                          " (default: from OUT's extension: " + join(extensions, ", ", ", ") + ")");
  convert->add_option("--only", args.only,
                      "Keep only the subtree at this tree path, with the containers above it "
                      "(repeatable; list items kept are renumbered from 0)");
  add_progress(convert, args);
}

// Messages quote keys and paths from files: escaped, and cut when very long.
std::string message(std::string_view what) {
  return shown(what, kMaxMessageBytes, Escape::kLine);
}

int dispatch(const CLI::App& app, const Args& args, std::ostream& out, std::ostream& err) {
  if (app.got_subcommand("info")) return run_info(args.file, args.json, out);
  if (app.got_subcommand("verify")) {
    return run_verify(args.files, args.json, progress_mode(args), out, err);
  }
  if (app.got_subcommand("diff"))
    return run_diff(args.file, args.b, args.path, args.json, args.limit, out);
  if (app.got_subcommand("convert"))
    return run_convert(args.file, args.b, args.to, args.only, progress_mode(args), out, err);
  PrintOptions print = print_options();
  print.precision = args.precision;
  if (args.full) print.threshold = std::numeric_limits<int64_t>::max();
  return run_cat(args.file, args.path, print, out);
}

// Runs the parsed command; every error becomes its message on `err` and its exit code.
int run_parsed(const CLI::App& app, const Args& args, std::ostream& out, std::ostream& err) {
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

// The input arguments that name standard input (is_stdin_name); convert's OUT is not one.
std::vector<std::string*> stdin_args(const CLI::App& app, Args& args) {
  std::vector<std::string*> found;
  const auto add = [&](std::string& a) {
    if (is_stdin_name(a)) found.push_back(&a);
  };
  if (app.got_subcommand("verify")) {
    for (std::string& f : args.files)
      add(f);
    return found;
  }
  add(args.file);
  if (app.got_subcommand("diff")) add(args.b);
  return found;
}

// Copies standard input to a temporary file when an argument names it, and runs the command on
// that file with reports naming it <stdin>.
int run_with_stdin(const CLI::App& app, Args& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string*> named = stdin_args(app, args);
  if (named.empty()) return run_parsed(app, args, out, err);
  if (named.size() > 1) {
    err << "wick: standard input can be read only once, and two arguments name it\n";
    return kUsage;
  }
  std::optional<StdinSpool> spool;
  try {
    spool.emplace();
  } catch (const Failure& f) {
    err << "wick: " << message(f.what()) << '\n';
    return f.code();
  }
  *named[0] = spool->path();
  ReplacingStream safe_out(out, spool->path(), kStdinName);
  ReplacingStream safe_err(err, spool->path(), kStdinName);
  return run_parsed(app, args, safe_out, safe_err);
}
}  // namespace

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "wick: inspect, verify, print, compare and convert wick, PyTorch, safetensors and NumPy "
      "files",
      "wick");
  app.set_version_flag("--version", "wick " + std::string(version()));
  app.require_subcommand(1);
  Args args;
  add_commands(app, args);
  app.footer(std::string(kInputHelp) + "\n" + kPathHelp + "\n" + kExitCodeHelp);
  for (const char* name : {"info", "verify", "cat", "diff", "convert"})
    app.get_subcommand(name)->footer(std::string(kInputHelp) + "\n" + kPathHelp + "\n" +
                                     kExitCodeHelp);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kOk : kUsage;
  }
  return run_with_stdin(app, args, out, err);
}

}  // namespace wick::cli
