// SHA-256 (FIPS 180-4) of a byte string, as 64 lower-case hex digits: the digest of a scenario
// file that the results' configuration records. None of the project's dependencies offers one.
#pragma once

#include <string>
#include <string_view>

namespace sim::cli {

std::string sha256_hex(std::string_view bytes);

}  // namespace sim::cli
