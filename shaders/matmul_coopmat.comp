#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "half.glsl"
// C (M, N) = op(A) (M, K) · op(B) (K, N) [+ bias (N,)] [activation], batched over workgroup z,
// with op(A) and op(B) rounded to float16 and float32 sums, on cooperative matrices
// (VK_NV_cooperative_matrix: 16x16x16 subgroup fragments, float16 x float16 + float32: tensor
// cores). MatmulPrecision::float16_inputs where cooperative_matmul_available (lib/ops/
// matmul_coopmat.cpp).
//
// A workgroup of SG_M x SG_N subgroups computes a BM x BN tile of C, each subgroup FM x FN
// fragments of 16x16 (BM = 16·FM·SG_M, BN = 16·FN·SG_N). Each BK-deep stage of op(A) and op(B)
// is read from float32 memory in fours (consecutive invocations along the stored operand's
// contiguous dimension, one vec4 where VEC4_A / VEC4_B; zero past the edges, so any M, N, K),
// rounded to float16 (half.glsl: the same bits
// as round_to_float16) and stored row-major in shared memory, rows padded by 8 halves so
// fragment loads stay on 16 bytes and rows fall on different banks. Products of float16 values
// are exact in float32; the sums' order is the hardware's, so results differ from the float32
// kernels' on rounded inputs by float32 rounding only (tests/ops/test_matmul_precision.cpp).
// The next stage is fetched into registers while the current one is multiplied, and written to
// the tiles after it. Epilogue: each accumulator fragment goes through the subgroup's 16x16
// float scratch in shared memory, from which every lane finishes 256 / LANES elements:
// accumulate, bias, activation and the bounds of C.
// The kernel is shaders/common/matmul_coopmat_{tiles,main}.glsl on these fragment operations;
// matmul_coopmat_emulated.comp runs the same body on ordinary subgroup code, so that devices
// without the extension (lavapipe, the tests) check its tiling, staging and epilogue.
#include "matmul_coopmat_tiles.glsl"

#define FRAG_ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG_IN fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define ZERO_ACC(f, i, j) f = FRAG_ACC(0.0)
#define LOAD_A(f, e) coopMatLoadNV(f, tile_a, e, kStrideA, false)
#define LOAD_B(f, e) coopMatLoadNV(f, tile_b, e, kStrideB, false)
#define MULADD(a, b, c) coopMatMulAddNV(a, b, c)
#define STORE_SCRATCH(f, e) coopMatStoreNV(f, scratch, e, 16, false)
#include "matmul_coopmat_main.glsl"
