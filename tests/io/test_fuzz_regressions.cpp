// Replays every input the fuzzers ever crashed on (tests/fuzz/regressions/) through the same
// decode paths as the fuzz targets (tests/fuzz/fuzz_harness.h; fuzz_sharded's packed checkpoint
// directories through tests/fuzz/sharded_harness.h): each must now load or be refused with a
// wick::FormatError, never crash or throw anything else.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "fuzz/fuzz_harness.h"
#include "fuzz/sharded_harness.h"
#include "io_testing.h"

namespace wick {
namespace {

namespace fs = std::filesystem;
using fuzz::Outcome;

struct Counts {
  int loaded = 0;
  int rejected = 0;
};

// Runs one input through all four targets' code; a crash or a foreign exception fails here.
Counts replay(const std::vector<char>& bytes) {
  Counts c;
  auto count = [&](Outcome o) { (o == Outcome::kLoaded ? c.loaded : c.rejected) += 1; };
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  count(fuzz::stream_load(data, bytes.size()));
  const fs::path& scratch = fuzz::scratch_path();
  fuzz::write_file(scratch, data, bytes.size());
  count(fuzz::path_load(scratch));
  count(fuzz::mmap_open(scratch));
  count(fuzz::load_by_name(scratch));
  return c;
}

// fuzz_sharded's inputs are checkpoint directories in its container: they replay through its
// harness, the single files through the other four.
Counts replay_sharded(const std::vector<char>& bytes) {
  Counts c;
  const auto o = fuzz::sharded_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  (o == Outcome::kLoaded ? c.loaded : c.rejected) += 1;
  return c;
}

std::vector<fs::path> files_in(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() &&
        (ext.empty() ? e.path().filename() != "README.md" : e.path().extension() == ext)) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzRegressions, EveryKeptCrashInputIsHandled) {
  const fs::path dir = fs::path(WICK_SOURCE_DIR) / "tests" / "fuzz" / "regressions";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int files = 0, handled = 0, loaded = 0;
  for (const fs::path& p : files_in(dir, "")) {
    SCOPED_TRACE(p.filename().string());
    try {
      const std::vector<char> bytes = testing::read_bytes(p);
      const Counts c = p.filename().string().starts_with("fuzz_sharded-") ? replay_sharded(bytes)
                                                                          : replay(bytes);
      ++handled;
      if (c.rejected == 0) ++loaded;
    } catch (const std::exception& e) {
      ADD_FAILURE() << p.filename()
                    << ": escaped as a non-wick::FormatError exception: " << e.what();
    }
    ++files;
  }
  std::printf("fuzz regressions: %d files, %d handled (%d load, %d refused cleanly)\n", files,
              handled, loaded, handled - loaded);
  EXPECT_EQ(handled, files);
}

TEST(FuzzRegressions, TheHarnessLoadsTheGoldenFilesOnEveryPath) {
  // The harness must not refuse valid files, or a fuzzer would only ever see errors.
  const auto golden = files_in(WICK_TEST_DATA_DIR, ".wick");
  ASSERT_FALSE(golden.empty());
  for (const fs::path& p : golden) {
    const Counts c = replay(testing::read_bytes(p));
    EXPECT_EQ(c.loaded, 4) << p.filename();
  }
}

TEST(FuzzRegressions, TheHarnessRefusesDamagedFilesCleanly) {
  const auto bytes = testing::read_bytes(fs::path(WICK_TEST_DATA_DIR) / "tied.wick");
  std::vector<char> truncated(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(replay(truncated).rejected, 4);
  std::vector<char> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_EQ(replay(flipped).rejected, 4);
  EXPECT_EQ(replay({}).rejected, 4);
}

TEST(FuzzRegressions, TheShardedHarnessLoadsValidCheckpointsAndRefusesTheConformanceFaults) {
  // Each directory of tests/conformance/sharded/ packed as fuzz_sharded's seeds are: the valid
  // ones must verify through every call, each invalid one fails at least its verify().
  const fs::path corpus = fs::path(WICK_SOURCE_DIR) / "tests" / "conformance" / "sharded";
  for (const char* sub : {"valid", "invalid"}) {
    int dirs = 0;
    for (const auto& e : fs::directory_iterator(corpus / sub)) {
      if (!e.is_directory()) continue;
      SCOPED_TRACE(e.path().filename().string());
      const std::string packed = fuzz::pack_checkpoint(fuzz::read_checkpoint_dir(e.path()));
      const Counts c = replay_sharded(std::vector<char>(packed.begin(), packed.end()));
      EXPECT_EQ(c.loaded, std::string(sub) == "valid" ? 1 : 0);
      ++dirs;
    }
    EXPECT_GT(dirs, 0) << sub;
  }
  // The container: an empty chunk is a file that is not there.
  const fuzz::CheckpointFiles files =
      fuzz::unpack_checkpoint(std::string("index") + std::string(fuzz::kFileSeparator) +
                              std::string(fuzz::kFileSeparator) + "shard 1");
  ASSERT_EQ(files.shards.size(), 2u);
  EXPECT_EQ(files.index, "index");
  EXPECT_FALSE(files.shards[0].has_value());
  EXPECT_EQ(files.shards[1], "shard 1");
  EXPECT_EQ(fuzz::pack_checkpoint(files), std::string("index") + std::string(fuzz::kFileSeparator) +
                                              std::string(fuzz::kFileSeparator) + "shard 1");
  EXPECT_EQ(replay_sharded({}).rejected, 1);  // no index.wick
}

}  // namespace
}  // namespace wick
