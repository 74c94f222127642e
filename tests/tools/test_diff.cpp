// `wick diff`: what differs between two files, and an exit code saying whether anything does.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <map>

#include "cli_testing.h"

namespace wick {
namespace {

using testing::run_wick;

struct DiffFiles {
  testing::TempDir dir;
  std::string a = (dir / "a.wick").string();
  std::string b = (dir / "b.wick").string();

  DiffFiles() {
    SaveOptions oa;
    oa.metadata = Dict{{"step", 10}, {"name", "run"}};
    save(Dict{{"w", tensor({1.0f, 2.0f, 3.0f})},
              {"b", tensor({0.5f})},
              {"cast", tensor({1.0f, 2.0f})},
              {"both", tensor({1.0f, 2.0f})},
              {"reshaped", zeros({2, 3})},
              {"same", arange(4)},
              {"gone", ones({2})},
              {"epoch", 3}},
         a, oa);
    SaveOptions ob;
    ob.metadata = Dict{{"step", 11}, {"name", "run"}};
    save(Dict{{"w", tensor({1.0f, 2.5f, 1.0f})},
              {"b", tensor({0.5f})},
              {"cast", tensor({1.0, 2.0}, kFloat64)},
              {"both", tensor({1.0, 3.0}, kFloat64)},
              {"reshaped", zeros({3, 2})},
              {"same", arange(4)},
              {"new", ones({1})},
              {"epoch", 4}},
         b, ob);
  }
};

TEST(Diff, IdenticalFilesAreEqual) {
  const DiffFiles f;
  const auto r = run_wick({"diff", f.a, f.a});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("equal: 8 entries and the metadata match\n"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty());
}

TEST(Diff, ReportsEveryKindOfDifference) {
  const DiffFiles f;
  const auto r = run_wick({"diff", f.a, f.b});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out.rfind("A: " + f.a + "\nB: " + f.b + "\npath ", 0), 0u) << r.out;
  for (const char* row :
       {"/w         float32 [3]     float32 [3]                2  values differ\n",
        "/b         float32 [1]     float32 [1]                0  same\n",
        "/cast      float32 [2]     float64 [2]                0  dtype differs\n",
        "/both      float32 [2]     float64 [2]                1  dtype and values differ\n",
        "/reshaped  float32 [2, 3]  float32 [3, 2]             -  shape differs\n",
        "/same      int64 [4]       int64 [4]                  0  same\n",
        "/epoch     3               4                          -  value differs\n",
        "/gone      float32 [2]     -                          -  only in A\n",
        "/new       -               float32 [1]                -  only in B\n",
        "metadata:\n  key   A   B\n  step  10  11\n",
        "differ: 1 only in A, 1 only in B, 5 changed, 1 metadata key changed\n"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
}

TEST(Diff, JsonHasEveryDifference) {
  const DiffFiles f;
  const auto r = run_wick({"diff", "--json", f.a, f.b});
  EXPECT_EQ(r.code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["equal"], false);
  EXPECT_EQ(j["a"], f.a);
  EXPECT_EQ(j["only_in_a"], nlohmann::json::parse(R"([{"path": "/gone", "a": "float32 [2]"}])"));
  EXPECT_EQ(j["only_in_b"], nlohmann::json::parse(R"([{"path": "/new", "b": "float32 [1]"}])"));
  EXPECT_EQ(j["metadata"], nlohmann::json::parse(R"([{"key": "step", "a": 10, "b": 11}])"));
  std::map<std::string, nlohmann::json> common;
  for (const auto& c : j["common"])
    common[c["path"]] = c;
  ASSERT_EQ(common.size(), 7u);
  EXPECT_EQ(common["/w"]["max_abs_diff"], 2.0);
  EXPECT_EQ(common["/w"]["changes"], nlohmann::json({"values"}));
  EXPECT_EQ(common["/b"]["changes"], nlohmann::json::array());
  EXPECT_EQ(common["/cast"]["changes"], nlohmann::json({"dtype"}));
  EXPECT_EQ(common["/cast"]["b"], "float64 [2]");
  EXPECT_EQ(common["/both"]["changes"], nlohmann::json({"dtype", "values"}));
  EXPECT_EQ(common["/both"]["max_abs_diff"], 1.0);
  EXPECT_EQ(common["/reshaped"]["changes"], nlohmann::json({"shape"}));
  EXPECT_TRUE(common["/reshaped"]["max_abs_diff"].is_null());
  EXPECT_EQ(common["/epoch"]["changes"], nlohmann::json({"value"}));
}

TEST(Diff, BitsDecideEqualityEvenAtZeroDifference) {
  const testing::TempDir dir;
  const auto a = (dir / "a.wick").string();
  const auto b = (dir / "b.wick").string();
  save(Dict{{"z", tensor({0.0f})}}, a);
  save(Dict{{"z", tensor({-0.0f})}}, b);
  const auto r = run_wick({"diff", a, b});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("0  values differ"), std::string::npos) << r.out;
}

TEST(Diff, NanFacingNanIsEqualAndNanFacingANumberIsNot) {
  const testing::TempDir dir;
  const auto a = (dir / "a.wick").string();
  const auto b = (dir / "b.wick").string();
  const auto c = (dir / "c.wick").string();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  save(Dict{{"x", tensor({nan, 1.0f})}}, a);
  save(Dict{{"x", tensor({nan, 1.0f})}}, b);
  save(Dict{{"x", tensor({0.0f, 1.0f})}}, c);
  const auto same = run_wick({"diff", "--json", a, b});
  EXPECT_EQ(same.code, 0);
  const auto j = nlohmann::json::parse(same.out);
  EXPECT_EQ(j["equal"], true);
  EXPECT_EQ(j["common"][0]["max_abs_diff"], 0.0);
  const auto differ = run_wick({"diff", a, c});
  EXPECT_EQ(differ.code, 1);
  EXPECT_NE(differ.out.find("nan  values differ"), std::string::npos) << differ.out;
  EXPECT_EQ(
      nlohmann::json::parse(run_wick({"diff", "--json", a, c}).out)["common"][0]["max_abs_diff"],
      "nan");
}

TEST(Diff, FileProblemsUseTheirOwnExitCodes) {
  const DiffFiles f;
  const auto missing = (f.dir / "missing.wick").string();
  const auto text = (f.dir / "text.txt").string();
  testing::write_bytes(text, std::vector<char>(200, 't'));
  const auto r1 = run_wick({"diff", f.a, missing});
  EXPECT_EQ(r1.code, 3);
  EXPECT_EQ(r1.err.rfind("wick: cannot read " + missing, 0), 0u) << r1.err;
  const auto r2 = run_wick({"diff", text, f.b});
  EXPECT_EQ(r2.code, 4);
  // The library's own words: what the first bytes are and which formats it reads.
  EXPECT_EQ(r2.err.rfind("wick: " + text + " is not a file wick reads: ", 0), 0u) << r2.err;
  EXPECT_NE(r2.err.find("first bytes: 74 74 74"), std::string::npos) << r2.err;
  testing::flip_byte(f.b, testing::payload_offset(f.b, "/w"));
  const auto r3 = run_wick({"diff", f.a, f.b});
  EXPECT_EQ(r3.code, 5);
  EXPECT_EQ(r3.err.rfind("wick: " + f.b + " is corrupt: ", 0), 0u) << r3.err;
  EXPECT_TRUE(r3.out.empty());
}

}  // namespace
}  // namespace wick
