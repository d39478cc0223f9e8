#include "phone/paging.h"

#include <cctype>
#include <filesystem>
#include <iostream>

#include "media/wav.h"

namespace exphone::phone {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kTick = std::chrono::milliseconds(20);
constexpr auto kByeDrain = std::chrono::milliseconds(200);  // what the jitter buffer still holds
constexpr auto kLogEvery = std::chrono::seconds(5);

long ms(Clock::duration d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

std::string endpoint_text(const PagingGroupConfig& c) {
  const bool v6 = c.address.find(':') != std::string::npos;
  return (v6 ? "[" + c.address + "]" : c.address) + ":" + std::to_string(c.port);
}

std::string file_safe(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.substr(0, 64);
}

}  // namespace

struct Paging::Group {
  explicit Group(const PagingGroupConfig& c) : cfg(c) {}
  const PagingGroupConfig& cfg;
  std::unique_ptr<media::RtpStream> stream;
  bool active = false;
  bool playing = false;
  std::uint64_t index = 0;          // page number (record file name)
  std::uint64_t pages = 0;
  std::uint64_t seen_packets = 0;   // stream packets_received at the last tick
  std::uint64_t packets_at_start = 0;
  Clock::time_point started, last_packet;
  std::optional<Clock::time_point> bye_at;
  Clock::duration interrupted{};
  std::uint64_t last_packets = 0;   // of the last ended page
  long last_duration_ms = 0;
  long last_interrupted_ms = 0;
  std::string ended_by;
  std::string recording;
  std::uint64_t logged_rejects = 0;
  Clock::time_point last_log{};
};

Paging::Paging(asio::io_context& io, const PagingConfig& config, std::string audio_device, HoldCalls hold_calls)
    : config_(config), audio_device_(std::move(audio_device)), hold_calls_(std::move(hold_calls)), timer_(io) {}

Paging::~Paging() {
  *alive_ = false;
  timer_.cancel();
}

Result<std::unique_ptr<Paging>> Paging::open(asio::io_context& io, const PagingConfig& config, std::string audio_device,
                                             HoldCalls hold_calls) {
  std::unique_ptr<Paging> p(new Paging(io, config, std::move(audio_device), std::move(hold_calls)));
  for (const auto& c : config.groups) {
    auto g = std::make_unique<Group>(c);
    media::RtpStreamConfig rc;
    rc.codec = c.codec;
    rc.payload_type = c.payload_type;
    rc.local_address = c.address;
    rc.local_port = c.port;
    rc.rtcp_mux = true;
    rc.multicast_group = c.address;
    rc.multicast_interface = c.interface;
    if (c.secure) {
      if (!c.key) return make_error("paging-join", c.name + ": secure group without a key");
      rc.receive_key = *c.key;
    }
    auto s = media::RtpStream::open(io, std::move(rc));
    if (!s) return make_error(s.error().code == "media-failed" ? "paging-join" : s.error().code, c.name + ": " + s.error().message);
    Group* raw = g.get();
    Paging* self = p.get();
    (*s)->set_sink([self, raw](std::span<const std::int16_t> frame) { self->on_frame(*raw, frame); });
    g->stream = std::move(*s);
    std::cerr << "paging: listening on " << endpoint_text(c) << " (" << c.name << ", " << page_priority_name(c.priority)
              << ", " << (c.secure ? "SRTP " + std::string(media::srtp_suite_name(c.key->suite)) : "plain RTP") << ")\n";
    p->groups_.push_back(std::move(g));
  }
  p->schedule();
  return p;
}

void Paging::schedule() {
  timer_.expires_after(kTick);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    tick();
    schedule();
  });
}

void Paging::tick() {
  const auto now = Clock::now();
  for (auto& gp : groups_) {
    Group& g = *gp;
    const auto& st = g.stream->stats();
    if (st.packets_received > g.seen_packets) {
      if (!g.active) {
        g.active = true;
        g.index = ++page_counter_;
        ++g.pages;
        g.started = now;
        g.packets_at_start = g.seen_packets;
        g.interrupted = {};
        g.ended_by.clear();
        std::cerr << "paging: " << page_priority_name(g.cfg.priority) << " page on " << g.cfg.name << " started\n";
      }
      g.seen_packets = st.packets_received;
      g.last_packet = now;
    }
    // Rejected packets: counted always, logged at most once per kLogEvery.
    const std::uint64_t auth_failures = st.srtp_auth_failures + st.srtcp_auth_failures;
    const std::uint64_t rejects = auth_failures + st.replays_dropped;
    if (rejects > g.logged_rejects && now - g.last_log >= kLogEvery) {
      std::cerr << "paging: " << g.cfg.name << ": rejected " << (rejects - g.logged_rejects) << " packet(s) ("
                << auth_failures << " authentication failures, " << st.replays_dropped << " replays so far)\n";
      g.logged_rejects = rejects;
      g.last_log = now;
    }
    if (!g.active) continue;
    if (st.remote_bye && !g.bye_at) g.bye_at = now;
    if (g.bye_at && now - *g.bye_at >= kByeDrain) end_page(g, "bye");
    else if (now - g.last_packet >= config_.end_after) end_page(g, "timeout");
  }
  // The page on the speaker: highest priority, then the earliest.
  Group* best = nullptr;
  for (auto& gp : groups_) {
    if (!gp->active) continue;
    if (!best || gp->cfg.priority > best->cfg.priority ||
        (gp->cfg.priority == best->cfg.priority && gp->started < best->started))
      best = gp.get();
  }
  for (auto& gp : groups_) {
    const bool playing = gp.get() == best;
    if (gp->active && !playing) gp->interrupted += kTick;
    if (gp->active && gp->playing && !playing)
      std::cerr << "paging: " << gp->cfg.name << " interrupted by " << page_priority_name(best->cfg.priority) << " page on "
                << best->cfg.name << "\n";
    gp->playing = playing;
  }
  const bool hold = best && config_.hold_calls_from && best->cfg.priority >= *config_.hold_calls_from;
  if (hold != holding_) {
    holding_ = hold;
    if (hold_calls_) hold_calls_(hold);
  }
}

void Paging::end_page(Group& g, const char* why) {
  const auto now = Clock::now();
  g.active = false;
  g.playing = false;
  g.ended_by = why;
  g.last_packets = g.seen_packets - g.packets_at_start;
  g.last_duration_ms = ms(now - g.started);
  g.last_interrupted_ms = ms(g.interrupted);
  g.bye_at.reset();
  write_recording(g);
  // The next page starts afresh: new sender, new SSRC and sequence (the jitter buffer and the
  // source statistics are reset by set_codec; the SRTP session and its replay state stay).
  (void)g.stream->set_codec(g.cfg.codec, g.cfg.payload_type);
  g.stream->clear_remote_bye();
  std::cerr << "paging: " << page_priority_name(g.cfg.priority) << " page on " << g.cfg.name << " ended (" << why << ", "
            << g.last_packets << " packets, " << g.last_duration_ms << " ms)\n";
}

void Paging::write_recording(Group& g) {
  auto samples = g.stream->take_recording();
  if (config_.record_dir.empty() || samples.empty()) return;
  const std::string path = (std::filesystem::path(config_.record_dir) /
                            ("page-" + std::to_string(g.index) + "-" + file_safe(g.cfg.name) + ".wav")).string();
  if (Status s = media::write_wav(path, samples, g.stream->recording_rate()); !s) {
    std::cerr << "paging: cannot write " << path << ": " << s.error().message << "\n";
    return;
  }
  g.recording = path;
}

void Paging::on_frame(Group& g, std::span<const std::int16_t> frame) {
  if (!g.playing || audio_device_.empty() || speaker_failed_) return;
  const std::uint32_t rate = g.stream->recording_rate();
  if (!speaker_ || speaker_->sample_rate() != rate) {
    speaker_.reset();
    auto s = media::SoundDevice::open_playback(audio_device_, rate);
    if (!s) {
      std::cerr << "paging: no speaker (" << s.error().message << "); pages are only recorded\n";
      speaker_failed_ = true;
      return;
    }
    speaker_ = std::move(*s);
  }
  // Paging plays at the group's volume whatever the call volume is (emergency pages even muted).
  std::vector<std::int16_t> out(frame.begin(), frame.end());
  for (auto& v : out) v = static_cast<std::int16_t>(static_cast<int>(v) * g.cfg.volume / 100);
  speaker_->write(out);
}

std::vector<PageGroupStatus> Paging::status() const {
  const auto now = Clock::now();
  std::vector<PageGroupStatus> out;
  for (const auto& gp : groups_) {
    const Group& g = *gp;
    const auto& st = g.stream->stats();
    PageGroupStatus s;
    s.group = g.cfg.name;
    s.address = endpoint_text(g.cfg);
    s.priority = std::string(page_priority_name(g.cfg.priority));
    s.secure = g.cfg.secure;
    s.codec = g.cfg.codec;
    s.volume = g.cfg.volume;
    s.active = g.active;
    s.playing = g.playing;
    s.pages = g.pages;
    s.packets = g.active ? st.packets_received - g.packets_at_start : g.last_packets;
    s.duration_ms = g.active ? ms(now - g.started) : g.last_duration_ms;
    s.interrupted_ms = g.active ? ms(g.interrupted) : g.last_interrupted_ms;
    s.ended_by = g.ended_by;
    s.recording = g.recording;
    s.total_packets = st.packets_received;
    s.auth_failures = st.srtp_auth_failures + st.srtcp_auth_failures;
    s.replays = st.replays_dropped;
    s.malformed = st.malformed + st.rtcp_malformed;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace exphone::phone
