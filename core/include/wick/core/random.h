#pragma once
/// \file
/// Random numbers: a small, fast generator whose whole state can be saved and restored, so a
/// training run that checkpoints its generators resumes with exactly the same random stream.

#include <array>
#include <cstdint>

#include "wick/core/tensor.h"

namespace wick {

/// xoshiro256++ seeded through splitmix64, plus the cached second Box-Muller normal.
/// Not thread-safe: give each thread its own generator.
class Generator {
 public:
  /// Seed used when none is given (PyTorch's default seed as well).
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;
  /// Bytes in the tensor get_state() returns.
  static constexpr int64_t kStateBytes = 8 * 4 + 8 + 8 + 8;

  /// A generator seeded with `seed`.
  explicit Generator(uint64_t seed = kDefaultSeed) { manual_seed(seed); }

  /// Resets the stream to the one `seed` defines.
  void manual_seed(uint64_t seed);
  /// The seed of the last manual_seed().
  uint64_t initial_seed() const noexcept { return seed_; }

  /// Next 64 random bits.
  uint64_t next_u64() noexcept;
  /// Uniform in [0, 1) with 24 random bits (every float in the grid k * 2^-24).
  float next_float() noexcept;
  /// Uniform in [0, 1) with 53 random bits.
  double next_double() noexcept;
  /// Standard normal (Box-Muller; the second value of each pair is cached).
  double next_normal() noexcept;

  /// The full state as a uint8 tensor of kStateBytes (like torch.get_rng_state()): seven
  /// little-endian u64 words — the four xoshiro words, the seed, the cached-normal flag (0/1)
  /// and the cached normal's IEEE bits (0 when none is cached).
  Tensor get_state() const;
  /// Restores a state from get_state(); ArgumentError/ShapeError for a tensor of the wrong
  /// dtype or size, FormatError for bytes no generator could have produced.
  void set_state(const Tensor& state);

  /// True when both would produce the same stream.
  bool operator==(const Generator& other) const noexcept;

 private:
  std::array<uint64_t, 4> s_{};
  uint64_t seed_ = 0;
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

/// The process-wide generator used when none is passed.
Generator& default_generator() noexcept;
/// Seeds the default generator (like torch.manual_seed).
void manual_seed(uint64_t seed);

/// Uniform samples in [0, 1) (floating dtypes only).
///@{
Tensor rand(const Shape& shape, Generator& gen, DType dtype = kFloat32);
Tensor rand(const Shape& shape, DType dtype = kFloat32);
///@}
/// Standard normal samples (floating dtypes only).
///@{
Tensor randn(const Shape& shape, Generator& gen, DType dtype = kFloat32);
Tensor randn(const Shape& shape, DType dtype = kFloat32);
///@}
/// Uniform samples in [low, high) (floating dtypes only); Linear uses it for its init.
Tensor uniform(const Shape& shape, double low, double high, Generator& gen, DType dtype = kFloat32);

}  // namespace wick
