// DTMF as RTP telephone-events (RFC 4733): a sender that turns digits into event packets and a
// receiver that turns event packets back into digits, one per event. Pure: the caller supplies
// the RTP timestamps and sends/receives the packets on its audio stream (same SSRC and sequence
// number space, RFC 4733 2.1), so both are tested without sockets.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::media {

// RFC 4733 3.2 table 7: events 0-9, * (10), # (11), A-D (12-15). nullopt for anything else.
std::optional<std::uint8_t> dtmf_event_code(char digit);
std::optional<char> dtmf_digit(std::uint8_t event);

// The 4-octet payload (RFC 4733 2.3): event, E bit, R bit, volume (6 bits, -dBm0), duration.
struct TelephoneEvent {
  std::uint8_t event = 0;
  bool end = false;
  std::uint8_t volume = 10;
  std::uint16_t duration = 0;  // RTP timestamp units since the event's timestamp
};
// Errors: dtmf-too-short (under 4 octets). Extra octets are ignored: RFC 4733 2.5.2.2 lets a
// payload carry several events only with redundancy (RFC 2198), which we do not negotiate.
Result<TelephoneEvent> parse_telephone_event(std::span<const std::uint8_t> payload);
std::array<std::uint8_t, 4> serialize_telephone_event(const TelephoneEvent& e);

struct DtmfSenderConfig {
  std::uint32_t clock_rate = 8000;              // the telephone-event rtpmap clock
  std::chrono::milliseconds ptime{20};          // one packet per ptime during an event
  std::chrono::milliseconds tone{100};          // event duration (capped to the 16-bit field)
  std::chrono::milliseconds gap{60};            // audio between two digits
  std::uint8_t volume = 10;                     // -10 dBm0
  std::size_t max_queued = 64;                  // digits waiting; more is an error
};

struct DtmfPacket {
  bool marker = false;          // the first packet of an event (RFC 4733 2.5.1.1)
  std::uint32_t timestamp = 0;  // the event's start, the same for all its packets (2.5.1.2)
  std::array<std::uint8_t, 4> payload{};
};

// Sends each digit as one event: a packet every ptime with growing duration, marker bit on the
// first, then the end packet (E bit, final duration) three times, one per ptime (2.5.1.4). While
// an event is in progress the caller sends these instead of audio.
class DtmfSender {
 public:
  explicit DtmfSender(DtmfSenderConfig config = {});

  // Queues digits (0-9 * # A-D, case-insensitive). Errors: dtmf-bad-digit (nothing queued),
  // dtmf-queue-full.
  Status queue(std::string_view digits);
  // Called once per ptime with the timestamp the next audio packet would carry. Returns the
  // telephone-event packet to send instead of audio, or nullopt to send audio.
  std::optional<DtmfPacket> tick(std::uint32_t audio_timestamp);
  bool busy() const { return state_ != State::kIdle || !queue_.empty(); }

 private:
  enum class State { kIdle, kTone, kEnd, kGap };
  DtmfSenderConfig config_;
  std::deque<std::uint8_t> queue_;
  State state_ = State::kIdle;
  std::uint8_t event_ = 0;
  std::uint32_t start_ = 0;
  std::uint32_t duration_ = 0;      // ticks so far
  std::uint32_t tone_ticks_;
  std::uint32_t step_ticks_;
  int ends_sent_ = 0;
  std::chrono::milliseconds gap_left_{0};
};

// Recognises events: one digit per event, identified by its RTP timestamp (RFC 4733 2.5.2.1), so
// retransmitted end packets, duplicates and reordered packets of an event yield nothing more.
// Remembers the last 32 events.
class DtmfReceiver {
 public:
  // A digit when this packet starts a new DTMF event; nullopt for further packets of a known
  // event and for non-DTMF events (flash, ...). Errors: dtmf-too-short.
  Result<std::optional<char>> on_packet(std::uint32_t timestamp, std::span<const std::uint8_t> payload);

 private:
  std::deque<std::uint32_t> seen_;
};

}  // namespace exphone::media
