// Rounding to float16 in float32 arithmetic, the same bits on every device: only scaling by powers
// of two (ldexp) and roundEven, both exact. round_to_float16 (unary.comp) and the cooperative
// matmul's staging (matmul_coopmat.comp) share it.

// The float16 value nearest x (ties to even), as a float: 11 significant bits from 2^-14 up, steps
// of 2^-24 below (float16's subnormals), ±inf from 65520 in magnitude (the tie above 65504 rounds
// to the even 65536, past float16's range). NaN and ±inf pass; the sign of zero is kept.
float round_to_half(float x) {
  if (isnan(x) || isinf(x)) return x;
  uint sign = floatBitsToUint(x) & 0x80000000u;
  float a = abs(x);
  if (a >= 65520.0) return uintBitsToFloat(sign | 0x7f800000u);
  // a's binade 2^e, with float16's subnormals (and every float32 below them) in 2^-14's quantum.
  int e = max(int(floatBitsToUint(a) >> 23) - 127, -14);
  float rounded = ldexp(roundEven(ldexp(a, 10 - e)), e - 10);
  return uintBitsToFloat(sign | floatBitsToUint(rounded));
}
