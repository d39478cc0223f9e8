// Multicast paging receiver and its policy (docs/paging.md).
//
// One receive-only RtpStream per configured group, open for the daemon's lifetime: it joins the
// group and, for a secure group, unprotects with one inbound SRTP session under the group key.
// Because the session lives as long as the key (not one page), libsrtp keeps each sender SSRC's
// replay window and rollover counter (RFC 3711 3.3.1, 3.3.2) across pages: a replayed capture of
// an earlier page (same SSRC, old indexes) is dropped as a replay, a forgery fails
// authentication; both are counted and logged (at most once per 5 s per group). Limits: a
// capture of a page this receiver never heard (it was off, or has restarted since) is not
// recognised as a replay -- rotate the group key after use to bound that (docs/paging.md).
//
// A page starts with the first authenticated (or, on a plain group, well-formed) packet and ends
// after end_after without packets or shortly after the sender's RTCP BYE (RFC 3550 6.6). Of the
// pages in progress the highest priority plays (emergency > high > normal; the earlier one on a
// tie); the others are interrupted until it ends. A playing page of priority >= hold_calls_from
// holds the calls in progress (hold_calls(true)) and releases them when no such page is left.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/rtp_stream.h"
#include "media/sound_device.h"
#include "phone/paging_config.h"

namespace exphone::phone {

struct PageGroupStatus {
  std::string group;          // name
  std::string address;        // "239.1.2.3:5004", "[ff05::1]:5004"
  std::string priority;
  bool secure = false;
  std::string codec;
  int volume = 100;
  bool active = false;        // a page is in progress
  bool playing = false;       // ... and it is the one on the speaker (not interrupted)
  std::uint64_t pages = 0;    // pages so far (ended and in progress)
  // the current page (or the last one when none is active)
  std::uint64_t packets = 0;
  long duration_ms = 0;
  long interrupted_ms = 0;
  std::string ended_by;       // "timeout" / "bye" (empty while active)
  std::string recording;      // WAV of the last ended page (record_dir)
  // the group since start
  std::uint64_t total_packets = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t replays = 0;
  std::uint64_t malformed = 0;
};

class Paging {
 public:
  using HoldCalls = std::function<void(bool hold)>;
  // Errors: paging-join (bind or join failed), media-config, srtp-*.
  static Result<std::unique_ptr<Paging>> open(boost::asio::io_context& io, const PagingConfig& config,
                                              std::string audio_device, HoldCalls hold_calls);
  ~Paging();

  std::vector<PageGroupStatus> status() const;
  bool holding_calls() const { return holding_; }

 private:
  struct Group;
  Paging(boost::asio::io_context& io, const PagingConfig& config, std::string audio_device, HoldCalls hold_calls);
  void schedule();
  void tick();
  void end_page(Group& g, const char* why);
  void write_recording(Group& g);
  void on_frame(Group& g, std::span<const std::int16_t> frame);

  const PagingConfig& config_;
  std::string audio_device_;
  HoldCalls hold_calls_;
  boost::asio::steady_timer timer_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::unique_ptr<media::SoundDevice> speaker_;
  bool speaker_failed_ = false;
  bool holding_ = false;
  std::uint64_t page_counter_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::phone
