#include "tools/diag/tcp_stream.h"

namespace exphone::diag {

namespace {
// Signed distance a - b in sequence space (RFC 9293 3.4: arithmetic modulo 2^32).
std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b); }
}  // namespace

void TcpDirection::segment(std::uint32_t seq, bool syn, std::span<const std::uint8_t> data,
                           const Deliver& out) {
  if (syn) {  // the SYN consumes one sequence number (RFC 9293 3.4)
    have_next_ = true;
    next_ = seq + 1;
    pending_.clear();
    pending_bytes_ = 0;
    if (data.empty()) return;
    seq += 1;
  }
  if (data.empty()) return;
  if (!have_next_) {  // capture started mid-connection: take the first data as the start
    have_next_ = true;
    next_ = seq;
  }
  std::int32_t d = seq_diff(seq, next_);
  if (d < 0) {  // retransmission, possibly overlapping new bytes
    std::size_t old = static_cast<std::size_t>(-static_cast<std::int64_t>(d));
    if (old >= data.size()) return;
    data = data.subspan(old);
    seq = next_;
    d = 0;
  }
  if (d == 0) {
    out(data);
    next_ += static_cast<std::uint32_t>(data.size());
    drain(out);
    return;
  }
  if (pending_.count(seq) == 0 && pending_bytes_ + data.size() <= kMaxPending) {
    pending_bytes_ += data.size();
    pending_.emplace(seq, std::vector<std::uint8_t>(data.begin(), data.end()));
    return;
  }
  // Too much held back: the missing bytes are not coming (lost in the capture). Skip the hole.
  ++gaps_;
  next_ = pending_.empty() ? seq : pending_.begin()->first;
  if (pending_.empty()) {
    out(data);
    next_ = seq + static_cast<std::uint32_t>(data.size());
    return;
  }
  drain(out);
  // The segment that overflowed the buffer, now against the new next_.
  if (seq_diff(seq, next_) <= 0 || pending_bytes_ + data.size() <= kMaxPending)
    segment(seq, false, data, out);
}

void TcpDirection::drain(const Deliver& out) {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    // The map is ordered by absolute number, which wraps; look for the segment at or before next_.
    std::int32_t d = seq_diff(it->first, next_);
    if (d > 0) {
      bool found = false;
      for (auto j = pending_.begin(); j != pending_.end(); ++j)
        if (seq_diff(j->first, next_) <= 0) { it = j; found = true; break; }
      if (!found) return;
      d = seq_diff(it->first, next_);
    }
    std::vector<std::uint8_t> bytes = std::move(it->second);
    pending_bytes_ -= bytes.size();
    pending_.erase(it);
    std::size_t skip = static_cast<std::size_t>(-static_cast<std::int64_t>(d));
    if (skip >= bytes.size()) continue;
    std::span<const std::uint8_t> rest(bytes.data() + skip, bytes.size() - skip);
    out(rest);
    next_ += static_cast<std::uint32_t>(rest.size());
  }
}

}  // namespace exphone::diag
