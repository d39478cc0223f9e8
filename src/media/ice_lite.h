// ICE-lite (RFC 8445 sections 2.5, 7.3 and 8.2) for one media component on the RTP socket, as
// WebRTC dispatch consoles need: we gather one host candidate (the socket), never send checks,
// answer the peer's Binding requests with short-term credentials (RFC 8489 9.1) and take the pair
// the controlling peer nominates (USE-CANDIDATE) as the one media goes to. A lite agent is always
// the controlled one. The peer's consent refreshes (RFC 7675) are answered the same way.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/stun.h"

namespace exphone::media {

struct IceCredentials {
  std::string ufrag;  // RFC 8839 5.4: 4..256 ice-chars, at least 24 bits of randomness
  std::string pwd;    // 22..256 ice-chars, at least 128 bits of randomness

  // Fresh credentials from the CSPRNG (ufrag 8, pwd 24 ice-chars: 48 and 144 bits).
  static IceCredentials generate();
};

// RFC 8445 5.1.2.1 priority of a host candidate: type preference 126, local preference 65535.
std::uint32_t host_candidate_priority(int component);

struct IceStats {
  std::uint64_t requests = 0;       // valid Binding requests answered with success
  std::uint64_t rejected = 0;       // wrong username or MESSAGE-INTEGRITY (answered 401) or malformed
  std::uint64_t nominations = 0;    // requests with USE-CANDIDATE
};

class IceLiteAgent {
 public:
  explicit IceLiteAgent(IceCredentials local) : local_(std::move(local)) {}

  const IceCredentials& local() const { return local_; }
  // The peer's credentials from its SDP. Until they are known (the peer's checks can arrive before
  // its answer reaches us) only our half of USERNAME is checked; MESSAGE-INTEGRITY always is.
  // (A lite agent never sends checks, so the peer's password is never needed.)
  void set_remote(std::string ufrag) { remote_ufrag_ = std::move(ufrag); }

  struct Outcome {
    std::vector<std::uint8_t> response;  // to send back to `from`; empty: nothing to send
    bool valid = false;                  // an authenticated Binding request
    bool nominated = false;              // ... carrying USE-CANDIDATE
  };
  // Handles one STUN datagram that arrived from `from` on our socket.
  Outcome on_stun(std::span<const std::uint8_t> datagram, const boost::asio::ip::udp::endpoint& from);

  // The nominated pair's remote address, else the source of the first valid check.
  std::optional<boost::asio::ip::udp::endpoint> selected() const { return nominated_ ? nominated_ : first_valid_; }
  bool nominated() const { return nominated_.has_value(); }
  const IceStats& stats() const { return stats_; }

 private:
  IceCredentials local_;
  std::optional<std::string> remote_ufrag_;
  std::optional<boost::asio::ip::udp::endpoint> nominated_;
  std::optional<boost::asio::ip::udp::endpoint> first_valid_;
  IceStats stats_;
};

}  // namespace exphone::media
