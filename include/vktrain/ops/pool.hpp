// (to be written: the pool op family's declarations)
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {}  // namespace vkt
