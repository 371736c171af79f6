// The normalized and affine value of an element, (x − mean)·invstd·gamma + beta, with gamma 1 and
// beta 0 when the op has none (exact: no value changes but −0, which becomes +0, on neither side of
// 0). norm_apply writes it (through a fused ReLU), and the backward kernels recompute it from x to
// find where that ReLU passed the gradient instead of reading the forward's output. Both must get
// the same bits, so the arithmetic is `precise`: exactly as written, never contracted into a fused
// multiply-add that one compilation might form and another not.

float norm_affine(float x, float mean, float invstd, float gamma, float beta) {
  precise float xhat = (x - mean) * invstd;
  precise float v = xhat * gamma + beta;
  return v;
}

vec4 norm_affine(vec4 x, float mean, float invstd, float gamma, float beta) {
  precise vec4 xhat = (x - mean) * invstd;
  precise vec4 v = xhat * gamma + beta;
  return v;
}
