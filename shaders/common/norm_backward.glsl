// dx of four elements of one statistics row and channel, the formulas of norm_backward_apply.comp
// (see there): d = dy, xv = x, st = (mean, invstd, Σdy(·g), Σdy(·g)·x̂), g = gamma (or 1), b = beta
// (or 0, for the fused ReLU's mask), m = elements per statistics row. MODE and MASKED are the
// calling shader's constants. norm_backward_apply and norm_backward_apply_windows share it, so the
// two give the same bits.
vec4 norm_dx(uint mode, bool masked, vec4 d, vec4 xv, vec4 st, float g, float b, float m) {
  float s = st.y;
  if (masked) d *= vec4(greaterThan(norm_affine(xv, st.x, s, g, b), vec4(0.0)));
  if (mode == 2) return d * g * s;
  vec4 xhat = (xv - st.x) * s;
  vec4 correction = (st.z + xhat * st.w) / m;
  return mode == 0 ? s * (d * g - correction) : g * s * (d - correction);
}
