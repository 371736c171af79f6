// (to be written: the conv op family's declarations)
#pragma once

#include "vktrain/tensor.hpp"

namespace vkt {}  // namespace vkt
