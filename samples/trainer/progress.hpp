// Progress output for the trainers: a live bar on a terminal (batches, images/s, running loss, ETA),
// plain log lines when the output is a file or a pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace samples {

class Progress {
 public:
  Progress(std::string label, int64_t total_batches);
  // Called after each batch; the loss is the running mean so far (NaN when not known yet).
  void update(int64_t batches_done, int64_t images_done, double running_loss);
  // Clears the bar; the caller prints the epoch summary next.
  void finish();
  double seconds() const;

 private:
  std::string label_;
  int64_t total_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace samples
