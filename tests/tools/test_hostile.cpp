// Hostile inputs for the command-line tool (issue 16): every command's memory and time stay
// bounded by the file whatever it repeats, nothing blocks on a FIFO, nothing from a file reaches
// a terminal unescaped, and paths name nodes unambiguously.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

#include "bounds_testing.h"
#include "cli_testing.h"
#include "commands.h"
#include "errors.h"

namespace wick {
namespace {

using testing::run_wick;

/// The CLI's bound: one whole command (the library's decode of the file, the value tree and
/// index tables it builds, and the command's own walk, listing and report; output goes to a
/// counting sink, not kept). Base: fixed costs (the allocator, a Reader, print buffers); per
/// byte: the trees of both files for diff. Measured in Release: info --json of 60k metadata
/// keys (1.4 MB) 0.05 s and 11 MiB, verify of 40k tensors (7.1 MB) 0.17 s, every command on a
/// 32 KiB key above 4096 references (52 KB) under 0.02 s. Before: 4.7 s, 26 s, and up to 1.7 s
/// and 505 MB for the 52 KB file.
constexpr testing::DecodeBound kCliBound{"wick CLI command", uint64_t{16} << 20, 32.0, 0.25, 0.5};

uint64_t file_size(const std::string& file) {
  return static_cast<uint64_t>(std::filesystem::file_size(file));
}

// A valid file holding only metadata: `n` keys, each with an int value.
void save_many_metadata_keys(const std::string& file, int n) {
  SaveOptions options;
  for (int i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "key%07d", i);
    options.metadata.insert(key, i);
  }
  save(Dict{}, file, options);
}

// `n` one-element tensors; the payloads of the first `bad` of them damaged.
void save_many_tensors(const std::string& file, int n, int bad) {
  Dict d;
  for (int i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "t%06d", i);
    d.insert(key, tensor({static_cast<float>(i)}));
  }
  save(d, file);
  if (bad == 0) return;
  std::vector<char> bytes = testing::read_bytes(file);
  const auto entries = io::Reader(file).entries();
  for (int i = 0; i < bad; ++i)
    bytes.at(entries[static_cast<std::size_t>(i)].offset + 64) ^= 0x55;
  testing::write_bytes(file, bytes);
}

// One key of `key_bytes` bytes above a list of `refs` references to one tiny tensor: every
// tensor's path is longer than the key, so spelling out every path costs key_bytes * refs.
void save_long_key_over_many_refs(const std::string& file, std::size_t key_bytes, int refs,
                                  float value = 1.0f) {
  const Tensor t = tensor({value});
  List list(static_cast<std::size_t>(refs), Value(t));
  save(Dict{{std::string(key_bytes, 'k'), std::move(list)}}, file);
}

// Runs `fn` under the CLI bound for `file`.
void expect_cli_bounded(const std::string& what, const std::string& file,
                        const std::function<void()>& fn) {
  testing::expect_bounded(what, file_size(file), kCliBound, fn);
}

// ---- class 4: info --json with many metadata keys ----

TEST(HostileCli, InfoJsonWithManyMetadataKeysIsLinear) {
  const testing::TempDir dir;
  const auto file = (dir / "keys.wick").string();
  save_many_metadata_keys(file, 60'000);
  testing::CountingStream out;
  expect_cli_bounded("info --json, 60k metadata keys", file,
                     [&] { EXPECT_EQ(cli::run_info(file, true, out), cli::kOk); });
  EXPECT_GT(out.bytes(), 60'000u * 20);
  // Every key is there, in file order.
  const auto r = run_wick({"info", "--json", file});
  ASSERT_EQ(r.code, 0) << r.err;
  // (nlohmann::ordered_json would be the quadratic parse this test is about.)
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["metadata"].size(), 60'000u);
  EXPECT_EQ(j["metadata"]["key0059999"], 59'999);
  EXPECT_LT(r.out.find("\"key0000000\""), r.out.find("\"key0000001\""));
  EXPECT_LT(r.out.find("\"key0000001\""), r.out.find("\"key0059999\""));
}

// ---- class 5: verify on a corrupt file with many tensors ----

TEST(HostileCli, VerifyOfACorruptFileWithManyTensorsIsLinear) {
  const testing::TempDir dir;
  const auto file = (dir / "many.wick").string();
  save_many_tensors(file, 40'000, 1);
  testing::CountingStream out;
  std::ostringstream err;
  expect_cli_bounded("verify, 40k tensors, one corrupt", file, [&] {
    EXPECT_EQ(cli::run_verify({file}, false, cli::ProgressMode::kNever, out, err), cli::kCorrupt);
  });
  const auto r = run_wick({"verify", file});
  EXPECT_EQ(r.code, 5);
  EXPECT_NE(r.out.find(": corrupt (1 problem)\n  tensor '/t000000' at offset "), std::string::npos)
      << r.out;
}

TEST(HostileCli, VerifyListsAtMostAThousandProblemsAndCountsTheRest) {
  const testing::TempDir dir;
  const auto file = (dir / "bad.wick").string();
  save_many_tensors(file, 1500, 1500);
  const auto r = run_wick({"verify", file});
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.out.rfind(file + ": corrupt (1500 problems)\n", 0), 0u) << r.out.substr(0, 200);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 1000 + 1);
  EXPECT_NE(r.out.find("  tensor '/t000999' at offset"), std::string::npos);
  EXPECT_EQ(r.out.find("'/t001000'"), std::string::npos);
  EXPECT_NE(r.out.find("\n  ... and 500 more not listed\n"), std::string::npos);
  const auto j = nlohmann::json::parse(run_wick({"verify", "--json", file}).out);
  const auto& f = j["files"][0];
  EXPECT_EQ(f["problems"].size(), 1000u);
  EXPECT_EQ(f["problems"][999]["entry"], "/t000999");
  EXPECT_EQ(f["problems_not_listed"], 500);
}

// ---- paths: one long key above many tensors ----

struct LongKeyFiles {
  static constexpr std::size_t kKeyBytes = 32 * 1024;
  static constexpr int kRefs = 4096;
  testing::TempDir dir;
  std::string a = (dir / "a.wick").string();
  std::string b = (dir / "b.wick").string();
  LongKeyFiles() {
    save_long_key_over_many_refs(a, kKeyBytes, kRefs, 1.0f);
    save_long_key_over_many_refs(b, kKeyBytes, kRefs, 2.0f);
  }
};

TEST(HostileCli, LongKeyAboveManyTensorsCostsLinearMemoryInEveryCommand) {
  const LongKeyFiles f;
  testing::CountingStream out;
  std::ostringstream err;
  expect_cli_bounded("info, long key over many refs", f.a,
                     [&] { EXPECT_EQ(cli::run_info(f.a, false, out), cli::kOk); });
  // Human output elides each path to about 1 KiB, so it stays linear in the file too.
  EXPECT_LT(out.bytes(), 2048u * LongKeyFiles::kRefs + 4096);
  expect_cli_bounded("verify, long key over many refs", f.a, [&] {
    EXPECT_EQ(cli::run_verify({f.a}, false, cli::ProgressMode::kNever, out, err), cli::kOk);
  });
  expect_cli_bounded("cat, long key over many refs", f.a, [&] {
    EXPECT_EQ(cli::run_cat(f.a, std::nullopt, print_options(), out), cli::kOk);
  });
  expect_cli_bounded("diff equal, long key over many refs", f.a, [&] {
    EXPECT_EQ(cli::run_diff(f.a, f.a, std::nullopt, false, cli::kDefaultDiffLimit, out), cli::kOk);
  });
  expect_cli_bounded("diff all differ, long key over many refs", f.a, [&] {
    EXPECT_EQ(cli::run_diff(f.a, f.b, std::nullopt, false, cli::kDefaultDiffLimit, out),
              cli::kDiffer);
  });
}

TEST(HostileCli, LongKeyJsonSpellsEveryPathWithMemoryBoundedByTheFile) {
  // --json is exact: every path in full, so its size is the sum of the paths, written as it is
  // made. Memory stays bounded by the file; time by the file plus the output (8 MiB here).
  constexpr std::size_t kKeyBytes = 8 * 1024;
  constexpr int kRefs = 1024;
  const testing::TempDir dir;
  const auto file = (dir / "a.wick").string();
  save_long_key_over_many_refs(file, kKeyBytes, kRefs);
  testing::CountingStream out;
  expect_cli_bounded("info --json, long key over many refs", file,
                     [&] { EXPECT_EQ(cli::run_info(file, true, out), cli::kOk); });
  EXPECT_GT(out.bytes(), uint64_t{kKeyBytes} * kRefs);
  const auto r = run_wick({"info", "--json", file});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["entries"].size(), std::size_t{kRefs});
  EXPECT_EQ(j["entries"][kRefs - 1]["path"], "/" + std::string(kKeyBytes, 'k') + "/1023");
  EXPECT_EQ(j["entries"][kRefs - 1]["tensor_id"], 0);
}

TEST(HostileCli, LongPathsAreElidedInTheMiddleForHumans) {
  const LongKeyFiles f;
  const auto r = run_wick({"info", f.a});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string key_bytes = std::to_string(LongKeyFiles::kKeyBytes + 6);  // "/" + key + "/4095"
  const std::size_t last = r.out.rfind("\n  /");
  const std::string last_row = r.out.substr(last + 1, r.out.find('\n', last + 1) - last);
  // "/kkk...[32774 bytes]...kkk/4095  float32  [1]  ...  same tensor as /kkk...[32771
  // bytes]...kkk/0"
  EXPECT_EQ(last_row.find("  /" + std::string(479, 'k') + "...[" + key_bytes + " bytes]..." +
                          std::string(475, 'k') + "/4095  float32  [1]"),
            0u)
      << last_row;
  EXPECT_NE(last_row.find("same tensor as /kkkk"), std::string::npos);
  EXPECT_NE(last_row.find("...[32771 bytes]..." + std::string(478, 'k') + "/0\n"),
            std::string::npos);
  EXPECT_LT(last_row.size(), 2 * 1024u + 100);
  EXPECT_EQ(r.out.find(std::string(1024, 'k')), std::string::npos);
}

// ---- class 9: FIFOs, devices and directories ----

TEST(HostileCli, EveryCommandRefusesAFifoADeviceAndADirectoryWithoutBlocking) {
  const testing::TempDir dir;
  const auto fifo = (dir / "fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto good = (dir / "good.wick").string();
  testing::save_sample(good);
  const auto out = (dir / "out.wick").string();
  struct Case {
    std::string file;
    std::string kind;
  };
  for (const Case& c : {Case{fifo, "a FIFO"}, Case{"/dev/null", "a character device"},
                        Case{dir.path().string(), "a directory"}}) {
    const std::vector<std::vector<std::string>> commands = {
        {"info", c.file},         {"info", "--json", c.file}, {"cat", c.file},
        {"cat", c.file, "/x"},    {"diff", c.file, good},     {"diff", good, c.file},
        {"convert", c.file, out}, {"verify", c.file},
    };
    for (const auto& args : commands) {
      const auto r = run_wick(args, std::chrono::seconds(10));
      EXPECT_EQ(r.code, 3) << args[0] << " " << c.file << "\n" << r.out << r.err;
      const std::string where = args[0] == "verify" ? r.out : r.err;
      EXPECT_NE(where.find(c.file), std::string::npos) << where;
      EXPECT_NE(where.find("not a regular file (" + c.kind + ")"), std::string::npos)
          << args[0] << "\n"
          << where;
    }
  }
  // verify goes on to the next file and reports it.
  const auto r = run_wick({"verify", fifo, good}, std::chrono::seconds(10));
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.out.find(fifo + ": unreadable\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(good + ": OK"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// ---- class 9: escaping what a file says before it reaches a terminal ----

// True when `s` holds a byte a terminal acts on (a control other than newline) or bytes that
// are not UTF-8, or a bidirectional override.
std::string terminal_hazard(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7F) return "control byte at " + std::to_string(i);
    if (c == 0xFF || c == 0xFE) return "invalid UTF-8 at " + std::to_string(i);
    if (s.compare(i, 3, "\xE2\x80\xAE") == 0) return "bidi override at " + std::to_string(i);
    if (s.compare(i, 2, "\xC2\x9B") == 0) return "C1 CSI at " + std::to_string(i);
  }
  return "";
}

const std::string kEscKey = "\x1b]0;owned\x07";
const std::string kRedKey = "\x1b[31mred";
// No key that is not UTF-8: readers refuse such a file and writers never write one (FORMAT.md
// "Conventions"); the escaping of such bytes is tested on its own (test_helpers.cpp).
const std::string kBidiKey =
    "abc\xE2\x80\xAE"
    "def";

void save_hostile_names(const std::string& file, float v) {
  SaveOptions options;
  options.metadata = Dict{{"\x1b[2J", "\x1b[2J"},
                          {"c1\xC2\x9B"
                           "2J",
                           1}};
  save(Dict{{kEscKey, tensor({v})}, {"nested", Dict{{kRedKey, tensor({v, v})}, {kBidiKey, "x"}}}},
       file, options);
}

TEST(HostileCli, NothingFromTheFileReachesTheTerminalUnescaped) {
  const testing::TempDir dir;
  const auto a = (dir / "a.wick").string();
  const auto b = (dir / "b.wick").string();
  const auto bad = (dir / "bad.wick").string();
  save_hostile_names(a, 1.0f);
  save_hostile_names(b, 2.0f);
  save_hostile_names(bad, 1.0f);
  testing::flip_byte(bad, testing::payload_offset(bad, "/" + kEscKey));
  const std::vector<std::vector<std::string>> commands = {{"info", a},
                                                          {"info", "--json", a},
                                                          {"cat", a},
                                                          {"cat", a, "/nested"},
                                                          {"cat", a, "/nested/" + kRedKey + "x"},
                                                          {"cat", a, "/" + kEscKey + "x"},
                                                          {"verify", bad},
                                                          {"verify", "--json", bad},
                                                          {"cat", bad},
                                                          {"cat", bad, "/" + kEscKey},
                                                          {"diff", a, b},
                                                          {"diff", "--json", a, b},
                                                          {"diff", a, bad}};
  for (const auto& args : commands) {
    const auto r = run_wick(args);
    std::string cmd;
    for (const auto& s : args)
      cmd += s + " ";
    EXPECT_NE(r.code, -1) << cmd;
    EXPECT_EQ(terminal_hazard(r.out), "") << cmd << "\n" << r.out;
    EXPECT_EQ(terminal_hazard(r.err), "") << cmd << "\n" << r.err;
  }
  // Escaped the same way everywhere, and --json keeps the exact text (JSON's own escapes).
  const auto info = run_wick({"info", a});
  EXPECT_NE(info.out.find("/\\x1b]0;owned\\x07 "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("/nested/\\x1b[31mred "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("  \\x1b[2J: '\\x1b[2J'\n"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("  c1\\u009b2J: 1\n"), std::string::npos) << info.out;
  const auto j = nlohmann::json::parse(run_wick({"info", "--json", a}).out);
  EXPECT_EQ(j["entries"][0]["path"], "/" + kEscKey);
  EXPECT_EQ(j["entries"][1]["path"], "/nested/" + kRedKey);
  EXPECT_EQ(j["metadata"]["\x1b[2J"], "\x1b[2J");
  const auto diff = run_wick({"diff", a, b});
  EXPECT_NE(diff.out.find("/nested/\\x1b[31mred   float32 [2]  float32 [2]"), std::string::npos)
      << diff.out;
  const auto verify = run_wick({"verify", bad});
  EXPECT_NE(verify.out.find("tensor '/\\x1b]0;owned\\x07' at offset"), std::string::npos)
      << verify.out;
}

// ---- class 9: diff compares structure, not printed paths ----

TEST(HostileCli, DiffComparesStructureNotSpellings) {
  const testing::TempDir dir;
  auto path = [&](const char* name) { return (dir / name).string(); };
  save(Dict{{"a.b", 1}}, path("dotted.wick"));
  save(Dict{{"a", Dict{{"b", 1}}}}, path("nested.wick"));
  save(List{arange(2)}, path("list.wick"));
  save(Dict{{"0", arange(2)}}, path("dict.wick"));
  save(Dict{{"a.b", 1}, {"a", Dict{{"b", 2}}}}, path("both.wick"));
  save(Dict{{"a/b", 1}, {"a~b", 2}, {"a", Dict{{"b", 3}}}}, path("slash.wick"));

  const auto r1 = run_wick({"diff", path("dotted.wick"), path("nested.wick")});
  EXPECT_EQ(r1.code, 1) << r1.out;
  EXPECT_NE(r1.out.find("/a.b  1  -"), std::string::npos) << r1.out;
  EXPECT_NE(r1.out.find("/a/b  -  1"), std::string::npos) << r1.out;
  const auto r2 = run_wick({"diff", path("list.wick"), path("dict.wick")});
  EXPECT_EQ(r2.code, 1) << r2.out;
  EXPECT_NE(r2.out.find("(root)  list (1 item)  dict (1 key)             -  kind differs\n"),
            std::string::npos)
      << r2.out;
  for (const char* same : {"both.wick", "slash.wick", "dotted.wick", "list.wick"}) {
    const auto r = run_wick({"diff", path(same), path(same)});
    EXPECT_EQ(r.code, 0) << same << "\n" << r.out;
  }
  const auto j =
      nlohmann::json::parse(run_wick({"diff", "--json", path("both.wick"), path("both.wick")}).out);
  EXPECT_EQ(j["equal"], true);
  ASSERT_EQ(j["common"].size(), 2u);
  EXPECT_EQ(j["common"][0]["path"], "/a.b");
  EXPECT_EQ(j["common"][1]["path"], "/a/b");
  // Pointers escape '/' and '~'; cat takes them back.
  const auto info = nlohmann::json::parse(run_wick({"info", "--json", path("slash.wick")}).out);
  (void)info;
  EXPECT_EQ(run_wick({"cat", path("slash.wick"), "/a~1b"}).out, "1\n");
  EXPECT_EQ(run_wick({"cat", path("slash.wick"), "/a~0b"}).out, "2\n");
  EXPECT_EQ(run_wick({"cat", path("slash.wick"), "/a/b"}).out, "3\n");
}

// ---- diff: a listing capped however many differences there are ----

TEST(HostileCli, DiffListsAtMostTheLimitAndCountsTheRest) {
  const testing::TempDir dir;
  const auto a = (dir / "a.wick").string();
  const auto b = (dir / "b.wick").string();
  Dict da;
  Dict db;
  for (int i = 0; i < 3000; ++i) {
    const std::string n = std::to_string(i);
    da.insert(std::string("x").append(n), i);
    db.insert(std::string("x").append(n), i % 2 == 0 ? i : -i);  // odd ones differ
    db.insert(std::string("y").append(n), i);                    // only in B
  }
  da.insert("z", 0);
  save(da, a);
  save(db, b);
  const auto r = run_wick({"diff", a, b});
  EXPECT_EQ(r.code, 1);
  const auto lines = std::count(r.out.begin(), r.out.end(), '\n');
  EXPECT_LT(lines, 1010) << lines;
  EXPECT_NE(r.out.find("... and 5001 more entries not listed (3501 of them differ; --limit 0 "
                       "lists them all)\n"),
            std::string::npos)
      << r.out.substr(r.out.size() - 300);
  EXPECT_NE(r.out.find("differ: 1 only in A, 3000 only in B, 1500 changed, 0 metadata keys "
                       "changed\n"),
            std::string::npos);
  const auto j = nlohmann::json::parse(run_wick({"diff", "--json", a, b}).out);
  EXPECT_EQ(j["common"].size() + j["only_in_a"].size() + j["only_in_b"].size(), 1000u);
  EXPECT_EQ(j["counts"]["changed"], 1500);
  EXPECT_EQ(j["counts"]["same"], 1500);
  EXPECT_EQ(j["counts"]["only_in_a"], 1);
  EXPECT_EQ(j["counts"]["only_in_b"], 3000);
  EXPECT_EQ(j["counts"]["not_listed"], 5001);
  const auto all = nlohmann::json::parse(run_wick({"diff", "--json", "--limit", "0", a, b}).out);
  EXPECT_EQ(all["common"].size(), 3000u);
  EXPECT_EQ(all["only_in_b"].size(), 3000u);
  EXPECT_EQ(all["counts"]["not_listed"], 0);
  const auto help = run_wick({"diff", "--help"});
  EXPECT_NE(help.out.find("--limit"), std::string::npos);
  EXPECT_NE(help.out.find("1000"), std::string::npos) << help.out;
  EXPECT_EQ(run_wick({"diff", "--limit", "-1", a, b}).code, 2);
}

}  // namespace
}  // namespace wick
