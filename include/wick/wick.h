#pragma once
/// \file
/// The whole public API of wick in one include.

#include "wick/core/creation.h"
#include "wick/core/dtype.h"
#include "wick/core/error.h"
#include "wick/core/half.h"
#include "wick/core/linalg.h"
#include "wick/core/ops.h"
#include "wick/core/print.h"
#include "wick/core/random.h"
#include "wick/core/reduce.h"
#include "wick/core/scalar.h"
#include "wick/core/shape.h"
#include "wick/core/simd.h"
#include "wick/core/storage.h"
#include "wick/core/tensor.h"
