#include "media/dtmf.h"

#include <algorithm>
#include <string>

namespace exphone::media {

namespace {
constexpr std::string_view kDigits = "0123456789*#ABCD";
constexpr std::size_t kRemembered = 32;
constexpr int kEndRepeats = 3;  // RFC 4733 2.5.1.4
}  // namespace

std::optional<std::uint8_t> dtmf_event_code(char digit) {
  if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
  const auto at = kDigits.find(digit);
  if (at == std::string_view::npos) return std::nullopt;
  return static_cast<std::uint8_t>(at);
}

std::optional<char> dtmf_digit(std::uint8_t event) {
  if (event >= kDigits.size()) return std::nullopt;
  return kDigits[event];
}

Result<TelephoneEvent> parse_telephone_event(std::span<const std::uint8_t> p) {
  if (p.size() < 4) {
    return make_error("dtmf-too-short",
                      "telephone-event payload of " + std::to_string(p.size()) + " octets, needs 4");
  }
  TelephoneEvent e;
  e.event = p[0];
  e.end = (p[1] & 0x80) != 0;
  e.volume = p[1] & 0x3f;
  e.duration = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  return e;
}

std::array<std::uint8_t, 4> serialize_telephone_event(const TelephoneEvent& e) {
  return {e.event, static_cast<std::uint8_t>((e.end ? 0x80 : 0) | (e.volume & 0x3f)),
          static_cast<std::uint8_t>(e.duration >> 8), static_cast<std::uint8_t>(e.duration)};
}

DtmfSender::DtmfSender(DtmfSenderConfig config) : config_(config) {
  if (config_.clock_rate == 0) config_.clock_rate = 8000;
  if (config_.ptime.count() <= 0) config_.ptime = std::chrono::milliseconds(20);
  step_ticks_ = static_cast<std::uint32_t>(config_.clock_rate * config_.ptime.count() / 1000);
  // One event's duration must fit the 16-bit field; longer events would need the segmenting of
  // RFC 4733 2.5.1.3, which a keypad never needs.
  const std::uint64_t wanted = std::uint64_t{config_.clock_rate} * static_cast<std::uint64_t>(std::max<std::int64_t>(config_.tone.count(), 1)) / 1000;
  tone_ticks_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(wanted, step_ticks_, 0xffff));
}

Status DtmfSender::queue(std::string_view digits) {
  std::vector<std::uint8_t> events;
  for (char c : digits) {
    auto code = dtmf_event_code(c);
    if (!code) return make_error("dtmf-bad-digit", std::string("'") + c + "' is not a DTMF digit (0-9 * # A-D)");
    events.push_back(*code);
  }
  if (queue_.size() + events.size() > config_.max_queued) {
    return make_error("dtmf-queue-full", "more than " + std::to_string(config_.max_queued) + " digits queued");
  }
  queue_.insert(queue_.end(), events.begin(), events.end());
  return Ok{};
}

std::optional<DtmfPacket> DtmfSender::tick(std::uint32_t audio_timestamp) {
  if (state_ == State::kGap) {
    if (gap_left_ > std::chrono::milliseconds(0)) {  // audio between digits
      gap_left_ -= config_.ptime;
      return std::nullopt;
    }
    state_ = State::kIdle;
  }
  if (state_ == State::kIdle) {
    if (queue_.empty()) return std::nullopt;
    event_ = queue_.front();
    queue_.pop_front();
    state_ = State::kTone;
    start_ = audio_timestamp;  // RFC 4733 2.5.1.2: the event's timestamp is its beginning
    duration_ = 0;
    ends_sent_ = 0;
  }
  DtmfPacket p;
  p.timestamp = start_;
  TelephoneEvent e{event_, false, config_.volume, 0};
  if (state_ == State::kTone) {
    duration_ = std::min(duration_ + step_ticks_, tone_ticks_);
    p.marker = duration_ == std::min(step_ticks_, tone_ticks_);  // first packet of the event
    if (duration_ >= tone_ticks_) state_ = State::kEnd;           // this one is the first end
  }
  e.duration = static_cast<std::uint16_t>(duration_);
  if (state_ == State::kEnd) {
    e.end = true;
    if (++ends_sent_ >= kEndRepeats) {
      state_ = State::kGap;
      gap_left_ = config_.gap;
    }
  }
  p.payload = serialize_telephone_event(e);
  return p;
}

Result<std::optional<char>> DtmfReceiver::on_packet(std::uint32_t timestamp,
                                                    std::span<const std::uint8_t> payload) {
  auto e = parse_telephone_event(payload);
  if (!e) return e.error();
  if (std::find(seen_.begin(), seen_.end(), timestamp) != seen_.end()) return std::optional<char>{};
  auto digit = dtmf_digit(e->event);
  if (!digit) return std::optional<char>{};  // not DTMF (flash, tones of other tables)
  seen_.push_back(timestamp);
  if (seen_.size() > kRemembered) seen_.pop_front();
  return std::optional<char>{*digit};
}

}  // namespace exphone::media
