// `wick verify`: intact files pass; every bad entry is named with its offset; exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_testing.h"

namespace wick {
namespace {

using testing::run_wick;

struct VerifyFiles {
  testing::TempDir dir;
  std::string good = (dir / "good.wick").string();
  std::string bad = (dir / "bad.wick").string();
  uint64_t weight_record = 0;
  uint64_t bias_record = 0;

  // `bad` has both tensor payloads damaged.
  VerifyFiles() {
    testing::save_sample(good);
    testing::save_sample(bad);
    weight_record = testing::payload_offset(bad, "/model/hidden/weight") - 64;
    bias_record = testing::payload_offset(bad, "/model/hidden/bias") - 64;
    testing::flip_byte(bad, weight_record + 64 + 5);
    testing::flip_byte(bad, bias_record + 64);
  }
};

TEST(Verify, IntactFilePasses) {
  const VerifyFiles f;
  const auto r = run_wick({"verify", f.good});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind(f.good + ": OK (2 tensors, ", 0), 0u) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(Verify, NamesEveryBadEntryAndItsOffset) {
  const VerifyFiles f;
  const auto r = run_wick({"verify", f.bad});
  EXPECT_EQ(r.code, 5) << r.out << r.err;
  EXPECT_EQ(r.out.rfind(f.bad + ": corrupt (2 problems)\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("tensor '/model/hidden/weight' at offset " +
                       std::to_string(f.weight_record) + ": payload checksum mismatch"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("tensor '/model/hidden/bias' at offset " + std::to_string(f.bias_record) +
                       ": payload checksum mismatch"),
            std::string::npos)
      << r.out;
}

TEST(Verify, JsonListsProblemsWithEntryAndOffset) {
  const VerifyFiles f;
  const auto r = run_wick({"verify", "--json", f.good, f.bad});
  EXPECT_EQ(r.code, 5) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["exit_code"], 5);
  ASSERT_EQ(j["files"].size(), 2u);
  EXPECT_EQ(j["files"][0]["file"], f.good);
  EXPECT_EQ(j["files"][0]["ok"], true);
  EXPECT_EQ(j["files"][0]["status"], "ok");
  EXPECT_TRUE(j["files"][0]["problems"].empty());
  const auto& bad = j["files"][1];
  EXPECT_EQ(bad["status"], "corrupt");
  EXPECT_EQ(bad["exit_code"], 5);
  ASSERT_EQ(bad["problems"].size(), 2u);
  EXPECT_EQ(bad["problems"][0]["entry"], "/model/hidden/weight");
  EXPECT_EQ(bad["problems"][0]["offset"], f.weight_record);
  EXPECT_EQ(bad["problems"][1]["entry"], "/model/hidden/bias");
  EXPECT_EQ(bad["problems"][1]["offset"], f.bias_record);
  EXPECT_NE(bad["problems"][1]["message"].get<std::string>().find("checksum mismatch"),
            std::string::npos);
}

TEST(Verify, StructuralDamageOutsideTensorsIsReported) {
  const VerifyFiles f;
  // The zero padding after the first tensor's 24-byte payload: no checksum covers it.
  testing::flip_byte(f.good, f.weight_record + 64 + 30);
  const auto r = run_wick({"verify", "--json", f.good});
  EXPECT_EQ(r.code, 5) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  const auto& problems = j["files"][0]["problems"];
  ASSERT_EQ(problems.size(), 1u) << r.out;
  EXPECT_TRUE(problems[0]["entry"].is_null());
  EXPECT_EQ(problems[0]["offset"], f.weight_record + 64 + 30) << r.out;
  EXPECT_NE(problems[0]["message"].get<std::string>().find("padding"), std::string::npos) << r.out;
}

TEST(Verify, SeveralFilesReportEachAndExitWithTheFirstFailure) {
  const VerifyFiles f;
  const auto missing = (f.dir / "missing.wick").string();
  const auto text = (f.dir / "readme.txt").string();
  testing::write_bytes(text, std::vector<char>(100, 'a'));
  const auto r = run_wick({"verify", f.good, missing, text, f.bad});
  EXPECT_EQ(r.code, 3) << r.out;
  for (const std::string& s :
       {f.good + ": OK", missing + ": unreadable\n  load: cannot open",
        text + ": not a file wick reads\n", f.bad + ": corrupt (2 problems)"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  EXPECT_EQ(run_wick({"verify", f.good, text, f.bad}).code, 4);
  EXPECT_EQ(run_wick({"verify", f.good, f.bad, text}).code, 5);
  EXPECT_EQ(run_wick({"verify", f.good, f.good}).code, 0);
}

TEST(Verify, TruncatedFileIsCorrupt) {
  const VerifyFiles f;
  auto bytes = testing::read_bytes(f.good);
  bytes.pop_back();
  testing::write_bytes(f.good, bytes);
  const auto r = run_wick({"verify", f.good});
  EXPECT_EQ(r.code, 5);
  EXPECT_NE(r.out.find(f.good + ": corrupt (1 problem)\n  trailer at offset "), std::string::npos)
      << r.out;
}

TEST(Verify, ProgressBarOnlyWhenAskedOrOnATerminal) {
  const VerifyFiles f;
  // stderr is a file here, so auto draws nothing.
  EXPECT_TRUE(run_wick({"verify", f.good}).err.empty());
  EXPECT_TRUE(run_wick({"verify", "--progress", "never", f.good}).err.empty());
  const auto r = run_wick({"verify", "--progress", "always", f.good});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.err.find(f.good + " [##############################] 100%"), std::string::npos)
      << r.err;
  // The bar is erased before the report.
  EXPECT_EQ(r.err.back(), '\r');
  EXPECT_EQ(r.out.rfind(f.good + ": OK", 0), 0u);
}

}  // namespace
}  // namespace wick
