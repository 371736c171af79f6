// (to be written: the norm op family's declarations)
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {}  // namespace vkt
