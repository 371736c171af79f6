#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : enable
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "half.glsl"
// shaders/matmul_coopmat.comp with its cooperative-matrix operations emulated by ordinary code:
// an accumulator fragment is a 16x16 block of shared memory of its subgroup's (named by its
// offset), an operand fragment is just its offset in the shared tile, and each lane owns the
// elements lane, lane + LANES, ... of a block: it zeroes them, adds their 16 products in an fma
// chain, and copies them to the scratch, as the hardware spreads a fragment over the lanes. Not
// for speed: it exists so that the cooperative kernel's tiling, float16 staging and epilogue —
// everything but the fragment operations — run and are checked on devices without
// VK_NV_cooperative_matrix (VKTRAIN_COOPERATIVE_MATRIX=emulated; tests/ops/
// test_matmul_precision.cpp). Needs float16 arithmetic for the shared tiles, like the kernel, and
// 4·SG_M·SG_N·FM·FN KiB more shared memory (16 KiB at 2x2 fragments: lib/ops/matmul_coopmat.cpp
// takes those for the emulation).
#include "matmul_coopmat_tiles.glsl"

shared float accumulators[SG_M * SG_N * FM * FN * 256];

uint emulated_zero(uint f) {
  for (uint e = gl_SubgroupInvocationID; e < 256; e += LANES) accumulators[f + e] = 0.0;
  return f;
}

// The accumulator at c += (the 16x16 block of tile_a from a) · (the block of tile_b from b).
uint emulated_muladd(uint a, uint b, uint c) {
  for (uint e = gl_SubgroupInvocationID; e < 256; e += LANES) {
    const uint r = e / 16, col = e % 16;
    float s = accumulators[c + e];
    for (uint k = 0; k < 16; ++k)
      s = fma(float(tile_a[a + r * kStrideA + k]), float(tile_b[b + k * kStrideB + col]), s);
    accumulators[c + e] = s;
  }
  return c;
}

void emulated_store(uint f, uint e0) {
  for (uint e = gl_SubgroupInvocationID; e < 256; e += LANES) scratch[e0 + e] = accumulators[f + e];
}

#define FRAG_ACC uint
#define FRAG_IN uint
#define ZERO_ACC(f, i, j) f = emulated_zero(256 * ((gl_SubgroupID * FM + (i)) * FN + (j)))
#define LOAD_A(f, e) f = (e)
#define LOAD_B(f, e) f = (e)
#define MULADD(a, b, c) emulated_muladd(a, b, c)
#define STORE_SCRATCH(f, e) emulated_store(f, e)
#include "matmul_coopmat_main.glsl"
