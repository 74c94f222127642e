// Crash consistency: a save SIGKILLed at any moment leaves the complete old or the complete new
// checkpoint at the path, never a mix or a partial file, and the temp files of killed saves are
// removed by the next save while those of live saves are never touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "generation_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::count_temp_files;
using testing::Generations;
using testing::ScratchDir;

using testing::kSanitized;

// Sanitized builds run the same test with fewer kills: each one costs several times more there.
constexpr int kKills = kSanitized ? 40 : 160;

// Runs `fn` in a child process that exits 0 when it returns and 1 when it throws, without
// running this process's atexit handlers or destructors.
template <class Fn>
pid_t spawn(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      ::_exit(1);
    }
    ::_exit(0);
  }
  return pid;
}

TEST(Crash, SigkilledSavesLeaveTheCompleteOldOrNewCheckpoint) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const Generations gen;  // 16 x 4 MiB
  save(gen.value(0), path, gen.options(0, false));
  // Time one child's whole save, so that the kills spread over all of it: its start (fork,
  // removing stale temp files), the payloads, the rename, and its exit.
  const Value first = gen.value(1);
  const SaveOptions first_options = gen.options(1, false);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t timed = spawn([&] { save(first, path, first_options); });
  ASSERT_GT(timed, 0) << "fork failed";
  int timed_status = 0;
  ASSERT_EQ(::waitpid(timed, &timed_status, 0), timed);
  ASSERT_TRUE(WIFEXITED(timed_status) && WEXITSTATUS(timed_status) == 0);
  const auto save_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const int64_t max_delay_us = std::clamp<int64_t>(save_us * 5 / 4, 1000, 200000);
  std::printf("one 64 MiB save in a child takes %.1f ms; kills land 0-%.1f ms after the fork\n",
              static_cast<double>(save_us) / 1000, static_cast<double>(max_delay_us) / 1000);

  std::mt19937 rng(20240606);
  std::uniform_int_distribution<int64_t> delay_us(0, max_delay_us);
  int64_t current = 1;
  int consistent = 0, old = 0, fresh = 0, mid_save = 0, most_temps = 0, temps_seen = 0;
  for (int trial = 0; trial < kKills; ++trial) {
    const int64_t next = current + 1;
    // Built before the fork: the child only writes, so it starts at once.
    const Value value = gen.value(next);
    const SaveOptions options = gen.options(next, trial % 10 == 9);
    const pid_t pid = spawn([&] { save(value, path, options); });
    ASSERT_GT(pid, 0) << "fork failed";
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++mid_save;
    } else {
      ASSERT_EQ(WEXITSTATUS(status), 0) << "trial " << trial << ": the child's save failed";
    }

    int64_t g = -1;
    const auto mode = trial % 2 == 0 ? Generations::Mode::kRead : Generations::Mode::kMmap;
    const std::string bad = gen.check(path, mode, &g);
    if (bad.empty() && (g == current || g == next)) {
      ++consistent;
      (g == current ? old : fresh) += 1;
      current = g;
    } else {
      ADD_FAILURE() << "trial " << trial << ": after the kill " << path << " is neither generation "
                    << current << " nor " << next << ": " << bad;
    }
    // A save removes the temp files of the dead ones before it makes its own, so at most the
    // one of the last kill is ever there.
    const int temps = count_temp_files(path);
    EXPECT_LE(temps, 1) << "trial " << trial;
    most_temps = std::max(most_temps, temps);
    temps_seen += temps;
  }
  std::printf("kills: %d tried, %d consistent (old %d, new %d; %d killed mid-save, %d after it)\n",
              kKills, consistent, old, fresh, mid_save, kKills - mid_save);
  EXPECT_EQ(consistent, kKills);

  const int before = count_temp_files(path);
  save(gen.value(current + 1), path, gen.options(current + 1, true));
  const int after = count_temp_files(path);
  std::printf(
      "leftover temp files: at most %d after any kill (%d in all), %d before the next save, %d "
      "after it\n",
      most_temps, temps_seen, before, after);
  EXPECT_EQ(after, 0);
  int64_t g = -1;
  EXPECT_EQ(gen.check(path, Generations::Mode::kRead, &g), "");
  EXPECT_EQ(g, current + 1);
}

// Writes `name` in `dir` with a few bytes, unlocked: what a killed save leaves behind.
void touch_file(const std::filesystem::path& p) {
  std::ofstream(p, std::ios::binary) << "partial";
}

TEST(Crash, TempFilesOfDeadSavesAreRemovedAndOthersKept) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const std::vector<std::string> stale = {".ckpt.wick.wick-tmp-0123456789az",
                                          ".ckpt.wick.wick-tmp-zzzzzzzzzzzz"};
  const std::vector<std::string> kept = {
      ".ckpt.wick.wick-tmp-short",                      // not a temp name wick makes
      ".ckpt.wick.wick-tmp-ABCDEFGHIJKL",               // ditto (upper case)
      ".ckpt.wick.wick-tmp-0123456789abc",              // ditto (13 characters)
      ".other.wick.wick-tmp-0123456789az",              // another target's
      ".ckpt.wick.wick-tmp-foo.wick-tmp-abcdefghijkl",  // target ".ckpt.wick.wick-tmp-foo"'s
      "ckpt.wick.wick-tmp-0123456789az",                // not hidden
  };
  for (const auto& n : stale)
    touch_file(dir / n);
  for (const auto& n : kept)
    touch_file(dir / n);
  // A directory and a symlink with temp names are not regular files a save made.
  std::filesystem::create_directory(dir / ".ckpt.wick.wick-tmp-dddddddddddd");
  std::filesystem::create_symlink(dir / kept[0], dir / ".ckpt.wick.wick-tmp-ssssssssssss");

  save(Dict{{"x", arange(3)}}, path);
  for (const auto& n : stale)
    EXPECT_FALSE(std::filesystem::exists(dir / n)) << n;
  for (const auto& n : kept)
    EXPECT_TRUE(std::filesystem::exists(dir / n)) << n;
  EXPECT_TRUE(std::filesystem::is_directory(dir / ".ckpt.wick.wick-tmp-dddddddddddd"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir / ".ckpt.wick.wick-tmp-ssssssssssss"));
  EXPECT_EQ(load(path), Value(Dict{{"x", arange(3)}}));
}

TEST(Crash, ATempFileLockedByALiveProcessIsKept) {
  // Another process (an older save in flight) holds the lock on a temp file: a save to the same
  // target must leave it alone.
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const auto temp = dir / ".ckpt.wick.wick-tmp-livelivelive";
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t pid = spawn([&] {
    touch_file(temp);
    const int fd = ::open(temp.c_str(), O_RDONLY);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) throw std::runtime_error("cannot lock");
    char c = 1;
    if (::write(ready[1], &c, 1) != 1 || ::read(release[0], &c, 1) != 1) {
      throw std::runtime_error("pipe");
    }
  });
  ASSERT_GT(pid, 0);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  save(Dict{{"x", arange(3)}}, path);
  EXPECT_TRUE(std::filesystem::exists(temp)) << "a live process's temp file was removed";
  ASSERT_EQ(::write(release[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  save(Dict{{"x", arange(4)}}, path);  // its process is gone now
  EXPECT_FALSE(std::filesystem::exists(temp));
  for (int fd : {ready[0], ready[1], release[0], release[1]})
    ::close(fd);
}

TEST(Crash, AWriterInFlightSurvivesOtherSavesToItsTarget) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const Tensor big = randn({256, 256});
  io::Writer writer(path);
  writer.add("w", big);
  // Saves from this process and from another one, both while the writer's temp file exists.
  save(Dict{{"x", 1}}, path);
  const pid_t pid = spawn([&] { save(Dict{{"x", 2}}, path); });
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(load(path), Value(Dict{{"x", 2}}));
  EXPECT_EQ(count_temp_files(path), 1);  // the writer's own
  writer.add("step", 7);
  writer.finish();
  EXPECT_EQ(load(path), Value(Dict{{"w", big}, {"step", 7}}));
  EXPECT_EQ(count_temp_files(path), 0);
}

TEST(Crash, AnAbandonedWriterRemovesItsTempFile) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  save(Dict{{"x", 1}}, path);
  {
    io::Writer writer(path);
    writer.add("w", randn({64, 64}));
    EXPECT_EQ(count_temp_files(path), 1);
  }
  EXPECT_EQ(count_temp_files(path), 0);
  EXPECT_EQ(load(path), Value(Dict{{"x", 1}}));
}

}  // namespace
}  // namespace wick
