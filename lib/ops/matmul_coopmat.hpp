// The cooperative-matrix matmul (MatmulPrecision::float16_inputs where
// cooperative_matmul_available): lib/ops/matmul.cpp checks the arguments and resolves the
// precision; this records the dispatch of shaders/matmul_coopmat.comp.
#pragma once

#include "ops/matmul_packed.hpp"

namespace vkt::detail {

void cooperative_matmul(const Tensor& a, const Tensor& b, const Tensor& c,
                        const MatmulOptions& options, const Tensor& bias, const MatmulShape& shape);

}  // namespace vkt::detail
