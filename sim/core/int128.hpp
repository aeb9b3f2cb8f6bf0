// 128-bit integers for exact intermediate arithmetic (a GCC/Clang extension, named once here).
#pragma once

namespace sim::core {
__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;
}  // namespace sim::core
