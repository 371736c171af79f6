#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace samples {

Progress::Progress(std::string label, int64_t total_batches, int64_t first_batch)
    : label_(std::move(label)),
      total_(total_batches),
      first_(first_batch),
      terminal_(::isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double eta_seconds(double elapsed, int64_t done, int64_t first, int64_t total) {
  int64_t run = done - first;
  return run > 0 ? elapsed * double(total - done) / double(run) : 0.0;
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t batches_done, int64_t images_done, double running_loss) {
  auto now = std::chrono::steady_clock::now();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  bool last = batches_done == total_;
  // A terminal redraws ten times a second; a log gets a line every 10 seconds.
  if (!last && since_print < (terminal_ ? 0.1 : 10.0)) return;
  last_print_ = now;
  double elapsed = seconds();
  double rate = elapsed > 0 ? double(images_done) / elapsed : 0.0;
  double eta = eta_seconds(elapsed, batches_done, first_, total_);
  char loss[32];
  if (std::isnan(running_loss)) std::snprintf(loss, sizeof loss, "   -   ");
  else std::snprintf(loss, sizeof loss, "%.4f", running_loss);
  if (terminal_) {
    const int width = 30;
    int filled = total_ > 0 ? int(width * batches_done / total_) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::printf("\r%s [%s] %lld/%lld  %.0f img/s  loss %s  ETA %3.0fs ", label_.c_str(), bar.c_str(),
                (long long)batches_done, (long long)total_, rate, loss, eta);
  } else {
    std::printf("%s batch %lld/%lld  %.0f img/s  loss %s  ETA %.0fs\n", label_.c_str(),
                (long long)batches_done, (long long)total_, rate, loss, eta);
  }
  std::fflush(stdout);
}

void Progress::finish() {
  if (terminal_) std::printf("\r\033[K");
  std::fflush(stdout);
}

}  // namespace samples
