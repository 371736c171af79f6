// Progress output for the trainers: a live bar on a terminal (batches, images/s, running loss, ETA),
// plain log lines when the output is a file or a pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace samples {

// Seconds left in an epoch of `total` batches at `done`, `elapsed` seconds after starting at
// batch `first` (0 until a batch has run since).
double eta_seconds(double elapsed, int64_t done, int64_t first, int64_t total);

class Progress {
 public:
  // first_batch: where the epoch starts (a resumed epoch skips the batches it had done); the
  // rate and the ETA count only the batches run since.
  Progress(std::string label, int64_t total_batches, int64_t first_batch = 0);
  // Called after each batch; the loss is the running mean so far (NaN when not known yet).
  void update(int64_t batches_done, int64_t images_done, double running_loss);
  // Clears the bar; the caller prints the epoch summary next.
  void finish();
  double seconds() const;

 private:
  std::string label_;
  int64_t total_, first_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace samples
