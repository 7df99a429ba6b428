#include "agent.h"

namespace mqb::agent {

OpArea load_ops() {
  return {};
}

}  // namespace mqb::agent
