// Sending into a multiqueue tap: writing a frame to queue fd i injects it into the kernel as if
// the tap's "wire" had delivered it on queue i (tun records i as the skb's receive queue). A tap
// fd takes one frame per write, so unlike AF_PACKET there is no batch syscall to use.
#pragma once
#include <memory>

#include "tx_packet.h"

namespace mqb {

// Wraps an already-open tap queue fd (opened without IFF_VNET_HDR); the fd is not closed.
std::unique_ptr<TxQueue> open_tap_tx(int fd);

}  // namespace mqb
