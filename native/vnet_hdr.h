// struct virtio_net_hdr_mrg_rxbuf, spelt out because <linux/virtio_net.h> does not compile as C++
// (a member is named `class`). Layout per the virtio spec, little-endian on x86.
#pragma once
#include <cstdint>

namespace mqb {

struct VnetHdr {
  uint8_t flags;     // VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, DATA_VALID = 2
  uint8_t gso_type;  // NONE 0, TCPV4 1, UDP 3, TCPV6 4, ECN 0x80
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;  // the mrg_rxbuf extension
} __attribute__((packed));

static_assert(sizeof(VnetHdr) == 12, "virtio_net_hdr_mrg_rxbuf is 12 bytes");

}  // namespace mqb
