// Reading captures for `exphone diag`: libpcap opens pcap and pcapng alike (pcap_open_offline),
// and this file decodes the link layer (Ethernet incl. 802.1Q, Linux cooked SLL/SLL2, BSD
// loopback DLT_NULL/DLT_LOOP, raw IP), IPv4 (RFC 791) / IPv6 (RFC 8200) and UDP (RFC 768) / TCP
// (RFC 9293) headers into plain packets. Nothing is reassembled here (see tcp_stream.h); IP
// fragments other than whole datagrams are counted and skipped.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::diag {

// An IP address (4 or 16 bytes, as text) and a port.
struct Endpoint {
  std::string ip;  // "127.0.0.1", "::1"
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  auto operator<=>(const Endpoint&) const = default;
};
std::string to_string(const Endpoint& e);  // "1.2.3.4:5060", "[::1]:5060"

enum class L4 { kUdp, kTcp };

struct Packet {
  double time = 0;  // seconds since the epoch, from the capture header
  L4 l4 = L4::kUdp;
  Endpoint src, dst;
  // TCP only
  std::uint32_t seq = 0;
  bool syn = false, fin = false, rst = false;
  std::vector<std::uint8_t> payload;
};

struct CaptureStats {
  std::string format;  // "pcap" or "pcapng"
  int linktype = 0;
  std::uint64_t frames = 0;
  std::uint64_t decoded = 0;            // frames that yielded a UDP or TCP packet
  std::uint64_t skipped_non_ip = 0;     // ARP, other ethertypes, other protocols (ICMP, ...)
  std::uint64_t skipped_fragments = 0;  // IP fragments (not reassembled)
  std::uint64_t malformed = 0;          // headers that run past the captured bytes
  bool truncated = false;               // the file ended in the middle of a record
  std::string truncation_error;
};

// Decodes one frame of the given linktype. Returns false (and counts why in stats) when the
// frame carries no UDP/TCP packet.
bool decode_frame(int linktype, const std::uint8_t* data, std::size_t caplen, double time,
                  Packet& out, CaptureStats& stats);

// Reads every frame of a capture file and hands the decoded packets to `sink`. Errors:
// diag-open-failed (missing, not a capture: libpcap's reason), diag-unsupported-linktype.
// A file cut short in the middle of a record is not an error: stats.truncated is set and the
// frames before it are kept.
Result<CaptureStats> read_capture(const std::string& path,
                                  const std::function<void(const Packet&)>& sink);

}  // namespace exphone::diag
