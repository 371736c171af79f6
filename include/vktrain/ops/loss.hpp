// (to be written: the loss op family's declarations)
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {}  // namespace vkt
