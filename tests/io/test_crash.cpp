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
#include <iterator>
#include <random>
#include <thread>

#include "common/file.h"
#include "generation_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::count_temp_files;
using testing::Generations;
using testing::ScratchDir;
using testing::unnamed_temp_files;

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
  // creating the temp file), the payloads, the link and rename, and its exit.
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
    // A killed save leaves a temp file only when it dies between its link and its rename (or,
    // without O_TMPFILE, at any point), and the next save removes it, so at most the one of
    // the last kill is ever there.
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

std::string contents(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A whole save through the atomic file alone, with the temp-file scheme `temp`.
void save_bytes(const std::filesystem::path& path, io::detail::AtomicFile::Temp temp,
                std::string* temp_used = nullptr) {
  io::detail::AtomicFile f(path, temp);
  f.sink().write("bytes", 5);
  f.commit(false);
  if (temp_used != nullptr) *temp_used = f.temp_path().filename().string();
}

// The name an unnamed temp file takes between its link and its rename (io/FORMAT.md, Writers).
constexpr const char* kLinkName = ".ckpt.wick.wick-tmp-000000000000";

// Holds an exclusive flock on `p` (a regular file it creates) in a child process until told to
// let go: a live save's temp file, as far as other saves can tell.
class LiveTempFile {
 public:
  explicit LiveTempFile(std::filesystem::path p) : path_(std::move(p)) {
    if (::pipe(ready_) != 0 || ::pipe(release_) != 0) throw std::runtime_error("pipe");
    pid_ = spawn([&] {
      touch_file(path_);
      const int fd = ::open(path_.c_str(), O_RDONLY);
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0) throw std::runtime_error("cannot lock");
      char c = 1;
      if (::write(ready_[1], &c, 1) != 1 || ::read(release_[0], &c, 1) != 1) {
        throw std::runtime_error("pipe");
      }
      // As a save's rename takes the name away; failing means someone removed a live file.
      if (c == 'u' && ::unlink(path_.c_str()) != 0) throw std::runtime_error("it was removed");
    });
    // Only the child's ends stay open there, so a child that fails ends the read below.
    ::close(ready_[1]);
    ::close(release_[0]);
    ready_[1] = release_[0] = -1;
    char c = 0;
    if (pid_ <= 0 || ::read(ready_[0], &c, 1) != 1) throw std::runtime_error("no child");
  }
  /// Ends the child; `unlink`: it removes the file first, as a save that renamed it would.
  void release(bool unlink) {
    if (pid_ <= 0) return;
    const char c = unlink ? 'u' : 'k';
    EXPECT_EQ(::write(release_[1], &c, 1), 1);
    int status = 0;
    EXPECT_EQ(::waitpid(pid_, &status, 0), pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid_ = -1;
  }
  ~LiveTempFile() {
    release(false);
    ::close(ready_[0]);
    ::close(release_[1]);
  }

 private:
  std::filesystem::path path_;
  int ready_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = -1;
};

TEST(Crash, NamedTempFilesOfDeadSavesAreRemovedAndOthersKept) {
  // The named scheme (file systems without O_TMPFILE): each save first removes the temp files
  // of dead saves to its target, and nothing else.
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const std::vector<std::string> stale = {".ckpt.wick.wick-tmp-0123456789az",
                                          ".ckpt.wick.wick-tmp-zzzzzzzzzzzz", kLinkName};
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

  std::string temp;
  save_bytes(path, io::detail::AtomicFile::Temp::kNamed, &temp);
  EXPECT_TRUE(temp.starts_with(".ckpt.wick.wick-tmp-")) << temp;
  for (const auto& n : stale)
    EXPECT_FALSE(std::filesystem::exists(dir / n)) << n;
  for (const auto& n : kept)
    EXPECT_TRUE(std::filesystem::exists(dir / n)) << n;
  EXPECT_TRUE(std::filesystem::is_directory(dir / ".ckpt.wick.wick-tmp-dddddddddddd"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir / ".ckpt.wick.wick-tmp-ssssssssssss"));
  EXPECT_EQ(contents(path), "bytes");
}

TEST(Crash, ANamedTempFileLockedByALiveProcessIsKept) {
  // Another process (an older save in flight) holds the lock on a temp file: a save to the same
  // target must leave it alone, and remove it once that process is gone.
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const auto temp = dir / ".ckpt.wick.wick-tmp-livelivelive";
  LiveTempFile live(temp);
  save_bytes(path, io::detail::AtomicFile::Temp::kNamed);
  EXPECT_TRUE(std::filesystem::exists(temp)) << "a live process's temp file was removed";
  live.release(false);  // its process is gone now
  save_bytes(path, io::detail::AtomicFile::Temp::kNamed);
  EXPECT_FALSE(std::filesystem::exists(temp));
}

TEST(Crash, SavesWriteAnUnnamedFileAndLinkItOnlyToRenameIt) {
  ScratchDir dir;
  if (!unnamed_temp_files(dir.path())) GTEST_SKIP() << "no O_TMPFILE here";
  const auto path = dir / "ckpt.wick";
  // A dead save's file under the link name (killed between its link and its rename) is removed;
  // the named scheme's temp files are not looked for.
  const std::vector<std::string> left = {".ckpt.wick.wick-tmp-0123456789az",
                                         ".ckpt.wick.wick-tmp-livelivelive"};
  touch_file(dir / kLinkName);
  for (const auto& n : left)
    touch_file(dir / n);
  {
    io::detail::AtomicFile probe(path);
    EXPECT_FALSE(probe.named());  // written unnamed, or this test tests nothing
  }
  {
    io::Writer writer(path);
    writer.add("w", randn({256, 256}));
    // No save looks for it before it needs the name, at the commit.
    EXPECT_TRUE(std::filesystem::exists(dir / kLinkName));
    EXPECT_EQ(count_temp_files(path), 3);
    writer.add("step", 3);
    writer.finish();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / kLinkName));
  for (const auto& n : left)
    EXPECT_TRUE(std::filesystem::exists(dir / n)) << n;
  EXPECT_EQ(load(path).at("step"), Value(3));

  // Something that is no temp file under the link name: the save takes a random name.
  std::filesystem::remove(dir / left[0]);
  std::filesystem::remove(dir / left[1]);
  std::filesystem::create_directory(dir / kLinkName);
  std::string temp;
  save_bytes(path, io::detail::AtomicFile::Temp::kAuto, &temp);
  EXPECT_NE(temp, kLinkName);
  EXPECT_TRUE(temp.starts_with(".ckpt.wick.wick-tmp-")) << temp;
  EXPECT_TRUE(std::filesystem::is_directory(dir / kLinkName));
  EXPECT_EQ(count_temp_files(path), 1);  // the directory
  EXPECT_EQ(contents(path), "bytes");
}

TEST(Crash, ASaveWaitsForAnotherSavesRenameOfTheLinkName) {
  ScratchDir dir;
  if (!unnamed_temp_files(dir.path())) GTEST_SKIP() << "no O_TMPFILE here";
  const auto path = dir / "ckpt.wick";
  LiveTempFile live(dir / kLinkName);
  io::detail::AtomicFile f(path);
  f.sink().write("bytes", 5);
  EXPECT_FALSE(f.named());
  // The other save "renames" its file (the child unlinks it, which fails if it is gone) 100 ms
  // after this commit starts.
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    live.release(true);
  });
  const auto t0 = std::chrono::steady_clock::now();
  f.commit(false);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  other.join();
  EXPECT_GE(waited, 0.09) << "the commit did not wait for the other save";
  EXPECT_EQ(f.temp_path().filename().string(), kLinkName) << "the commit did not wait";
  EXPECT_EQ(count_temp_files(path), 0);
  EXPECT_EQ(contents(path), "bytes");
}

TEST(Crash, AFailedRenameGivesTheNameBackAtOnce) {
  // The target is a directory: the rename fails. The temp file must not keep its name (the one
  // every save to the target first tries) for as long as the failed writer lives.
  for (const auto temp :
       {io::detail::AtomicFile::Temp::kAuto, io::detail::AtomicFile::Temp::kNamed}) {
    ScratchDir dir;
    const auto path = dir / "ckpt.wick";
    std::filesystem::create_directories(path / "inside");
    io::detail::AtomicFile f(path, temp);
    f.sink().write("bytes", 5);
    try {
      f.commit(false);
      ADD_FAILURE() << "renamed over a directory";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot rename"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(count_temp_files(path), 0);
    EXPECT_TRUE(std::filesystem::is_directory(path / "inside"));
  }
}

TEST(Crash, ASaveDoesNotWaitForeverForAStoppedSave) {
  // A live save that keeps the link name (a stopped process): after a second the save takes a
  // random name, and leaves the other one's file alone until that process is gone.
  ScratchDir dir;
  if (!unnamed_temp_files(dir.path())) GTEST_SKIP() << "no O_TMPFILE here";
  const auto path = dir / "ckpt.wick";
  LiveTempFile live(dir / kLinkName);
  std::string temp;
  const auto t0 = std::chrono::steady_clock::now();
  save_bytes(path, io::detail::AtomicFile::Temp::kAuto, &temp);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.9);
  EXPECT_NE(temp, kLinkName);
  EXPECT_TRUE(std::filesystem::exists(dir / kLinkName)) << "a live process's temp file was removed";
  EXPECT_EQ(contents(path), "bytes");
  live.release(false);
  save_bytes(path, io::detail::AtomicFile::Temp::kAuto, &temp);
  EXPECT_EQ(temp, kLinkName);
  EXPECT_EQ(count_temp_files(path), 0);
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
  // The writer's own temp file has a name only where O_TMPFILE is missing.
  EXPECT_EQ(count_temp_files(path), unnamed_temp_files(dir.path()) ? 0 : 1);
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
    EXPECT_EQ(count_temp_files(path), unnamed_temp_files(dir.path()) ? 0 : 1);
  }
  EXPECT_EQ(count_temp_files(path), 0);
  EXPECT_EQ(load(path), Value(Dict{{"x", 1}}));
}

}  // namespace
}  // namespace wick
