// Time as the core sees it: values the adapter passes in. The core never reads a clock; it
// only compares and adds these, so tests can run days of keep-alive in microseconds.
#pragma once

#include <chrono>

namespace tern {

using clock = std::chrono::steady_clock;  // the type only: the core never calls clock::now()
using time_point = clock::time_point;
using duration = clock::duration;

}  // namespace tern
