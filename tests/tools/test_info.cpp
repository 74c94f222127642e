// `wick info`: header facts, metadata and the entry table, as text and as JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_testing.h"
#include "table.h"

namespace wick {
namespace {

using testing::run_wick;

TEST(Info, PrintsVersionProducerMetadataEntriesAndTotals) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const io::Reader reader(file);
  const auto r = run_wick({"info", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const std::string expected_head = "file:      " + file +
                                    "\n"
                                    "format:    wick 1.0\n"
                                    "producer:  wick " +
                                    std::string(version()) +
                                    "\n"
                                    "size:      " +
                                    std::to_string(reader.info().file_size) + " bytes (" +
                                    cli::human_bytes(reader.info().file_size) +
                                    ")\n"
                                    "metadata:\n"
                                    "  note: 'test'\n"
                                    "entries:\n"
                                    "  path                  dtype    shape   bytes  checksum\n";
  EXPECT_EQ(r.out.substr(0, expected_head.size()), expected_head) << r.out;
  const auto entries = reader.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(r.out.find("  /model/hidden/weight  float32  [2, 3]     24  " +
                       cli::hex64(entries[0].checksum) + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  /model/hidden/bias    float32  [2]         8  " +
                       cli::hex64(entries[1].checksum) + "\n"),
            std::string::npos)
      << r.out;
  // Every leaf is listed, not only the tensors: the epoch and the history's items too.
  for (const char* row :
       {"  /epoch                int      -           -  -                   3\n",
        "  /history/0            float    -           -  -                   1.5\n",
        "  /history/1            string   -           -  -                   'text'\n"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << r.out;
  }
  EXPECT_NE(
      r.out.find("total:     2 entries, 2 tensors, 3 other values, 32 payload bytes (32 B)\n"),
      std::string::npos)
      << r.out;
}

// Format 2.0 (int keys, tuples): its version, int keys as path steps, cat by such a path.
TEST(Info, ShowsAFormat2CheckpointWithIntKeysAndTuples) {
  const testing::TempDir dir;
  const auto file = (dir / "opt.wick").string();
  save(Dict{{"state", Dict{{0, Dict{{"exp_avg", ones({2})}}}}}, {"betas", Tuple{0.9, 0.999}}},
       file);
  const auto r = run_wick({"info", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("format:    wick 2.0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  /state/0/exp_avg  float32"), std::string::npos) << r.out;
  const auto json = run_wick({"info", "--json", file});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out)["format_version"], "2.0");
  const auto cat = run_wick({"cat", file, "/state/0/exp_avg"});
  ASSERT_EQ(cat.code, 0) << cat.err;
  EXPECT_EQ(cat.out, "tensor([1., 1.])\n");
  const auto betas = run_wick({"cat", file, "betas"});
  ASSERT_EQ(betas.code, 0) << betas.err;
  EXPECT_EQ(betas.out, "(0.9, 0.999)\n");
}

TEST(Info, MarksTiedTensorsAndEmptyMetadata) {
  const testing::TempDir dir;
  const auto file = (dir / "tied.wick").string();
  const Tensor w = ones({2, 2});
  save(Dict{{"encoder", w}, {"decoder", w}}, file);
  const auto r = run_wick({"info", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("metadata:  (none)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("same tensor as /encoder"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 entries, 1 tensor, 16 payload bytes"), std::string::npos) << r.out;
}

TEST(Info, RootTensorAndEmptyFile) {
  const testing::TempDir dir;
  const auto one = (dir / "one.wick").string();
  const auto none = (dir / "none.wick").string();
  save(arange(3), one);
  save(Dict{}, none);
  const auto r1 = run_wick({"info", one});
  ASSERT_EQ(r1.code, 0) << r1.err;
  EXPECT_NE(r1.out.find("  (root)  int64  [3]       24  "), std::string::npos) << r1.out;
  const auto r2 = run_wick({"info", none});
  ASSERT_EQ(r2.code, 0) << r2.err;
  EXPECT_NE(r2.out.find("entries:   (none)\n"), std::string::npos) << r2.out;
  EXPECT_NE(r2.out.find("0 entries, 0 tensors, 0 payload bytes"), std::string::npos) << r2.out;
}

TEST(Info, JsonMatchesTheReader) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const io::Reader reader(file);
  const auto r = run_wick({"info", "--json", file});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], file);
  EXPECT_EQ(j["format_version"], "1.0");
  EXPECT_EQ(j["producer"], reader.info().producer);
  EXPECT_EQ(j["file_size"], reader.info().file_size);
  EXPECT_EQ(j["metadata"], nlohmann::json({{"note", "test"}}));
  const auto entries = reader.entries();
  ASSERT_EQ(j["entries"].size(), entries.size() + 3);  // and /epoch, /history/0, /history/1
  EXPECT_EQ(j["entries"][2], nlohmann::json({{"path", "/epoch"}, {"kind", "int"}, {"value", 3}}));
  EXPECT_EQ(j["entries"][4]["value"], "text");
  EXPECT_EQ(j["totals"]["values"], 3);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = j["entries"][i];
    EXPECT_EQ(e["path"], entries[i].path);
    EXPECT_EQ(e["dtype"], std::string(dtype_name(entries[i].dtype)));
    EXPECT_EQ(e["shape"].get<Shape>(), entries[i].shape);
    EXPECT_EQ(e["bytes"], entries[i].nbytes);
    EXPECT_EQ(e["offset"], entries[i].offset);
    EXPECT_EQ(e["checksum"], cli::hex64(entries[i].checksum));
  }
  EXPECT_EQ(j["totals"]["entries"], 2);
  EXPECT_EQ(j["totals"]["tensors"], 2);
  EXPECT_EQ(j["totals"]["payload_bytes"], 32);
}

TEST(Info, ReadsOnlyTheIndexSoPayloadDamageIsLeftToVerify) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  testing::flip_byte(file, testing::payload_offset(file, "/model/hidden/bias"));
  EXPECT_EQ(run_wick({"info", file}).code, 0);
  EXPECT_EQ(run_wick({"verify", file}).code, 5);
}

TEST(Info, DamagedIndexIsCorrupt) {
  const testing::TempDir dir;
  const auto file = (dir / "model.wick").string();
  testing::save_sample(file);
  const auto bytes = testing::read_bytes(file);
  const uint64_t index_offset = testing::read_u64(bytes, bytes.size() - 64);  // the trailer's
  testing::flip_byte(file, index_offset + 64);  // the first byte of the index payload
  const auto r = run_wick({"info", "--json", file});
  EXPECT_EQ(r.code, 5);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("is corrupt: index at offset "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("index checksum mismatch"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wick
