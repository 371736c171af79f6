// (row, column) of position p of a plane `width` wide: a float quotient, then one correction
// step, exact for p < 2^24 (the host checks plane sizes) and vectorized where integer division
// is not.
ivec2 plane_position(uint p, uint width) {
  int row = int((float(p) + 0.5) / float(width));
  int column = int(p) - row * int(width);
  if (column < 0) {
    row -= 1;
    column += int(width);
  } else if (column >= int(width)) {
    row += 1;
    column -= int(width);
  }
  return ivec2(row, column);
}
