// Thread is plain data; this file anchors the model library.
#include "sim/model/thread.hpp"
