#pragma once
// Shared test helpers.

#include <gtest/gtest.h>

#include <string>

/// Expects `stmt` to throw `Type` whose what() contains `substring`.
#define WICK_EXPECT_THROW_MSG(stmt, Type, substring)                                         \
  do {                                                                                       \
    try {                                                                                    \
      (void)(stmt);                                                                          \
      ADD_FAILURE() << "expected " #Type " from: " #stmt;                                    \
    } catch (const Type& wick_caught_) {                                                     \
      EXPECT_NE(std::string(wick_caught_.what()).find(substring), std::string::npos)         \
          << "message: " << wick_caught_.what() << "\nexpected to contain: " << (substring); \
    } catch (const std::exception& wick_other_) {                                            \
      ADD_FAILURE() << "expected " #Type ", got another exception: " << wick_other_.what();  \
    }                                                                                        \
  } while (false)
