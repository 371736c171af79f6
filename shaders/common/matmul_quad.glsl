// Four consecutive floats of row `row` of a stored (rows, cols) matrix, A or B (of_a, a constant
// at every call), from column `col` (a multiple of 4), zero past its edges: one vec4 load where
// VEC4_A / VEC4_B say the operand allows it, else four bounds-checked floats. The includer
// declares the buffers a / a4 (binding 0) and b / b4 (binding 1) and the two constants
// (shaders/matmul.comp, shaders/common/matmul_coopmat_tiles.glsl).
vec4 quad(bool of_a, uint base, uint row, uint col, uint rows, uint cols) {
  if (row >= rows || col >= cols) return vec4(0.0);
  const uint at = base + row * cols + col;
  if (of_a && VEC4_A) return a4[at / 4];
  if (!of_a && VEC4_B) return b4[at / 4];
  vec4 v = vec4(0.0);
  [[unroll]] for (uint e = 0; e < 4; ++e) {
    if (col + e >= cols) break;
    if (of_a) v[e] = a[at + e];
    else v[e] = b[at + e];
  }
  return v;
}
