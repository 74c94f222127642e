// Crash consistency of AsyncSaver (wick/io/async_saver.h): a process checkpointing in the
// background, SIGKILLed at any moment, leaves the complete old or the complete new checkpoint
// at the path; so does a fork-mode writer child killed at any moment, and its saver then
// reports the save as failed instead of done.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "generation_testing.h"
#include "testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using io::AsyncSaveOptions;
using io::AsyncSaver;
using io::SaveHandle;
using io::SnapshotMode;
using testing::count_temp_files;
using testing::Generations;
using testing::kSanitized;
using testing::ScratchDir;

using Clock = std::chrono::steady_clock;

// Sanitized builds run the same tests with fewer kills: each one costs several times more there.
constexpr int kKills = kSanitized ? 20 : 100;
// A writer whose parent died must give up (io/include/wick/io/async_saver.h, kFork) or finish;
// either takes milliseconds. This only bounds the wait for one that does neither.
constexpr auto kOrphanGuard = std::chrono::seconds(10);

int64_t micros_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

// 8 x 1 MiB: small enough for a hundred kills in a few seconds, large enough that a save takes
// milliseconds, so the kills land in its every phase.
const Generations kGen{8, {512, 512}};

// The tensors of one checkpoint, built once and rewritten in place for each generation, as a
// training step rewrites its parameters right after asking for a checkpoint.
struct Checkpoint {
  std::vector<Tensor> tensors;
  Checkpoint() {
    for (int i = 0; i < kGen.tensors; ++i)
      tensors.push_back(empty(kGen.shape));
  }
  Value value(int64_t g) {
    Dict d;
    for (int i = 0; i < kGen.tensors; ++i) {
      std::ranges::fill(tensors[i].span<float>(), Generations::fill(g, i));
      d.insert(Generations::name(i), tensors[i]);
    }
    d.insert("generation", g);
    return d;
  }
};

// The pids of this process's children (of any of its threads: the saver may fork from one of its
// own), from /proc/self/task/<tid>/children.
std::set<pid_t> children() {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t pid = 0;
    while (in >> pid)
      out.insert(pid);
  }
  return out;
}

// Makes this process the reaper of its orphaned descendants while it lives, so a writer child
// whose parent was killed can be waited for, instead of going on unseen under init.
class Subreaper {
 public:
  Subreaper() {
    int was = 0;
    if (::prctl(PR_GET_CHILD_SUBREAPER, &was) == 0) was_ = was;
    ok_ = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
  }
  ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, was_); }
  Subreaper(const Subreaper&) = delete;
  Subreaper& operator=(const Subreaper&) = delete;
  bool ok() const { return ok_; }

 private:
  int was_ = 0;
  bool ok_ = false;
};

// Waits for every child of this process to exit (the orphaned writers the subreaper adopted).
// Returns the microseconds that took, or -1 when one was still alive after kOrphanGuard (it is
// then killed).
int64_t reap_orphans() {
  const auto t0 = Clock::now();
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == ECHILD) return micros_since(t0);
    if (pid > 0) continue;
    if (Clock::now() - t0 > kOrphanGuard) {
      for (const pid_t child : children())
        ::kill(child, SIGKILL);
      while (::waitpid(-1, &status, 0) > 0) {
      }
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Runs a process that checkpoints generations first, first + 1, ... with an AsyncSaver in `mode`
// until it is killed, or `saves` of them and exits 0 once its saver is destroyed.
pid_t spawn_trainer(Checkpoint& ckpt, const std::filesystem::path& path, SnapshotMode mode,
                    int64_t first, int saves = -1) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 0;
  try {
    AsyncSaveOptions o;
    o.mode = mode;
    AsyncSaver saver(o);
    for (int64_t g = first; saves < 0 || g < first + saves; ++g)
      saver.save(ckpt.value(g), path, Generations::options(g, g % 8 == 0));
    saver.wait();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trainer: %s\n", e.what());
    code = 1;
  }
  ::_exit(code);
}

void trainer_killed_at_random_moments(SnapshotMode mode) {
  const Subreaper subreaper;
  ASSERT_TRUE(subreaper.ok()) << "prctl(PR_SET_CHILD_SUBREAPER)";
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  save(kGen.value(0), path, Generations::options(0, false));
  // Built before the forks: each child starts saving at once.
  Checkpoint ckpt;

  // Time a whole run of three saves, so that the kills spread over the start, the snapshots,
  // the writes, the waits for a free slot, the renames and the ends of the writes.
  constexpr int kTimedSaves = 3;
  const auto t0 = Clock::now();
  const pid_t timed = spawn_trainer(ckpt, path, mode, 1, kTimedSaves);
  ASSERT_GT(timed, 0) << "fork failed";
  int timed_status = 0;
  ASSERT_EQ(::waitpid(timed, &timed_status, 0), timed);
  ASSERT_TRUE(WIFEXITED(timed_status) && WEXITSTATUS(timed_status) == 0);
  const int64_t run_us = micros_since(t0);
  ASSERT_GE(reap_orphans(), 0);
  int64_t current = -1;
  ASSERT_EQ(kGen.check(path, Generations::Mode::kRead, &current), "");
  ASSERT_EQ(current, kTimedSaves);
  const int64_t max_delay_us = std::clamp<int64_t>(run_us, 1000, 300000);
  std::printf("%s: %d async saves of 8 MiB in a child take %.1f ms; kills land 0-%.1f ms in\n",
              mode == SnapshotMode::kCopy ? "copy" : "fork", kTimedSaves,
              static_cast<double>(run_us) / 1000, static_cast<double>(max_delay_us) / 1000);

  std::mt19937 rng(mode == SnapshotMode::kCopy ? 20261207 : 20261208);
  std::uniform_int_distribution<int64_t> delay_us(0, max_delay_us);
  int consistent = 0, unchanged = 0, newer = 0, killed = 0, most_temps = 0;
  int64_t longest_orphan_us = 0;
  for (int trial = 0; trial < kKills; ++trial) {
    // Trial k's child saves generations 1000 (k + 1), 1000 (k + 1) + 1, ...
    const int64_t first = 1000 * (trial + 1);
    const pid_t pid = spawn_trainer(ckpt, path, mode, first);
    ASSERT_GT(pid, 0) << "fork failed";
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      ADD_FAILURE() << "trial " << trial << ": the trainer exited with " << WEXITSTATUS(status);
    }
    // In fork mode the trainer's writer may outlive it: wait until it gives up or finishes, so
    // the file checked is the last one any process of this trial will write.
    const int64_t orphan_us = reap_orphans();
    EXPECT_GE(orphan_us, 0) << "trial " << trial << ": a writer outlived its trainer by "
                            << "more than " << kOrphanGuard.count() << " s";
    longest_orphan_us = std::max(longest_orphan_us, orphan_us);

    int64_t g = -1;
    const auto how = trial % 2 == 0 ? Generations::Mode::kRead : Generations::Mode::kMmap;
    const std::string bad = kGen.check(path, how, &g);
    // The old checkpoint, or one this trial's trainer finished (its saves finish in order, so
    // any of its generations is a whole save).
    if (bad.empty() && (g == current || (g >= first && g < first + 1000))) {
      ++consistent;
      (g == current ? unchanged : newer) += 1;
      current = g;
    } else {
      ADD_FAILURE() << "trial " << trial << ": after the kill " << path << " is neither generation "
                    << current << " nor one of " << first << "...: " << bad;
    }
    // A killed writer leaves a temp file only between its link and its rename, and the next
    // save removes it; one writer at a time (max_in_flight 1) leaves at most one.
    const int temps = count_temp_files(path);
    EXPECT_LE(temps, 1) << "trial " << trial;
    most_temps = std::max(most_temps, temps);
  }
  std::printf(
      "%s: %d kills (%d mid-run), %d consistent: %d unchanged, %d newer; at most %d temp "
      "files; writers outlived their trainer by at most %.1f ms\n",
      mode == SnapshotMode::kCopy ? "copy" : "fork", kKills, killed, consistent, unchanged, newer,
      most_temps, static_cast<double>(longest_orphan_us) / 1000);
  EXPECT_EQ(consistent, kKills);
  // Some kills must land after a save completed, or this test tests only the first save. In
  // copy mode some must land before, too; in fork mode a killed trainer's writer usually
  // finishes its save (it gives up only at its next progress report), so a kill seldom leaves
  // the old file, and under a sanitizer none of 20 may.
  EXPECT_GT(newer, 0);
  if (mode == SnapshotMode::kCopy) {
    EXPECT_GT(unchanged, 0);
  }

  // The next save, synchronous, removes what the killed ones left.
  save(kGen.value(current + 1), path, Generations::options(current + 1, true));
  EXPECT_EQ(count_temp_files(path), 0);
  int64_t g = -1;
  EXPECT_EQ(kGen.check(path, Generations::Mode::kRead, &g), "");
  EXPECT_EQ(g, current + 1);
}

TEST(Crash, AnAsyncSaverInCopyModeKilledAtRandomMomentsLeavesACompleteCheckpoint) {
  trainer_killed_at_random_moments(SnapshotMode::kCopy);
}

TEST(Crash, AnAsyncSaverInForkModeKilledAtRandomMomentsLeavesACompleteCheckpoint) {
  trainer_killed_at_random_moments(SnapshotMode::kFork);
}

TEST(Crash, AForkModeWriterKilledAtRandomMomentsLeavesACompleteCheckpointAndAnError) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  save(kGen.value(0), path, Generations::options(0, false));
  ASSERT_TRUE(children().empty()) << "this test kills every child of the process";
  Checkpoint ckpt;
  AsyncSaveOptions o;
  o.mode = SnapshotMode::kFork;
  AsyncSaver saver(o);

  // Time one write, from save() returning to wait() returning, to spread the kills over it.
  int64_t current = 1;
  const auto t0 = Clock::now();
  SaveHandle first = saver.save(ckpt.value(current), path, Generations::options(current, false));
  const auto returned = Clock::now();
  first.wait();
  const int64_t write_us = micros_since(returned);
  std::printf("fork: save() stalls %.2f ms, the writer takes %.1f ms more\n",
              static_cast<double>(
                  std::chrono::duration_cast<std::chrono::microseconds>(returned - t0).count()) /
                  1000,
              static_cast<double>(write_us) / 1000);
  const int64_t max_delay_us = std::clamp<int64_t>(write_us * 5 / 4, 500, 200000);
  std::mt19937 rng(20261209);
  std::uniform_int_distribution<int64_t> delay_us(0, max_delay_us);

  int consistent = 0, failed = 0, failed_after_rename = 0, succeeded = 0, most_temps = 0;
  int not_found = 0;
  for (int trial = 0; trial < kKills; ++trial) {
    const int64_t next = current + 1;
    SaveHandle h = saver.save(ckpt.value(next), path, Generations::options(next, trial % 10 == 9));
    // save() returns once the fork is done: the writer is a child of this process by now,
    // unless it already ended and was reaped (this thread may lose the core for milliseconds).
    const std::set<pid_t> writers = children();
    if (writers.empty()) ++not_found;
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    for (const pid_t pid : writers)
      ::kill(pid, SIGKILL);
    // The error is thrown once, by the handle or by the saver (alternately).
    bool error = false;
    try {
      if (trial % 2 == 0) {
        h.wait();
      } else {
        saver.wait();
      }
    } catch (const IoError& e) {
      error = true;
      if (trial < 2) std::printf("a killed writer's error: %s\n", e.what());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": not an IoError: " << e.what();
      error = true;
    }
    EXPECT_TRUE(h.done());
    EXPECT_NO_THROW(h.wait()) << "trial " << trial << ": thrown twice";
    EXPECT_NO_THROW(saver.wait()) << "trial " << trial << ": thrown twice";

    int64_t g = -1;
    const auto how = trial % 2 == 0 ? Generations::Mode::kRead : Generations::Mode::kMmap;
    const std::string bad = kGen.check(path, how, &g);
    if (!bad.empty() || (g != current && g != next)) {
      ADD_FAILURE() << "trial " << trial << ": after the kill " << path << " is neither generation "
                    << current << " nor " << next << ": " << bad;
      continue;
    }
    ++consistent;
    EXPECT_FALSE(error && writers.empty()) << "trial " << trial << ": nothing was killed";
    if (error) {
      // Killed before it finished. A kill between the rename and the report may leave the new
      // file with the error, which is safe (the old one was whole until the rename).
      ++failed;
      if (g == next) ++failed_after_rename;
    } else {
      ++succeeded;
      EXPECT_EQ(g, next) << "trial " << trial << ": the save succeeded but the file is older";
    }
    current = g;
    const int temps = count_temp_files(path);
    EXPECT_LE(temps, 1) << "trial " << trial;
    most_temps = std::max(most_temps, temps);
  }
  std::printf(
      "fork: %d writer kills, %d consistent: %d reported failed (%d of them after the rename), "
      "%d done (%d writers ended before the kill); at most %d temp files\n",
      kKills, consistent, failed, failed_after_rename, succeeded, not_found, most_temps);
  EXPECT_EQ(consistent, kKills);
  // Most kills land mid-write (the delays span 1.25 writes): each must fail its save.
  EXPECT_GT(failed, 0) << "no killed writer was reported";

  // The saver goes on, and its next save removes what the killed writers left.
  const int64_t next = current + 1;
  SaveHandle h = saver.save(ckpt.value(next), path, Generations::options(next, true));
  EXPECT_NO_THROW(h.wait());
  int64_t g = -1;
  EXPECT_EQ(kGen.check(path, Generations::Mode::kRead, &g), "");
  EXPECT_EQ(g, next);
  EXPECT_EQ(count_temp_files(path), 0);
}

}  // namespace
}  // namespace wick
