#include "clock/ntp_packet.h"

namespace exphone::clock {

namespace {

// Seconds from 1900-01-01 (NTP prime epoch) to 1970-01-01 (RFC 5905 figure 4).
constexpr std::int64_t kNtpToUnix = 2208988800LL;
constexpr std::int64_t kEra = 1LL << 32;
constexpr std::int64_t kNsPerSec = 1000000000LL;
// A round trip longer than this is no usable sample (and bounds the arithmetic).
constexpr std::int64_t kMaxDelayNs = 16 * kNsPerSec;

std::uint32_t get32(std::span<const std::uint8_t> d, std::size_t at) {
  return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) | (std::uint32_t{d[at + 2]} << 8) |
         std::uint32_t{d[at + 3]};
}
void put32(std::array<std::uint8_t, kNtpHeaderSize>& d, std::size_t at, std::uint32_t v) {
  d[at] = static_cast<std::uint8_t>(v >> 24);
  d[at + 1] = static_cast<std::uint8_t>(v >> 16);
  d[at + 2] = static_cast<std::uint8_t>(v >> 8);
  d[at + 3] = static_cast<std::uint8_t>(v);
}
NtpTimestamp get_ts(std::span<const std::uint8_t> d, std::size_t at) { return {get32(d, at), get32(d, at + 4)}; }
void put_ts(std::array<std::uint8_t, kNtpHeaderSize>& d, std::size_t at, NtpTimestamp t) {
  put32(d, at, t.seconds);
  put32(d, at + 4, t.fraction);
}

}  // namespace

Result<NtpPacket> parse_ntp_packet(std::span<const std::uint8_t> d) {
  if (d.size() < kNtpHeaderSize)
    return make_error("ntp-malformed", "NTP packet of " + std::to_string(d.size()) + " bytes, the header alone is 48");
  NtpPacket p;
  p.leap = static_cast<std::uint8_t>(d[0] >> 6);
  p.version = static_cast<std::uint8_t>((d[0] >> 3) & 7);
  p.mode = static_cast<std::uint8_t>(d[0] & 7);
  p.stratum = d[1];
  p.poll = static_cast<std::int8_t>(d[2]);
  p.precision = static_cast<std::int8_t>(d[3]);
  p.root_delay = get32(d, 4);
  p.root_dispersion = get32(d, 8);
  p.reference_id = get32(d, 12);
  p.reference = get_ts(d, 16);
  p.originate = get_ts(d, 24);
  p.receive = get_ts(d, 32);
  p.transmit = get_ts(d, 40);
  return p;
}

std::array<std::uint8_t, kNtpHeaderSize> serialize(const NtpPacket& p) {
  std::array<std::uint8_t, kNtpHeaderSize> d{};
  d[0] = static_cast<std::uint8_t>(((p.leap & 3) << 6) | ((p.version & 7) << 3) | (p.mode & 7));
  d[1] = p.stratum;
  d[2] = static_cast<std::uint8_t>(p.poll);
  d[3] = static_cast<std::uint8_t>(p.precision);
  put32(d, 4, p.root_delay);
  put32(d, 8, p.root_dispersion);
  put32(d, 12, p.reference_id);
  put_ts(d, 16, p.reference);
  put_ts(d, 24, p.originate);
  put_ts(d, 32, p.receive);
  put_ts(d, 40, p.transmit);
  return d;
}

NtpPacket make_request(NtpTimestamp transmit) {
  NtpPacket p;
  p.leap = 0;
  p.version = 4;
  p.mode = kModeClient;
  p.transmit = transmit;
  return p;
}

std::int64_t ntp_to_unix_ns(NtpTimestamp t) {
  std::int64_t secs = static_cast<std::int64_t>(t.seconds);
  if ((t.seconds & 0x80000000u) == 0) secs += kEra;  // RFC 4330 section 3: era 1 (from 2036)
  secs -= kNtpToUnix;
  std::int64_t frac_ns = static_cast<std::int64_t>((static_cast<std::uint64_t>(t.fraction) * kNsPerSec) >> 32);
  return secs * kNsPerSec + frac_ns;
}

NtpTimestamp to_ntp(std::chrono::system_clock::time_point t) {
  std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::int64_t secs = ns / kNsPerSec, rem = ns % kNsPerSec;
  if (rem < 0) {
    rem += kNsPerSec;
    secs -= 1;
  }
  NtpTimestamp out;
  out.seconds = static_cast<std::uint32_t>(static_cast<std::uint64_t>(secs + kNtpToUnix) & 0xffffffffu);
  out.fraction = static_cast<std::uint32_t>((static_cast<std::uint64_t>(rem) << 32) / kNsPerSec);
  return out;
}

std::chrono::system_clock::time_point from_ntp(NtpTimestamp t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ntp_to_unix_ns(t))));
}

std::string kiss_code(const NtpPacket& p) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) {
    char c = static_cast<char>((p.reference_id >> shift) & 0xff);
    if (c == '\0') break;
    s += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return s;
}

SntpSample compute_sample(std::int64_t t1, std::int64_t t2, std::int64_t t3, std::int64_t t4) {
  // Halves first: each difference spans at most a few NTP eras, the sum cannot overflow.
  SntpSample s;
  s.offset = std::chrono::nanoseconds((t2 - t1) / 2 + (t3 - t4) / 2);
  s.delay = std::chrono::nanoseconds((t4 - t1) - (t3 - t2));
  return s;
}

Result<SntpSample> check_reply(const NtpPacket& r, NtpTimestamp sent, std::chrono::system_clock::time_point t1,
                               std::chrono::system_clock::time_point t4) {
  // RFC 4330 section 5 / RFC 5905 section 8 (bogus packet checks): first whether this is an
  // answer to our request at all, so that a spoofed packet never reveals anything else.
  if (r.mode != kModeServer)
    return make_error("ntp-bad-packet", "reply mode " + std::to_string(r.mode) + ", a server answers with mode 4");
  if (r.version < 3 || r.version > 4)
    return make_error("ntp-bad-packet", "reply version " + std::to_string(r.version) + " (3 or 4 expected)");
  if (r.originate != sent)
    return make_error("ntp-spoofed", "reply's Originate Timestamp does not echo our Transmit Timestamp (not an "
                                     "answer to our request: ignored)");
  // RFC 4330 section 8: stratum 0 is a kiss-o'-death message, never a time.
  if (r.stratum == 0) return make_error("ntp-kiss-of-death", "server sent kiss-o'-death " + kiss_code(r));
  if (r.leap == kLeapAlarm || r.stratum > 15)
    return make_error("ntp-unsynchronized", "server is not synchronized (LI " + std::to_string(r.leap) + ", stratum " +
                                                std::to_string(r.stratum) + ")");
  if (r.transmit.zero() || r.receive.zero())
    return make_error("ntp-bad-packet", "reply has a zero receive or transmit timestamp");
  std::int64_t n1 = std::chrono::duration_cast<std::chrono::nanoseconds>(t1.time_since_epoch()).count();
  std::int64_t n4 = std::chrono::duration_cast<std::chrono::nanoseconds>(t4.time_since_epoch()).count();
  // Local times outside what the RFC 4330 section 3 era rule can express (1968-2104) are no
  // usable T1/T4 (and could overflow the arithmetic).
  constexpr std::int64_t kLo = (kEra / 2 - kNtpToUnix) * kNsPerSec, kHi = (kEra + kEra / 2 - kNtpToUnix) * kNsPerSec;
  if (n1 < kLo || n1 > kHi || n4 < kLo || n4 > kHi)
    return make_error("ntp-bad-packet", "local clock outside 1968-2104 (RFC 4330 section 3)");
  std::int64_t n2 = ntp_to_unix_ns(r.receive), n3 = ntp_to_unix_ns(r.transmit);
  if (n4 < n1 || n4 - n1 > kMaxDelayNs)
    return make_error("ntp-bad-packet", "local clock went backwards or the round trip took too long");
  if (n3 < n2 || n3 - n2 > kMaxDelayNs)
    return make_error("ntp-bad-packet", "server transmit time is before its receive time");
  SntpSample s = compute_sample(n1, n2, n3, n4);
  // Allow a little slack for clock granularity (RFC 5905 section 8 clamps delay at precision).
  if (s.delay.count() < -1000000)
    return make_error("ntp-bad-packet", "negative round-trip delay");
  if (s.delay.count() < 0) s.delay = std::chrono::nanoseconds(0);
  s.stratum = r.stratum;
  return s;
}

}  // namespace exphone::clock
