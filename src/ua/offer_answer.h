// SDP offer/answer for audio (RFC 3264) with SDES-SRTP keying (RFC 4568) under the account's
// SRTP policy:
//   off       — plain RTP/AVP, a=crypto in an offer is ignored (the answer has none);
//   optional  — best-effort SDES inside RTP/AVP (what Asterisk and 3CX expect), RTP if the peer
//               has no usable crypto;
//   mandatory — RTP/SAVP offered; offers without usable crypto are refused with 488; never RTP.
// SDES keys never go into SDP sent over a transport that is not TLS (error
// "sdes-over-insecure-transport") unless the account allows it for a lab.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/result.h"
#include "sdp/session.h"

namespace exphone::ua {

enum class SrtpPolicy { kOff, kOptional, kMandatory };

struct AudioCodec {
  std::uint8_t payload_type = 0;
  std::string name;        // "PCMU", "PCMA", "G722", "opus", "telephone-event"
  std::uint32_t clock_rate = 8000;
  std::optional<std::uint32_t> channels;
  std::string fmtp;        // e.g. "0-16" for telephone-event
};

struct MediaPolicy {
  SrtpPolicy srtp = SrtpPolicy::kOptional;
  // Offered in this order; the answerer picks the strongest it shares (first in this list).
  // AEAD first (RFC 7714), then AES-CM with the 80-bit tag before the 32-bit one; AES-256-CM
  // (RFC 6188) is what baresip's srtp module offers.
  std::vector<sdp::CryptoSuite> suites = {sdp::CryptoSuite::kAeadAes256Gcm,       sdp::CryptoSuite::kAeadAes128Gcm,
                                          sdp::CryptoSuite::kAes256CmHmacSha1_80, sdp::CryptoSuite::kAesCm128HmacSha1_80,
                                          sdp::CryptoSuite::kAes256CmHmacSha1_32, sdp::CryptoSuite::kAesCm128HmacSha1_32};
  // RFC 3551 static types for G.722 (clock 8000 although sampled at 16 kHz, section 4.5.2),
  // PCMU, PCMA; Opus per RFC 7587 (always opus/48000/2 in SDP); RFC 4733 telephone-event.
  std::vector<AudioCodec> codecs = {{9, "G722", 8000, std::nullopt, ""},
                                    {0, "PCMU", 8000, std::nullopt, ""},
                                    {8, "PCMA", 8000, std::nullopt, ""},
                                    {111, "opus", 48000, 2, "useinbandfec=1"},
                                    {101, "telephone-event", 8000, std::nullopt, "0-16"}};
  bool allow_sdes_over_insecure_transport = false;
};

// Our side of the media: where we receive RTP.
struct LocalMedia {
  std::string address;  // IP literal
  std::uint16_t port = 0;
};

// The SRTP keys of one negotiated stream: ours protect what we send, the peer's what we receive.
struct SrtpKeys {
  sdp::CryptoSuite suite = sdp::CryptoSuite::kUnknown;
  Bytes local_key_salt;
  Bytes remote_key_salt;
};

struct NegotiatedAudio {
  AudioCodec codec;                        // first codec both support, in the answerer's order
  std::optional<std::uint8_t> dtmf_pt;     // telephone-event payload type, when both have it
  std::string remote_address;
  std::uint16_t remote_port = 0;
  sdp::Direction direction = sdp::Direction::kSendRecv;  // from our point of view
  std::optional<SrtpKeys> srtp;            // nullopt: plain RTP
};

// An offer we made, kept to process the answer.
struct PendingOffer {
  sdp::Session sdp;
  std::vector<std::pair<std::uint32_t, SrtpKeys>> crypto;  // tag -> our key per offered suite
};

// Builds our offer. `signaling_secure`: the SDP will travel over TLS (sips: all the way).
Result<PendingOffer> make_offer(const MediaPolicy& policy, const LocalMedia& local, bool signaling_secure,
                                std::uint64_t session_id);

// Answers a peer's offer. On failure, the error code says why and `status` carries the SIP
// response to send: 488 for no common codec or unusable crypto under "mandatory".
struct AnswerResult {
  sdp::Session sdp;
  NegotiatedAudio audio;
};
Result<AnswerResult> answer_offer(const MediaPolicy& policy, const sdp::Session& offer, const LocalMedia& local,
                                  bool signaling_secure, std::uint64_t session_id, int* status_on_error = nullptr);

// Processes the answer to our offer.
Result<NegotiatedAudio> process_answer(const MediaPolicy& policy, const PendingOffer& offer, const sdp::Session& answer);

}  // namespace exphone::ua
