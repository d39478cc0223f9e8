// In-order TCP reassembly for one direction of one connection (RFC 9293 3.4 sequence numbers),
// for SIP over TCP and TLS detection. Bounded: out-of-order segments are held up to
// kMaxPending bytes; beyond that, or when a segment never arrives, the hole is skipped and
// counted as a gap (a capture that dropped packets must not stall or grow memory).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

namespace exphone::diag {

class TcpDirection {
 public:
  static constexpr std::size_t kMaxPending = 256 * 1024;
  using Deliver = std::function<void(std::span<const std::uint8_t>)>;

  // One segment as captured; delivers the bytes that are now in order.
  void segment(std::uint32_t seq, bool syn, std::span<const std::uint8_t> data, const Deliver& out);
  std::uint64_t gaps() const { return gaps_; }

 private:
  void drain(const Deliver& out);
  bool have_next_ = false;
  std::uint32_t next_ = 0;
  std::map<std::uint32_t, std::vector<std::uint8_t>> pending_;  // by absolute sequence number
  std::size_t pending_bytes_ = 0;
  std::uint64_t gaps_ = 0;
};

}  // namespace exphone::diag
