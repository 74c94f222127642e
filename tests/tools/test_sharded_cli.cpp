// `wick info`, `verify` and `cat` on a sharded checkpoint directory (io/FORMAT.md "Sharded
// checkpoints"); `diff` and `convert` refuse one; a directory without index.wick is refused as
// any directory is.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_testing.h"
#include "table.h"
#include "wick/io/sharded/sharded_reader.h"
#include "wick/io/sharded/sharded_save.h"

namespace wick {
namespace {

using testing::run_wick;
namespace fs = std::filesystem;

/// A sharded checkpoint of sample_value() over `world_size` shards, with the metadata
/// {"note": "test"}.
struct ShardedFixture {
  testing::TempDir tmp;
  std::string dir = (tmp / "ckpt").string();

  explicit ShardedFixture(int world_size) {
    SaveOptions options;
    options.metadata = Dict{{"note", "test"}};
    io::save_sharded(testing::sample_value(), dir, world_size, options);
  }
  /// The path of shard `rank` of `world_size`.
  fs::path shard(int rank, int world_size) const {
    char name[64];
    std::snprintf(name, sizeof name, "shard-%05d-of-%05d.wick", rank, world_size);
    return fs::path(dir) / name;
  }
  /// The path of the index.
  fs::path index() const { return fs::path(dir) / "index.wick"; }
};

/// "1234 bytes (1.2 KiB)", as info prints sizes.
std::string bytes_text(uint64_t n) {
  return std::to_string(n) + " bytes (" + cli::human_bytes(n) + ")";
}

/// The head of `wick info DIR` for the checkpoint `dir`, from the library's own account.
std::string expected_head(const std::string& dir) {
  const io::ShardedReader reader(dir);
  const io::ShardedInfo& i = reader.info();
  const std::string shards =
      std::to_string(i.world_size) + (i.world_size == 1 ? " shard" : " shards");
  return "file:        " + dir + "\nformat:      wick sharded checkpoint (" + shards +
         ")\nlayout:      1\nworld size:  " + std::to_string(i.world_size) +
         "\ntensors:     2\npieces:      " + std::to_string(i.piece_count) +
         "\npayload:     " + bytes_text(32) + "\nindex size:  " + bytes_text(i.index_size) +
         "\ntotal size:  " + bytes_text(i.total_size) + "\nmetadata:\n  note: 'test'\nentries:\n";
}

/// `wick info DIR` on sample_value() over `world_size` shards: the head, then every leaf.
void expect_info_text(int world_size) {
  const ShardedFixture f(world_size);
  const auto r = run_wick({"info", f.dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const std::string head = expected_head(f.dir);
  EXPECT_EQ(r.out.substr(0, head.size()), head) << r.out;
  // The table lists every leaf in tree order: tensors with their pieces, then the other values.
  const std::vector<io::ShardedEntry> entries = io::ShardedReader(f.dir).entries();
  ASSERT_EQ(entries.size(), 2u);
  std::ostringstream table;
  cli::Table t({"path", "dtype", "shape", "bytes", "pieces", ""},
               {false, false, false, true, true, false});
  for (const io::ShardedEntry& e : entries) {
    t.add({e.path, "float32", shape_str(e.shape), std::to_string(e.nbytes),
           std::to_string(e.pieces), ""});
  }
  t.add({"/epoch", "int", "-", "-", "-", "3"});
  t.add({"/history/0", "float", "-", "-", "-", "1.5"});
  t.add({"/history/1", "string", "-", "-", "-", "'text'"});
  t.print(table, "  ");
  EXPECT_EQ(r.out.substr(head.size()), table.str()) << r.out;
}

TEST(ShardedCli, InfoOneShard) {
  expect_info_text(1);
}

TEST(ShardedCli, InfoThreeShardsCountsEachTensorsPieces) {
  expect_info_text(3);
  const ShardedFixture f(3);
  uint64_t pieces = 0;
  for (const io::ShardedEntry& e : io::ShardedReader(f.dir).entries())
    pieces += e.pieces;
  EXPECT_GE(pieces, 3u);  // 32 bytes cut over 3 shards
}

/// `wick info --json DIR` on sample_value() over `world_size` shards, against the reader.
void expect_info_json(int world_size) {
  const ShardedFixture f(world_size);
  const auto r = run_wick({"info", "--json", f.dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const io::ShardedReader reader(f.dir);
  const io::ShardedInfo& i = reader.info();
  EXPECT_EQ(j["file"], f.dir);
  EXPECT_EQ(j["format"], "wick-sharded");
  EXPECT_EQ(j["format_description"], "wick sharded checkpoint (" + std::to_string(world_size) +
                                         (world_size == 1 ? " shard)" : " shards)"));
  EXPECT_EQ(j["layout_version"], 1);
  EXPECT_EQ(j["world_size"], world_size);
  EXPECT_EQ(j["index_size"], i.index_size);
  EXPECT_EQ(j["total_size"], i.total_size);
  EXPECT_EQ(j["metadata"], nlohmann::json({{"note", "test"}}));
  const std::vector<io::ShardedEntry> entries = reader.entries();
  ASSERT_EQ(j["entries"].size(), entries.size() + 3);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const auto& e = j["entries"][k];
    EXPECT_EQ(e["path"], entries[k].path);
    EXPECT_EQ(e["kind"], "tensor");
    EXPECT_EQ(e["dtype"], "float32");
    EXPECT_EQ(e["shape"].get<Shape>(), entries[k].shape);
    EXPECT_EQ(e["bytes"], entries[k].nbytes);
    EXPECT_EQ(e["pieces"], entries[k].pieces);
    EXPECT_EQ(e["first_shard"], entries[k].first_shard);
  }
  EXPECT_EQ(j["entries"][2], nlohmann::json({{"path", "/epoch"}, {"kind", "int"}, {"value", 3}}));
  EXPECT_EQ(j["totals"], nlohmann::json({{"entries", 2},
                                         {"values", 3},
                                         {"tensors", 2},
                                         {"pieces", i.piece_count},
                                         {"payload_bytes", 32}}));
}

TEST(ShardedCli, InfoJsonOneShard) {
  expect_info_json(1);
}

TEST(ShardedCli, InfoJsonThreeShards) {
  expect_info_json(3);
}

TEST(ShardedCli, VerifyIntactCheckpoint) {
  for (int world_size : {1, 3}) {
    const ShardedFixture f(world_size);
    const auto r = run_wick({"verify", f.dir});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.rfind(f.dir + ": OK (2 tensors, ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(", wick sharded checkpoint (" + std::to_string(world_size)),
              std::string::npos)
        << r.out;
    EXPECT_TRUE(r.err.empty()) << r.err;
    const auto j = nlohmann::json::parse(run_wick({"verify", "--json", f.dir}).out);
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["files"][0]["format"], "wick-sharded");
    EXPECT_EQ(j["files"][0]["shards"], world_size);
  }
}

TEST(ShardedCli, VerifyNamesTheShardOfAFlippedPayloadByte) {
  const ShardedFixture f(3);
  const fs::path shard = f.shard(1, 3);
  const std::vector<io::EntryInfo> pieces = io::Reader(shard).entries();
  ASSERT_FALSE(pieces.empty());
  testing::flip_byte(shard, pieces[0].offset + 64);
  // info reads the index alone.
  EXPECT_EQ(run_wick({"info", f.dir}).code, 0);
  const auto r = run_wick({"verify", f.dir});
  EXPECT_EQ(r.code, 5) << r.out << r.err;
  const std::string head = f.dir + ": corrupt (wick sharded checkpoint (3 shards)) (1 problem)\n" +
                           "  shard-00001-of-00003.wick: ";
  EXPECT_EQ(r.out.rfind(head, 0), 0u) << r.out;
  EXPECT_NE(r.out.find("checksum"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(run_wick({"verify", "--json", f.dir}).out);
  const auto& problem = j["files"][0]["problems"].at(0);
  EXPECT_EQ(j["exit_code"], 5);
  EXPECT_EQ(j["files"][0]["status"], "corrupt");
  EXPECT_EQ(problem["file"], "shard-00001-of-00003.wick");
  EXPECT_FALSE(problem["offset"].is_null()) << problem;
}

TEST(ShardedCli, MissingShardIsUnreadableAndNamed) {
  const ShardedFixture f(3);
  fs::remove(f.shard(2, 3));
  EXPECT_EQ(run_wick({"info", f.dir}).code, 0);  // the index alone
  const auto r = run_wick({"verify", f.dir});
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_EQ(r.out.rfind(f.dir + ": unreadable (wick sharded checkpoint (3 shards))\n" +
                            "  shard-00002-of-00003.wick: ",
                        0),
            0u)
      << r.out;
  const auto j = nlohmann::json::parse(run_wick({"verify", "--json", f.dir}).out);
  EXPECT_EQ(j["files"][0]["problems"].at(0)["file"], "shard-00002-of-00003.wick");
}

TEST(ShardedCli, AShardThatIsAFifoIsRefusedWithoutBlocking) {
  const ShardedFixture f(2);
  fs::remove(f.shard(0, 2));
  ASSERT_EQ(mkfifo(f.shard(0, 2).c_str(), 0600), 0);
  const auto r = run_wick({"verify", f.dir}, std::chrono::seconds(10));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("shard-00000-of-00002.wick: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FIFO"), std::string::npos) << r.out;
}

TEST(ShardedCli, TruncatedIndexIsCorrupt) {
  const ShardedFixture f(3);
  auto bytes = testing::read_bytes(f.index());
  bytes.pop_back();
  testing::write_bytes(f.index(), bytes);
  const auto info = run_wick({"info", f.dir});
  EXPECT_EQ(info.code, 5) << info.out << info.err;
  EXPECT_TRUE(info.out.empty()) << info.out;
  EXPECT_EQ(info.err.rfind("wick: " + f.dir + " is corrupt: index.wick: ", 0), 0u) << info.err;
  const auto verify = run_wick({"verify", f.dir});
  EXPECT_EQ(verify.code, 5) << verify.out;
  EXPECT_NE(verify.out.find("\n  index.wick: "), std::string::npos) << verify.out;
}

TEST(ShardedCli, DirectoryWithoutIndexIsRefusedAsADirectory) {
  const testing::TempDir tmp;
  const std::string dir = (tmp / "empty").string();
  fs::create_directory(dir);
  for (const char* command : {"info", "cat"}) {
    const auto r = run_wick({command, dir});
    EXPECT_EQ(r.code, 3) << command;
    EXPECT_EQ(r.err, "wick: cannot read " + dir + ": not a regular file (a directory)\n")
        << command;
  }
  const auto r = run_wick({"verify", dir});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out,
            dir + ": unreadable\n  cannot read " + dir + ": not a regular file (a directory)\n");
}

TEST(ShardedCli, CatPrintsATensorANodeOrTheWholeTree) {
  const ShardedFixture f(3);
  const Value value = testing::sample_value();
  std::ostringstream whole;
  whole << value << '\n';
  const auto all = run_wick({"cat", f.dir});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(all.out, whole.str());
  for (const char* path : {"/model/hidden/weight", "model.hidden.weight"}) {
    const auto r = run_wick({"cat", f.dir, path});
    ASSERT_EQ(r.code, 0) << path << "\n" << r.err;
    EXPECT_EQ(r.out, "tensor([[0., 1., 2.],\n        [3., 4., 5.]])\n") << path;
  }
  const auto epoch = run_wick({"cat", f.dir, "/epoch"});
  ASSERT_EQ(epoch.code, 0) << epoch.err;
  EXPECT_EQ(epoch.out, "3\n");
  const auto hidden = run_wick({"cat", f.dir, "/model/hidden"});
  ASSERT_EQ(hidden.code, 0) << hidden.err;
  std::ostringstream node;
  node << value.dict().at("model").dict().at("hidden") << '\n';
  EXPECT_EQ(hidden.out, node.str());
  const auto missing = run_wick({"cat", f.dir, "/model/hidden/wieght"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no entry '/model/hidden/wieght' in " + f.dir +
                             "; similar: '/model/hidden/weight'"),
            std::string::npos)
      << missing.err;
}

TEST(ShardedCli, DiffAndConvertRefuseACheckpointDirectory) {
  const ShardedFixture f(2);
  const std::string file = (f.tmp / "model.wick").string();
  testing::save_sample(file);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"diff", f.dir, file},
                                               {"diff", file, f.dir},
                                               {"convert", f.dir, (f.tmp / "out.wick").string()}}) {
    const auto r = run_wick(args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_EQ(r.err, "wick: " + f.dir +
                         " is a sharded checkpoint directory; only info, verify and cat read "
                         "one\n")
        << args[0];
  }
  EXPECT_FALSE(fs::exists(f.tmp / "out.wick"));
}

}  // namespace
}  // namespace wick
