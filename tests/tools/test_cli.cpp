// The command line itself: help on every subcommand, usage errors, the exit-code table.
#include <gtest/gtest.h>

#include "cli_testing.h"

namespace wick {
namespace {

using testing::run_wick;

TEST(Cli, HelpListsSubcommandsAndExitCodes) {
  const auto r = run_wick({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* s :
       {"info", "verify", "cat", "diff", "Exit codes:", "3  a file is missing",
        "4  a file is in no format wick reads", "5  a file is corrupt or refused"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"info", "verify", "cat", "diff"}) {
    const auto r = run_wick({sub, "--help"});
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find(std::string("Usage: wick ") + sub), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
  }
}

TEST(Cli, HelpExplainsPathsEscapingAndTheDiffLimit) {
  for (const char* sub : {"info", "cat", "diff", "verify"}) {
    const auto r = run_wick({sub, "--help"});
    for (const char* s :
         {"JSON pointers (RFC 6901)", "/a~1b", "escaped", "...[N bytes]...", "U+FFFD"}) {
      EXPECT_NE(r.out.find(s), std::string::npos) << sub << ": " << s << "\n" << r.out;
    }
  }
  const auto cat = run_wick({"cat", "--help"});
  EXPECT_NE(cat.out.find("dotted spelling"), std::string::npos) << cat.out;
  const auto diff = run_wick({"diff", "--help"});
  EXPECT_NE(diff.out.find("--limit"), std::string::npos) << diff.out;
}

TEST(Cli, VersionNamesTheLibraryVersion) {
  const auto r = run_wick({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "wick " + std::string(version()) + "\n");
}

TEST(Cli, UsageErrorsExitWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},                            // no subcommand
      {"frobnicate"},                // unknown subcommand
      {"info"},                      // missing FILE
      {"info", "a.wick", "b.wick"},  // one FILE only
      {"diff", "a.wick"},            // missing B
      {"verify", "--progress", "sometimes", "a.wick"},
      {"cat", "--precision", "-1", "a.wick"},
      {"info", "--no-such-option", "a.wick"},
      {"diff", "--limit", "-1", "a.wick", "b.wick"},
      {"diff", "--limit", "many", "a.wick", "b.wick"},
  };
  for (const auto& args : bad) {
    const auto r = run_wick(args);
    std::string cmd;
    for (const auto& a : args)
      cmd += a + " ";
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << cmd;
    EXPECT_TRUE(r.out.empty()) << cmd << "\n" << r.out;
  }
}

TEST(Cli, ErrorsNameTheFileAndTheProblem) {
  const testing::TempDir dir;
  const auto missing = (dir / "missing.wick").string();
  const auto text = (dir / "notes.txt").string();
  const auto empty = (dir / "empty.wick").string();
  const auto truncated = (dir / "truncated.wick").string();
  testing::write_bytes(text, std::vector<char>(300, 'x'));
  testing::write_bytes(empty, {});
  testing::save_sample(truncated);
  auto bytes = testing::read_bytes(truncated);
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(truncated, bytes);

  struct Case {
    std::string file;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {missing, 3, "cannot read " + missing},
      {dir.path().string(), 3, "cannot read " + dir.path().string()},
      {text, 4, text + " is not a file wick reads: detect_format: "},
      {empty, 4, empty + " is empty (0 bytes): there is nothing to read"},
      {truncated, 5, truncated + " is corrupt: "},
  };
  for (const Case& c : cases) {
    for (const char* sub : {"info", "cat"}) {
      const auto r = run_wick({sub, c.file});
      EXPECT_EQ(r.code, c.code) << sub << " " << c.file << "\n" << r.err;
      EXPECT_EQ(r.err.rfind("wick: " + c.message, 0), 0u) << r.err;
      EXPECT_TRUE(r.out.empty()) << r.out;
    }
  }
}

}  // namespace
}  // namespace wick
