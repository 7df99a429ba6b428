#include "agent.h"

namespace mqb::agent {

OpArea server_ops() {
  return {};
}

}  // namespace mqb::agent
