#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "wick/core/storage.h"
#include "wick/core/storage_cache.h"

namespace wick {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Each test sets the limit it needs (sanitizer builds start with the cache off) and leaves the
// process as it found it, with nothing cached.
class StorageCache : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = storage_cache_limit();
    set_storage_cache_limit(0);  // empty
    set_storage_cache_limit(64 * kMiB);
  }
  void TearDown() override {
    set_storage_cache_limit(0);
    set_storage_cache_limit(saved_);
  }
  std::size_t saved_ = 0;
};

// True when `p` is mapped in this process (mincore fails with ENOMEM on an unmapped page).
bool mapped(const void* p) {
  unsigned char v = 0;
  return ::mincore(const_cast<void*>(p), 1, &v) == 0;
}

TEST_F(StorageCache, AFreedBufferIsReusedForTheSameSizeWithoutAMapping) {
  const StorageCacheStats s0 = storage_cache_stats();
  std::byte* first = nullptr;
  {
    auto a = Storage::allocate(6 * kMiB);
    first = a->data();
    std::memset(first, 7, 6 * kMiB);
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 6 * kMiB);  // 6 MiB is three huge pages
  EXPECT_EQ(storage_cache_stats().cached_buffers, 1u);
  // Any size that rounds to the same 2 MiB multiple takes it.
  auto b = Storage::allocate(5 * kMiB + 1);
  EXPECT_EQ(b->data(), first);
  EXPECT_EQ(b->nbytes(), 5 * kMiB + 1);
  const StorageCacheStats s1 = storage_cache_stats();
  EXPECT_EQ(s1.hits - s0.hits, 1u);
  EXPECT_EQ(s1.maps - s0.maps, 1u);
  EXPECT_EQ(s1.cached_bytes, 0u);
  // A different rounded size does not.
  auto c = Storage::allocate(10 * kMiB);
  EXPECT_NE(c->data(), first);
  EXPECT_EQ(storage_cache_stats().maps - s0.maps, 2u);
}

TEST_F(StorageCache, ZeroedAllocationsFromTheCacheAreZero) {
  { std::memset(Storage::allocate(8 * kMiB)->data(), 0xAB, 8 * kMiB); }
  auto z = Storage::allocate_zeroed(8 * kMiB);
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0u);  // it came from the cache
  std::vector<std::byte> zero(8 * kMiB);
  EXPECT_EQ(std::memcmp(z->data(), zero.data(), zero.size()), 0);
}

TEST_F(StorageCache, SmallBuffersAreNotCached) {
  { auto a = Storage::allocate(4 * kMiB - 1); }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0u);
}

TEST_F(StorageCache, TheLimitEvictsTheLongestHeldFirstAndUnmapsThem) {
  set_storage_cache_limit(12 * kMiB);
  const uint64_t unmaps0 = storage_cache_stats().unmaps;
  auto a = Storage::allocate(4 * kMiB);
  auto b = Storage::allocate(6 * kMiB);
  auto c = Storage::allocate(4 * kMiB);
  std::byte* pa = a->data();
  std::byte* pb = b->data();
  a.reset();
  b.reset();
  EXPECT_EQ(storage_cache_stats().cached_bytes, 10 * kMiB);
  c.reset();  // 14 MiB > 12: `a`, held longest, goes
  EXPECT_EQ(storage_cache_stats().cached_bytes, 10 * kMiB);
  EXPECT_EQ(storage_cache_stats().cached_buffers, 2u);
  EXPECT_EQ(storage_cache_stats().unmaps - unmaps0, 1u);
  EXPECT_FALSE(mapped(pa));
  EXPECT_TRUE(mapped(pb));
  // A buffer over the whole limit is never kept.
  { auto big = Storage::allocate(14 * kMiB); }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 10 * kMiB);
  EXPECT_EQ(storage_cache_stats().unmaps - unmaps0, 2u);
  // Lowering the limit frees down to it; release frees everything and keeps the limit.
  set_storage_cache_limit(4 * kMiB);
  EXPECT_EQ(storage_cache_stats().cached_bytes, 4 * kMiB);
  EXPECT_FALSE(mapped(pb));
  release_storage_cache();
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0u);
  EXPECT_EQ(storage_cache_limit(), 4 * kMiB);
}

TEST_F(StorageCache, ZeroLimitTurnsTheCacheOff) {
  set_storage_cache_limit(0);
  std::byte* p = nullptr;
  {
    auto a = Storage::allocate(4 * kMiB);
    p = a->data();
  }
  EXPECT_EQ(storage_cache_stats().cached_bytes, 0u);
  EXPECT_FALSE(mapped(p));
}

// A forked child (AsyncSaver's fork mode) gets no share of the cached buffers, so that the
// parent reusing them copies no page on write; buffers in use are shared as always. The child
// starts with an empty cache and allocates normally.
TEST_F(StorageCache, AForkedChildDoesNotShareCachedBuffers) {
  auto live = Storage::allocate(4 * kMiB);
  std::memset(live->data(), 3, 4 * kMiB);
  std::byte* cached = nullptr;
  {
    auto a = Storage::allocate(8 * kMiB);
    cached = a->data();
  }
  ASSERT_EQ(storage_cache_stats().cached_bytes, 8 * kMiB);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    if (mapped(cached)) code |= 1;
    if (!mapped(live->data()) || live->data()[4 * kMiB - 1] != std::byte{3}) code |= 2;
    if (storage_cache_stats().cached_bytes != 0) code |= 4;
    auto fresh = Storage::allocate_zeroed(8 * kMiB);  // must not be handed the absent buffer
    if (fresh->data()[8 * kMiB - 1] != std::byte{0}) code |= 8;
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: cached buffer mapped in the child, 2: live buffer "
                                       "missing, 4: child's cache not empty, 8: not zeroed";
  // The parent's cache is whole and its buffer still forks with the process once in use.
  EXPECT_EQ(storage_cache_stats().cached_bytes, 8 * kMiB);
  auto again = Storage::allocate(8 * kMiB);
  EXPECT_EQ(again->data(), cached);
  std::memset(again->data(), 5, 8 * kMiB);
  const pid_t pid2 = ::fork();
  ASSERT_GE(pid2, 0);
  if (pid2 == 0) ::_exit(mapped(cached) && again->data()[0] == std::byte{5} ? 0 : 1);
  ASSERT_EQ(::waitpid(pid2, &status, 0), pid2);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The limit comes from WICK_STORAGE_CACHE_BYTES when set, read once when the cache is first
// used: checked in a fresh process (a death test in the threadsafe style re-runs the binary).
TEST(StorageCacheEnvironment, TheVariableSetsTheLimit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::setenv("WICK_STORAGE_CACHE_BYTES", "12582912", 1);
  EXPECT_EXIT(std::exit(storage_cache_limit() == 12582912 ? 0 : 1), ::testing::ExitedWithCode(0),
              "");
  ::unsetenv("WICK_STORAGE_CACHE_BYTES");
}

}  // namespace
}  // namespace wick
