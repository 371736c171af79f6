// Atomic file writes: the new content appears whole, and a failed write leaves the old file alone.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vktrain/error.hpp>
#include <vktrain/io.hpp>

namespace fs = std::filesystem;

namespace {
std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("io: write_file_atomic replaces a file whole", "[core]") {
  fs::path directory = fs::temp_directory_path() / ("vktrain-io-" + std::to_string(::getpid()));
  fs::create_directories(directory);
  fs::path file = directory / "state.bin";
  vkt::write_file_atomic(file, std::string_view("first version"));
  CHECK(read(file) == "first version");
  vkt::write_file_atomic(file, std::string_view("second"));
  CHECK(read(file) == "second");
  // Nothing but the file itself is left behind in the directory.
  CHECK(std::distance(fs::directory_iterator(directory), fs::directory_iterator()) == 1);
  fs::remove_all(directory);
}

TEST_CASE("io: a failed write names the file and keeps the old one", "[core]") {
  fs::path directory = fs::temp_directory_path() / ("vktrain-io-fail-" + std::to_string(::getpid()));
  fs::create_directories(directory);
  fs::path file = directory / "checkpoint";
  vkt::write_file_atomic(file, std::string_view("precious"));
  // Renaming over a non-empty directory fails after the data was written: the old file is intact.
  fs::path blocker = directory / "blocked";
  fs::create_directories(blocker / "inside");
  CHECK_THROWS_WITH(vkt::write_file_atomic(blocker, std::string_view("x")),
                    Catch::Contains("blocked") && Catch::Contains("renaming"));
  CHECK_THROWS_WITH(vkt::write_file_atomic(directory / "missing" / "f", std::string_view("x")),
                    Catch::Contains("missing"));
  CHECK(read(file) == "precious");
  CHECK(std::distance(fs::directory_iterator(directory), fs::directory_iterator()) == 2);
  fs::remove_all(directory);
}
