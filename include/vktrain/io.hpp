// Files: everything vktrain writes (checkpoints, reports, caches) is written atomically, so a crash
// or a full disk mid-write never destroys the previous version of a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace vkt {

// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory. On any failure the temporary file is removed, `path` is untouched, and vkt::Error names
// the file and the reason.
void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

}  // namespace vkt
