// (to be written: the random op family's declarations)
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {}  // namespace vkt
