// Concurrency: readers loading a path in a loop while other processes (and threads) keep saving
// to it always get one complete, valid checkpoint, and concurrent saves never break each other.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>

#include "common/file.h"
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

TEST(Concurrency, SavesOfBothTempSchemesShareATargetWhileDeadTempFilesAppear) {
  // Threads save one target through the unnamed and the named temp-file schemes in turn, while
  // another keeps creating dead saves' files under the link name. Every save must succeed,
  // every read see one whole save, and no temp file outlive the last save.
  using Temp = io::detail::AtomicFile::Temp;
  ScratchDir dir;
  const auto path = dir / "ckpt.wick";
  const auto link_name = dir / ".ckpt.wick.wick-tmp-000000000000";
  constexpr int kThreads = 3, kSavesEach = 200;
  constexpr std::size_t kBytes = 64 << 10;
  auto save_one = [&](char fill, Temp temp) {
    io::detail::AtomicFile f(path, temp);
    const std::string bytes(kBytes, fill);
    f.sink().write(bytes.data(), bytes.size());
    f.commit(false);
  };
  save_one('a', Temp::kAuto);
  std::atomic<int> failures{0}, saves{0}, reads{0}, dead{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSavesEach; ++i) {
        try {
          save_one(static_cast<char>('a' + (t * kSavesEach + i) % 26),
                   (t + i) % 2 == 0 ? Temp::kAuto : Temp::kNamed);
          ++saves;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "saver %d: %s\n", t, e.what());
          ++failures;
        }
      }
    });
  }
  std::thread dead_saves([&] {
    while (!done) {
      // Created only where nothing is: never over a live save's file.
      const int fd = ::open(link_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::close(fd);
        ++dead;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::thread reader([&] {
    while (!done) {
      std::ifstream in(path, std::ios::binary);
      const std::string got{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (got.size() != kBytes || got.find_first_not_of(got[0]) != std::string::npos) ++failures;
      ++reads;
    }
  });
  for (int t = 0; t < kThreads; ++t)
    threads[t].join();
  done = true;
  reader.join();
  dead_saves.join();
  save_one('z', Temp::kAuto);  // removes a dead file the last ones may have left
  std::printf(
      "saves of both schemes: %d of %d succeeded, %d reads, %d dead files made, %d failures\n",
      saves.load(), kThreads * kSavesEach, reads.load(), dead.load(), failures.load());
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(saves, kThreads * kSavesEach);
  EXPECT_GT(dead, 0);
  EXPECT_EQ(count_temp_files(path), 0);
}

}  // namespace
}  // namespace wick
