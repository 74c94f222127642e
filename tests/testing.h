#pragma once
// Shared test helpers.

#include <gtest/gtest.h>

#include <string>

/// Expects `stmt` to throw `Type` whose what() contains `substring`.
#define WICK_EXPECT_THROW_MSG(stmt, Type, substring)                              \
  do {                                                                            \
    try {                                                                         \
      (void)(stmt);                                                               \
      ADD_FAILURE() << "expected " #Type " from: " #stmt;                         \
    } catch (const Type& e) {                                                     \
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)         \
          << "message: " << e.what() << "\nexpected to contain: " << (substring); \
    } catch (const std::exception& e) {                                           \
      ADD_FAILURE() << "expected " #Type ", got another exception: " << e.what(); \
    }                                                                             \
  } while (false)
