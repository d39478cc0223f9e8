// `exphone page --group ADDR:PORT (--key-file K | --insecure) [--priority P] [--codec C] [--ttl N]
//  [--interface I] --play WAV`: the paging sender (docs/paging.md). RTP at ptime 20 from the WAV,
// SRTP under the group key (RFC 3711), a fresh random SSRC and initial sequence number per page
// (RFC 3550 5.1, 8.1 -- and so no SRTP index is ever reused under the key), SR reports on the
// group's port (rtcp-mux, RFC 5761) and an RTCP BYE at the end (RFC 3550 6.6).
// `exphone page keygen --out K [--suite S]`: a new group key file, mode 0600.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>

#include "apps/exphone/commands.h"
#include "media/rtp_stream.h"
#include "media/wav.h"
#include "phone/paging_config.h"
#include "phone/paging_key.h"

namespace exphone::cli {

namespace {

namespace asio = boost::asio;

struct PageOptions {
  std::string group, key_file, priority = "normal", codec = "PCMU", play, interface;
  int ttl = 1;
  int payload_type = -1;
  bool insecure = false;
  bool json = false;
  std::string keygen_out, keygen_suite = "AES_CM_128_HMAC_SHA1_80";
};

Result<asio::ip::udp::endpoint> parse_group(const std::string& s) {
  std::string host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find("]:");
    if (close == std::string::npos) return make_error("page-usage", "write an IPv6 group as [ff05::1]:5004");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return make_error("page-usage", "--group must be GROUP:PORT");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec || !ip.is_multicast()) return make_error("page-usage", "'" + host + "' is not a multicast group");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535)
    return make_error("page-usage", "the port must be 1..65535");
  return asio::ip::udp::endpoint(ip, static_cast<std::uint16_t>(std::stoi(port)));
}

int run_keygen(const PageOptions& o) {
  auto suite = media::srtp_suite_from_name(o.keygen_suite);
  if (!suite) return report_error(make_error("page-usage", "unknown SRTP suite '" + o.keygen_suite + "'"));
  auto key = media::SrtpKey::generate(*suite);  // OpenSSL RAND_bytes
  if (!key) return report_error(key.error());
  if (Status s = phone::write_paging_key(o.keygen_out, *key); !s) return report_error(s.error());
  if (o.json) print_json({{"ok", true}, {"key_file", o.keygen_out}, {"suite", o.keygen_suite}});
  else std::cout << "wrote " << o.keygen_out << " (" << o.keygen_suite << ", mode 0600)\n";
  return kExitOk;
}

int run_page(const PageOptions& o) {
  if (o.group.empty() || o.play.empty()) return report_error(make_error("page-usage", "--group and --play are required"));
  auto group = parse_group(o.group);
  if (!group) return report_error(group.error());
  if (!phone::page_priority_from_name(o.priority))
    return report_error(make_error("page-usage", "--priority must be emergency, high or normal"));
  std::optional<media::SrtpKey> key;
  if (!o.key_file.empty()) {
    auto k = phone::load_paging_key(o.key_file);
    if (!k) return report_error(k.error());
    key = std::move(*k);
  } else if (!o.insecure) {
    return report_error(make_error("page-insecure", "refusing to page in plain RTP: give --key-file (exphone page keygen) or --insecure"));
  }
  auto wav = media::read_wav(o.play);
  if (!wav) return report_error(wav.error());
  const auto duration = std::chrono::milliseconds(
      static_cast<std::int64_t>(wav->samples.size()) * 1000 / std::max<std::uint32_t>(wav->sample_rate, 1));

  asio::io_context io;
  media::RtpStreamConfig rc;
  rc.codec = o.codec;
  rc.payload_type = o.payload_type >= 0 ? static_cast<std::uint8_t>(o.payload_type) : phone::default_payload_type(o.codec);
  rc.local_address = group->address().is_v4() ? "0.0.0.0" : "::";
  rc.rtcp_mux = true;  // one port for RTP and RTCP, as the receivers listen
  rc.send_key = key;
  rc.receive_key = key;  // never used: nothing comes back on a page
  if (o.payload_type > 127) return report_error(make_error("page-usage", "--payload-type must be 0..127"));
  auto stream = media::RtpStream::open(io, std::move(rc));
  if (!stream) return report_error(stream.error());
  if (Status s = (*stream)->set_multicast_send(o.ttl, o.interface); !s) return report_error(s.error());
  auto source = media::wav_file_source(o.play, (*stream)->codec().sample_rate(), false);
  if (!source) return report_error(source.error());
  (*stream)->set_remote(*group);
  (*stream)->start(std::move(*source));
  asio::steady_timer done(io);
  done.expires_after(duration + std::chrono::milliseconds(20));
  done.async_wait([&](const boost::system::error_code&) {
    (*stream)->stop();
    (*stream)->send_bye("page ended");
    io.stop();
  });
  io.run();
  const auto& st = (*stream)->stats();
  if (o.json) {
    print_json({{"ok", true},
                {"group", o.group},
                {"priority", o.priority},
                {"codec", o.codec},
                {"secure", key.has_value()},
                {"suite", key ? std::string(media::srtp_suite_name(key->suite)) : std::string()},
                {"ssrc", (*stream)->ssrc()},
                {"packets_sent", st.packets_sent},
                {"rtcp_sent", st.rtcp_sent},
                {"duration_ms", duration.count()}});
  } else {
    std::cout << "paged " << o.group << ": " << st.packets_sent << " packets, " << duration.count() << " ms, "
              << (key ? "SRTP " + std::string(media::srtp_suite_name(key->suite)) : std::string("PLAIN RTP")) << "\n";
  }
  return st.packets_sent > 0 ? kExitOk : report_error(make_error("page-failed", "no packet could be sent"));
}

}  // namespace

void add_page_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PageOptions>();
  auto c = app.add_subcommand("page", "Multicast paging sender: plays a WAV to a paging group as SRTP under the group key "
                                      "(RTP at 20 ms, fresh random SSRC, RTCP BYE at the end). Plain RTP only with --insecure.");
  c->require_subcommand(0, 1);
  c->add_option("--group", o->group, "multicast group and port: 239.1.2.3:5004 or [ff05::1]:5004");
  c->add_option("--key-file", o->key_file, "group key file (exphone page keygen)");
  c->add_flag("--insecure", o->insecure, "send plain RTP without a key (legacy receivers; anyone can forge it)");
  c->add_option("--priority", o->priority, "emergency, high or normal: a label for the report (receivers take the "
                                           "priority from their [[paging.group]])")->capture_default_str();
  c->add_option("--codec", o->codec, "PCMU, PCMA, G722 or opus")->capture_default_str();
  c->add_option("--payload-type", o->payload_type, "RTP payload type (default: PCMU 0, PCMA 8, G722 9, opus 96)");
  c->add_option("--ttl", o->ttl, "multicast TTL / hop limit")->capture_default_str();
  c->add_option("--interface", o->interface, "send on this interface: local IPv4 address (IPv6: interface name)");
  c->add_option("--play", o->play, "16-bit mono WAV (8 or 16 kHz) to send");
  c->add_flag("--json", o->json, "print one JSON object");
  auto k = c->add_subcommand("keygen", "Write a new random paging group key (SRTP master key and salt) to a file, mode 0600");
  k->add_option("--out", o->keygen_out, "key file to create (not overwritten)")->required();
  k->add_option("--suite", o->keygen_suite, "SRTP suite, e.g. AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM")->capture_default_str();
  k->add_flag("--json", o->json, "print one JSON object");
  k->callback([o, &exit_code] { exit_code = run_keygen(*o); });
  c->callback([o, k, &exit_code] {
    if (k->parsed()) return;
    exit_code = run_page(*o);
  });
}

}  // namespace exphone::cli
