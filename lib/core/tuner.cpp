#include "core/tuner.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "vktrain/io.hpp"

namespace vkt::detail {

Tuner::Tuner(std::filesystem::path file, bool enabled) : file_(std::move(file)), enabled_(enabled) {
  if (file_.empty()) return;
  // A missing, unreadable or foreign file is ignored: choices are re-timed when needed.
  std::ifstream in(file_);
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) continue;
    choices_[line.substr(0, tab)] = line.substr(tab + 1);
  }
}

bool Tuner::empty() {
  std::lock_guard lock(mutex_);
  return choices_.empty();
}

std::optional<std::string> Tuner::remembered(const std::string& key,
                                             const std::vector<std::string>& candidates) {
  std::lock_guard lock(mutex_);
  auto it = choices_.find(key);
  if (it == choices_.end() ||
      std::find(candidates.begin(), candidates.end(), it->second) == candidates.end())
    return std::nullopt;
  return it->second;
}

std::string Tuner::tune(const std::string& key, const std::vector<std::string>& candidates,
                        const std::function<double(size_t)>& seconds) {
  size_t best = 0;
  double best_seconds = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < candidates.size(); ++i) {
    double s = seconds(i);
    if (s < best_seconds) {
      best_seconds = s;
      best = i;
    }
  }
  std::lock_guard lock(mutex_);
  choices_[key] = candidates.at(best);
  save_locked();
  return candidates[best];
}

void Tuner::save_locked() const {
  if (file_.empty()) return;
  std::ostringstream text;
  for (const auto& [key, choice] : choices_) text << key << '\t' << choice << '\n';
  try {
    std::filesystem::create_directories(file_.parent_path());
    write_file_atomic(file_, text.str());
  } catch (const std::exception&) {
    // A cache that cannot be written only costs re-tuning in the next process.
  }
}

}  // namespace vkt::detail
