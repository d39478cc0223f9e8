#include "media/ice_lite.h"

#include "core/random.h"

namespace exphone::media {
namespace {

// RFC 8839 5.4 ice-char = ALPHA / DIGIT / "+" / "/": 64 symbols, 6 bits each.
std::string random_ice_chars(std::size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto bytes = random_bytes(n);
  std::string s;
  for (auto b : bytes) s += kChars[b & 63];
  return s;
}

std::vector<std::uint8_t> address_bytes(const boost::asio::ip::address& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return {b.begin(), b.end()};
  }
  auto b = a.to_v6().to_bytes();
  return {b.begin(), b.end()};
}

}  // namespace

IceCredentials IceCredentials::generate() { return {random_ice_chars(8), random_ice_chars(24)}; }

std::uint32_t host_candidate_priority(int component) {
  return (126u << 24) | (65535u << 8) | static_cast<std::uint32_t>(256 - component);
}

IceLiteAgent::Outcome IceLiteAgent::on_stun(std::span<const std::uint8_t> datagram,
                                            const boost::asio::ip::udp::endpoint& from) {
  Outcome out;
  auto m = parse_stun(datagram);
  // Only requests get answers; indications (consent keepalives of old peers) and responses
  // (we send no requests) are dropped (RFC 8489 6.3).
  if (!m || m->type != kStunBindingRequest) {
    if (!m) ++stats_.rejected;
    return out;
  }
  auto reject = [&](int code, std::string_view reason) {
    ++stats_.rejected;
    out.response = StunBuilder(kStunBindingError, m->transaction_id).add_error(code, reason).finish(std::nullopt);
    return out;
  };
  // RFC 8445 7.3 -> RFC 8489 9.1.3: USERNAME "<our ufrag>:<their ufrag>" and a valid
  // MESSAGE-INTEGRITY under our password, else 400/401. FINGERPRINT is mandatory in ICE (7.1).
  if (m->has(kStunFingerprint) && !check_fingerprint(*m)) {  // not a STUN message for us at all
    ++stats_.rejected;
    return out;
  }
  auto user = m->username();
  if (!user || !m->has(kStunMessageIntegrity)) return reject(400, "Bad Request");
  const auto colon = user->find(':');
  if (colon == std::string_view::npos || user->substr(0, colon) != local_.ufrag ||
      (remote_ufrag_ && user->substr(colon + 1) != *remote_ufrag_))
    return reject(401, "Unauthenticated");
  if (!check_message_integrity(*m, local_.pwd)) return reject(401, "Unauthenticated");
  if (auto unknown = m->unknown_required(); !unknown.empty()) return reject(420, "Unknown Attribute");
  ++stats_.requests;
  out.valid = true;
  if (!first_valid_) first_valid_ = from;
  // RFC 8445 7.3.1.5 / 8.2: USE-CANDIDATE from the controlling agent nominates this pair.
  if (m->has(kStunUseCandidate)) {
    ++stats_.nominations;
    out.nominated = true;
    nominated_ = from;
  }
  out.response = StunBuilder(kStunBindingSuccess, m->transaction_id)
                     .add_xor_address(address_bytes(from.address()), from.port())
                     .finish(local_.pwd);
  return out;
}

}  // namespace exphone::media
