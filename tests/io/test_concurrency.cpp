// Concurrency: readers loading a path in a loop while other processes (and threads) keep saving
// to it always get one complete, valid checkpoint, and concurrent saves never break each other.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "generation_testing.h"
#include "wick/wick.h"

namespace wick {
namespace {

using testing::count_temp_files;
using testing::Generations;
using testing::ScratchDir;

constexpr int kWriters = 2;
constexpr int kMinLoadsPerMode = 100;
constexpr int kMinSaves = 60;
// Only a guard against a writer that stopped making progress; never reached in a healthy run.
constexpr int kMaxLoads = 100000;

// Drains the progress pipe (one byte per completed save) without blocking.
int drain(int fd) {
  char buf[256];
  int n = 0;
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof buf)) > 0)
    n += static_cast<int>(r);
  return n;
}

TEST(Concurrency, LoadsWhileTwoProcessesSaveAlwaysSeeACompleteCheckpoint) {
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const Generations gen{8, {512, 512}};  // 8 x 1 MiB
  save(gen.value(0), path, gen.options(0, false));

  int stop[2], progress[2];
  ASSERT_EQ(::pipe(stop), 0);
  ASSERT_EQ(::pipe(progress), 0);
  ASSERT_EQ(::fcntl(progress[0], F_SETFL, O_NONBLOCK), 0);
  pid_t writers[kWriters];
  for (int w = 0; w < kWriters; ++w) {
    writers[w] = ::fork();
    ASSERT_GE(writers[w], 0) << "fork failed";
    if (writers[w] == 0) {
      // Writer w saves generations w+1, w+1+kWriters, ... until the stop pipe closes (every
      // process but the reader must drop its write end for that).
      ::close(stop[1]);
      ::close(progress[0]);
      int code = 0;
      try {
        for (int64_t g = 1 + w;; g += kWriters) {
          save(gen.value(g), path, gen.options(g, g % 16 == 1));
          const char c = 1;
          if (::write(progress[1], &c, 1) != 1) throw std::runtime_error("progress pipe");
          pollfd p{stop[0], POLLIN, 0};
          if (::poll(&p, 1, 0) > 0) break;  // EOF: the reader is done
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        code = 1;
      }
      ::_exit(code);
    }
  }
  ::close(stop[0]);
  ::close(progress[1]);

  const Generations::Mode modes[] = {Generations::Mode::kRead, Generations::Mode::kMmap,
                                     Generations::Mode::kByName};
  int loads = 0, consistent = 0, saves = 0, per_mode[3] = {0, 0, 0};
  std::set<int64_t> seen;
  while ((loads < 3 * kMinLoadsPerMode || saves < kMinSaves) && loads < kMaxLoads) {
    const int m = loads % 3;
    int64_t g = -1;
    const std::string bad = gen.check(path, modes[m], &g);
    ++loads;
    if (bad.empty()) {
      ++consistent;
      ++per_mode[m];
      seen.insert(g);
    } else {
      ADD_FAILURE() << "load " << loads << ": " << bad;
      if (loads - consistent > 5) break;
    }
    saves += drain(progress[0]);
  }
  ::close(stop[1]);
  for (const pid_t pid : writers) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed";
  }
  ::fcntl(progress[0], F_SETFL, 0);
  saves += drain(progress[0]);
  ::close(progress[0]);

  std::printf(
      "concurrent loads: %d tried, %d complete and consistent (read %d, mmap %d, by name %d); "
      "%d saves by %d writer processes meanwhile, %zu generations seen\n",
      loads, consistent, per_mode[0], per_mode[1], per_mode[2], saves, kWriters, seen.size());
  EXPECT_EQ(consistent, loads);
  EXPECT_GE(saves, kMinSaves);
  EXPECT_EQ(count_temp_files(path), 0) << "finished saves left temp files";
  int64_t g = -1;
  EXPECT_EQ(gen.check(path, Generations::Mode::kRead, &g), "");
}

TEST(Concurrency, ThreadsSavingOneTargetNeverBreakEachOther) {
  // Savers in one process share no lock with each other: each save's temp file stays locked
  // against the others' cleanup, and every rename succeeds.
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const Generations gen{4, {256, 256}};
  save(gen.value(0), path, gen.options(0, false));
  constexpr int kThreads = 3, kSavesEach = 40;
  std::atomic<int> failures{0}, saves{0}, loads{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> savers;
  for (int t = 0; t < kThreads; ++t) {
    savers.emplace_back([&, t] {
      for (int i = 0; i < kSavesEach; ++i) {
        const int64_t g = 1 + t + int64_t{i} * kThreads;
        try {
          save(gen.value(g), path, gen.options(g, false));
          ++saves;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "saver %d: %s\n", t, e.what());
          ++failures;
        }
      }
    });
  }
  std::thread reader([&] {
    while (!done) {
      int64_t g = -1;
      if (!gen.check(path, Generations::Mode::kRead, &g).empty()) ++failures;
      ++loads;
    }
  });
  for (auto& s : savers)
    s.join();
  done = true;
  reader.join();
  std::printf("threaded saves: %d of %d succeeded, %d concurrent loads, %d failures\n",
              saves.load(), kThreads * kSavesEach, loads.load(), failures.load());
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(saves, kThreads * kSavesEach);
  EXPECT_EQ(count_temp_files(path), 0);
}

}  // namespace
}  // namespace wick
