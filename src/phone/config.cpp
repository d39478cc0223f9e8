#include "phone/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/text.h"
#include "net/websocket_sip.h"
#include "phone/paging_key.h"

#include <boost/asio/ip/address.hpp>

namespace exphone::phone {

namespace {

class Reader {
 public:
  Reader(std::string source, std::string base_dir) : source_(std::move(source)), base_(std::move(base_dir)) {}

  Error error(const toml::node* n, const std::string& msg) const {
    std::string where = source_;
    if (n && n->source().begin) where += ":" + std::to_string(n->source().begin.line);
    return make_error("config", where + ": " + msg);
  }

  // Every key of `t` must be in `allowed`.
  std::optional<Error> only(const toml::table& t, const std::string& section, std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : t) {
      bool ok = false;
      for (auto a : allowed) ok = ok || a == k.str();
      if (!ok) return error(&v, "unknown key '" + std::string(k.str()) + "' in " + section);
    }
    return std::nullopt;
  }

  std::optional<Error> str(const toml::table& t, std::string_view key, std::string& out, const std::string& section) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) return error(n, section + "." + std::string(key) + " must be a string");
    out = *n->value<std::string>();
    return std::nullopt;
  }

  std::optional<Error> path(const toml::table& t, std::string_view key, std::string& out, const std::string& section) const {
    if (auto e = str(t, key, out, section)) return e;
    out = resolve(out);
    return std::nullopt;
  }

  std::string resolve(const std::string& p) const {
    if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
    return (std::filesystem::path(base_) / p).lexically_normal().string();
  }

  std::optional<Error> boolean(const toml::table& t, std::string_view key, bool& out, const std::string& section) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) return error(n, section + "." + std::string(key) + " must be true or false");
    out = *n->value<bool>();
    return std::nullopt;
  }

  template <class T>
  std::optional<Error> integer(const toml::table& t, std::string_view key, T& out, std::int64_t lo, std::int64_t hi,
                               const std::string& section) const {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) return error(n, section + "." + std::string(key) + " must be an integer");
    std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi)
      return error(n, section + "." + std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = static_cast<T>(v);
    return std::nullopt;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string base_;
};

// srtp = "off" | "optional" | "mandatory" and key_exchange = "sdes" | "dtls" | "auto" in `t`
// (absent: left as they are).
std::optional<Error> read_media_policy(const Reader& r, const toml::table& t, const std::string& sec,
                                       std::optional<ua::SrtpPolicy>& srtp, std::optional<ua::KeyExchange>& kx) {
  std::string name;
  if (auto e = r.str(t, "srtp", name, sec)) return e;
  if (t.contains("srtp")) {
    srtp = ua::parse_srtp_policy(name);
    if (!srtp) return r.error(t.get("srtp"), sec + ".srtp must be \"off\", \"optional\" or \"mandatory\"");
  }
  name.clear();
  if (auto e = r.str(t, "key_exchange", name, sec)) return e;
  if (t.contains("key_exchange")) {
    kx = ua::parse_key_exchange(name);
    if (!kx) return r.error(t.get("key_exchange"), sec + ".key_exchange must be \"sdes\", \"dtls\" or \"auto\"");
  }
  return std::nullopt;
}

std::optional<Error> read_account(const Reader& r, const toml::table& t, std::size_t index, ua::AccountSettings& a,
                                  AccountMedia& media) {
  std::string sec = "account[" + std::to_string(index) + "]";
  if (auto e = r.only(t, sec, {"name", "user", "auth_user", "password", "domain", "display_name", "registrar",
                               "backup_registrars", "outbound_proxy", "transport", "expires", "failback_interval_s",
                               "retry_base_s", "retry_max_s", "startup_jitter_ms", "srtp", "key_exchange"}))
    return e;
  if (auto e = read_media_policy(r, t, sec, media.srtp, media.key_exchange)) return e;
  for (auto [key, field] : {std::pair{"name", &a.name}, {"user", &a.user}, {"auth_user", &a.auth_user},
                            {"password", &a.password}, {"domain", &a.domain}, {"display_name", &a.display_name},
                            {"registrar", &a.registrar}, {"outbound_proxy", &a.outbound_proxy}})
    if (auto e = r.str(t, key, *field, sec)) return e;
  if (a.user.empty()) return r.error(&t, sec + ".user is required");
  if (a.domain.empty()) return r.error(&t, sec + ".domain is required");
  std::string transport;
  if (auto e = r.str(t, "transport", transport, sec)) return e;
  if (!transport.empty()) {
    auto p = net::parse_protocol(transport);
    if (!p) return r.error(t.get("transport"), sec + ".transport must be \"udp\", \"tcp\", \"tls\", \"ws\" or \"wss\"");
    a.transport = *p;
  }
  if (auto e = r.integer(t, "expires", a.expires, 0, 86400 * 7, sec)) return e;
  // resilience (docs/resilience.md; RFC 5626 section 4.5 backoff)
  if (auto e = r.integer(t, "failback_interval_s", a.failback_interval_s, 0, 86400, sec)) return e;
  if (auto e = r.integer(t, "retry_base_s", a.retry.base_all_failed_s, 1, 3600, sec)) return e;
  if (auto e = r.integer(t, "retry_max_s", a.retry.max_s, 1, 86400, sec)) return e;
  if (a.retry.max_s < a.retry.base_all_failed_s)
    return r.error(t.get("retry_max_s"), sec + ".retry_max_s must not be below retry_base_s");
  a.retry.base_some_ok_s = std::min<std::uint32_t>(a.retry.base_all_failed_s * 3, a.retry.max_s);  // 30 -> 90 s
  if (auto e = r.integer(t, "startup_jitter_ms", a.startup_jitter_ms, 0, 600000, sec)) return e;
  if (a.name.empty()) a.name = a.user + "@" + a.domain;
  auto reg = ua::registrar_address(a);
  if (!reg) return r.error(t.get("registrar") ? t.get("registrar") : &t, reg.error().message);
  if (!a.outbound_proxy.empty())
    if (auto p = ua::registrar_address(a, a.outbound_proxy); !p) return r.error(t.get("outbound_proxy"), p.error().message);
  if (const toml::node* n = t.get("backup_registrars")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, sec + ".backup_registrars must be an array of URIs");
    for (const auto& item : *arr) {
      if (!item.is_string()) return r.error(&item, sec + ".backup_registrars entries must be strings");
      std::string uri = *item.value<std::string>();
      auto b = ua::registrar_address(a, uri);
      if (!b) return r.error(&item, b.error().message);
      a.backup_registrars.push_back(uri);
    }
  }
  return std::nullopt;
}

std::optional<Error> read_tls(const Reader& r, const toml::table& t, net::tls::TlsClientConfig& c) {
  const std::string sec = "tls";
  if (auto e = r.only(t, sec, {"ca_files", "use_system_store", "client_cert", "client_key", "client_key_passphrase",
                               "verify_server", "min_version", "ciphers", "ciphersuites", "keylog_file",
                               "session_tickets", "require_client_cert"}))
    return e;
  if (const toml::node* n = t.get("ca_files")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, "tls.ca_files must be an array of file names");
    for (const auto& item : *arr) {
      if (!item.is_string()) return r.error(&item, "tls.ca_files entries must be strings");
      c.ca_files.push_back(r.resolve(*item.value<std::string>()));
    }
  }
  if (auto e = r.boolean(t, "use_system_store", c.use_system_store, sec)) return e;
  if (auto e = r.path(t, "client_cert", c.client_cert, sec)) return e;
  if (auto e = r.path(t, "client_key", c.client_key, sec)) return e;
  if (auto e = r.str(t, "client_key_passphrase", c.client_key_passphrase, sec)) return e;
  if (auto e = r.boolean(t, "verify_server", c.verify_server, sec)) return e;
  if (auto e = r.str(t, "min_version", c.min_version, sec)) return e;
  if (c.min_version != "1.2" && c.min_version != "1.3")
    return r.error(t.get("min_version"), "tls.min_version must be \"1.2\" or \"1.3\"");
  if (auto e = r.str(t, "ciphers", c.ciphers, sec)) return e;
  if (auto e = r.str(t, "ciphersuites", c.ciphersuites, sec)) return e;
  if (auto e = r.path(t, "keylog_file", c.keylog_file, sec)) return e;
  if (auto e = r.boolean(t, "session_tickets", c.session_tickets, sec)) return e;
  return std::nullopt;
}

std::optional<Error> read_tls_listener(const Reader& r, const toml::table& t, bool& require) {
  return r.boolean(t, "require_client_cert", require, "tls");
}

std::optional<Error> read_sip(const Reader& r, const toml::table& t, Config& c) {
  const std::string sec = "sip";
  if (auto e = r.only(t, sec, {"t1_ms", "t2_ms", "t4_ms", "keepalive_interval_s", "connect_timeout_s",
                               "max_connections", "udp_bind", "udp_port", "user_agent", "dns_servers",
                               "tcp_listen", "tls_listen", "idle_timeout_s", "half_message_timeout_s",
                               "outbound", "ws_path"}))
    return e;
  if (auto e = r.boolean(t, "outbound", c.outbound, sec)) return e;
  std::int64_t t1 = c.timers.t1.count(), t2 = c.timers.t2.count(), t4 = c.timers.t4.count();
  if (auto e = r.integer(t, "t1_ms", t1, 50, 10000, sec)) return e;
  if (auto e = r.integer(t, "t2_ms", t2, 100, 60000, sec)) return e;
  if (auto e = r.integer(t, "t4_ms", t4, 100, 60000, sec)) return e;
  if (t2 < t1) return r.error(t.get("t2_ms"), "sip.t2_ms must not be below sip.t1_ms");
  c.timers.t1 = Millis{t1};
  c.timers.t2 = Millis{t2};
  c.timers.t4 = Millis{t4};
  std::int64_t ka = c.transport.keepalive_interval.count() / 1000;
  if (auto e = r.integer(t, "keepalive_interval_s", ka, 0, 3600, sec)) return e;
  c.transport.keepalive_interval = Millis{ka * 1000};
  std::int64_t ct = c.transport.connect_timeout.count() / 1000;
  if (auto e = r.integer(t, "connect_timeout_s", ct, 1, 300, sec)) return e;
  c.transport.connect_timeout = Millis{ct * 1000};
  if (auto e = r.integer(t, "max_connections", c.transport.max_connections, 1, 4096, sec)) return e;
  if (auto e = r.str(t, "udp_bind", c.transport.udp_bind, sec)) return e;
  if (auto e = r.str(t, "ws_path", c.transport.ws_resource, sec)) return e;
  if (auto p = net::ws::resource(c.transport.ws_resource); !p) return r.error(t.get("ws_path"), "sip.ws_path: " + p.error().message);
  if (auto e = r.integer(t, "udp_port", c.transport.udp_port, 0, 65535, sec)) return e;
  for (auto [key, field] : {std::pair{"tcp_listen", &c.tcp_listen}, {"tls_listen", &c.tls_listen}}) {
    if (auto e = r.str(t, key, *field, sec)) return e;
    if (field->empty()) continue;
    std::size_t colon = field->rfind(':');
    auto port = colon == std::string::npos ? std::nullopt : text::parse_uint(field->substr(colon + 1), 65535);
    if (!port) return r.error(t.get(key), "sip." + std::string(key) + " must be \"address:port\"");
  }
  std::int64_t idle = c.transport.idle_timeout.count() / 1000;
  if (auto e = r.integer(t, "idle_timeout_s", idle, 1, 86400, sec)) return e;
  c.transport.idle_timeout = Millis{idle * 1000};
  std::int64_t half = c.transport.half_message_timeout.count() / 1000;
  if (auto e = r.integer(t, "half_message_timeout_s", half, 1, 600, sec)) return e;
  c.transport.half_message_timeout = Millis{half * 1000};
  if (const toml::node* n = t.get("dns_servers")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, "sip.dns_servers must be an array of \"ip:port\" strings");
    for (const auto& item : *arr) {
      if (!item.is_string()) return r.error(&item, "sip.dns_servers entries must be strings");
      c.dns_servers.push_back(*item.value<std::string>());
    }
  }
  std::string ua;
  if (auto e = r.str(t, "user_agent", ua, sec)) return e;
  if (!ua.empty())
    for (auto& a : c.accounts) a.user_agent = ua;
  return std::nullopt;
}

std::optional<Error> read_phone(const Reader& r, const toml::table& t, Config& c) {
  const std::string sec = "phone";
  if (auto e = r.only(t, sec, {"user", "srtp", "allow_sdes_over_insecure_transport", "auto_answer", "allow_peers",
                                "control_socket", "instance_id", "announcement", "record_dir", "codecs", "audio_device", "echo",
                                "answer_beep", "auto_answer_from", "auto_answer_unauthenticated", "key_exchange",
                                "dtls_certificate", "media_timeout_s"}))
    return e;
  if (auto e = r.integer(t, "media_timeout_s", c.media_timeout_s, 0, 3600, sec)) return e;
  if (auto e = r.str(t, "user", c.phone_user, sec)) return e;
  std::optional<ua::SrtpPolicy> srtp;
  std::optional<ua::KeyExchange> kx;
  if (auto e = read_media_policy(r, t, sec, srtp, kx)) return e;
  c.media.srtp = srtp.value_or(ua::SrtpPolicy::kOptional);
  c.media.key_exchange = kx.value_or(ua::KeyExchange::kAuto);
  if (auto e = r.boolean(t, "allow_sdes_over_insecure_transport", c.media.allow_sdes_over_insecure_transport, sec)) return e;
  if (auto e = r.path(t, "dtls_certificate", c.dtls_certificate, sec)) return e;
  if (auto e = r.boolean(t, "auto_answer", c.auto_answer, sec)) return e;
  if (auto e = r.str(t, "instance_id", c.instance_id, sec)) return e;
  if (!c.instance_id.empty()) {
    auto id = ua::parse_instance_id(c.instance_id);
    if (!id) return r.error(t.get("instance_id"), "phone." + id.error().message);
    c.instance_id = *id;
    c.instance_id_source = "config";
  }
  if (auto e = r.str(t, "control_socket", c.control_socket, sec)) return e;
  if (auto e = r.path(t, "announcement", c.announcement, sec)) return e;
  if (auto e = r.path(t, "record_dir", c.record_dir, sec)) return e;
  if (auto e = r.str(t, "audio_device", c.audio_device, sec)) return e;
  if (auto e = r.boolean(t, "echo", c.echo, sec)) return e;
  if (auto e = r.boolean(t, "answer_beep", c.answer_beep, sec)) return e;
  if (auto e = r.boolean(t, "auto_answer_unauthenticated", c.auto_answer_unauthenticated, sec)) return e;
  if (const toml::node* n = t.get("auto_answer_from")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, "phone.auto_answer_from must be an array of caller users or user@host");
    for (const auto& item : *arr) {
      auto v = item.value<std::string>();
      if (!v || v->empty()) return r.error(&item, "phone.auto_answer_from entries must be non-empty strings");
      c.auto_answer_from.push_back(*v);
    }
  }
  if (const toml::node* n = t.get("codecs")) {
    const toml::array* arr = n->as_array();
    if (!arr || arr->empty()) return r.error(n, "phone.codecs must be a non-empty array of codec names");
    std::vector<ua::AudioCodec> ordered;
    for (const auto& item : *arr) {
      auto name = item.value<std::string>();
      if (!name) return r.error(&item, "phone.codecs entries must be strings");
      auto it = std::find_if(c.media.codecs.begin(), c.media.codecs.end(),
                             [&](const ua::AudioCodec& k) { return text::iequals(k.name, *name); });
      if (it == c.media.codecs.end() || text::iequals(*name, "telephone-event"))
        return r.error(&item, "phone.codecs: unknown codec '" + *name + "' (G722, PCMU, PCMA, opus)");
      ordered.push_back(*it);
      c.codecs.push_back(*name);
    }
    for (const auto& k : c.media.codecs)
      if (text::iequals(k.name, "telephone-event")) ordered.push_back(k);  // DTMF always offered
    c.media.codecs = std::move(ordered);
  }
  if (const toml::node* n = t.get("allow_peers")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, "phone.allow_peers must be an array of IP addresses");
    for (const auto& item : *arr) {
      if (!item.is_string()) return r.error(&item, "phone.allow_peers entries must be strings");
      c.allow_peers.push_back(*item.value<std::string>());
    }
  }
  return std::nullopt;
}

// [paging] and its [[paging.group]] tables (docs/paging.md).
std::optional<Error> read_paging_group(const Reader& r, const toml::table& t, std::size_t index, PagingGroupConfig& g) {
  const std::string sec = "paging.group[" + std::to_string(index) + "]";
  if (auto e = r.only(t, sec, {"name", "address", "codec", "payload_type", "priority", "secure", "key_file", "interface", "volume"}))
    return e;
  std::string address, priority;
  if (auto e = r.str(t, "address", address, sec)) return e;
  if (address.empty()) return r.error(&t, sec + ".address is required (\"239.1.2.3:5004\" or \"[ff05::1]:5004\")");
  // "ip:port" or "[v6]:port"
  std::string host, port;
  if (address.front() == '[') {
    auto close = address.find("]:");
    if (close == std::string::npos) return r.error(t.get("address"), sec + ".address: write an IPv6 group as [ff05::1]:5004");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon)
      return r.error(t.get("address"), sec + ".address must be GROUP:PORT (IPv6: [GROUP]:PORT)");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(host, ec);
  if (ec || !ip.is_multicast()) return r.error(t.get("address"), sec + ".address: '" + host + "' is not a multicast group (224.0.0.0/4, ff00::/8)");
  int port_number = 0;
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
      (port_number = std::stoi(port)) < 1 || port_number > 65535)
    return r.error(t.get("address"), sec + ".address: the port must be 1..65535");
  g.address = ip.to_string();
  g.port = static_cast<std::uint16_t>(port_number);
  if (auto e = r.str(t, "name", g.name, sec)) return e;
  if (g.name.empty()) g.name = address;
  if (auto e = r.str(t, "codec", g.codec, sec)) return e;
  if (g.codec != "PCMU" && g.codec != "PCMA" && g.codec != "G722" && g.codec != "opus")
    return r.error(t.get("codec"), sec + ".codec must be PCMU, PCMA, G722 or opus");
  g.payload_type = default_payload_type(g.codec);
  if (auto e = r.integer(t, "payload_type", g.payload_type, 0, 127, sec)) return e;
  if (auto e = r.str(t, "priority", priority, sec)) return e;
  if (!priority.empty()) {
    auto p = page_priority_from_name(priority);
    if (!p) return r.error(t.get("priority"), sec + ".priority must be \"emergency\", \"high\" or \"normal\"");
    g.priority = *p;
  }
  if (auto e = r.boolean(t, "secure", g.secure, sec)) return e;
  if (auto e = r.path(t, "key_file", g.key_file, sec)) return e;
  if (g.secure && g.key_file.empty())
    return r.error(&t, sec + ": a secure group needs key_file (exphone page keygen), or secure = false for plain RTP");
  if (!g.secure && !g.key_file.empty())
    return r.error(t.get("key_file"), sec + ".key_file is set but secure = false: remove one");
  if (g.secure) {
    auto key = load_paging_key(g.key_file);
    if (!key) return r.error(t.get("key_file"), key.error().message);
    if (!media::SrtpSession::suite_supported(key->suite))
      return r.error(t.get("key_file"), sec + ": the installed libsrtp2 cannot do " + std::string(media::srtp_suite_name(key->suite)));
    g.key = std::move(*key);
  }
  if (auto e = r.str(t, "interface", g.interface, sec)) return e;
  if (!g.interface.empty() && ip.is_v4()) {
    boost::asio::ip::make_address_v4(g.interface, ec);
    if (ec) return r.error(t.get("interface"), sec + ".interface must be a local IPv4 address for an IPv4 group");
  }
  if (auto e = r.integer(t, "volume", g.volume, 0, 100, sec)) return e;
  return std::nullopt;
}

std::optional<Error> read_paging(const Reader& r, const toml::table& t, PagingConfig& p) {
  const std::string sec = "paging";
  if (auto e = r.only(t, sec, {"group", "hold_calls_from", "end_after_ms", "record_dir"})) return e;
  std::string hold;
  if (auto e = r.str(t, "hold_calls_from", hold, sec)) return e;
  if (hold == "off") {
    p.hold_calls_from.reset();
  } else if (!hold.empty()) {
    p.hold_calls_from = page_priority_from_name(hold);
    if (!p.hold_calls_from) return r.error(t.get("hold_calls_from"), "paging.hold_calls_from must be \"emergency\", \"high\", \"normal\" or \"off\"");
  }
  std::int64_t end_ms = p.end_after.count();
  if (auto e = r.integer(t, "end_after_ms", end_ms, 100, 60000, sec)) return e;
  p.end_after = std::chrono::milliseconds(end_ms);
  if (auto e = r.path(t, "record_dir", p.record_dir, sec)) return e;
  if (const toml::node* n = t.get("group")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return r.error(n, "paging.group must be written as [[paging.group]] tables");
    if (arr->size() > 16) return r.error(n, "at most 16 paging groups");
    std::size_t i = 0;
    for (const auto& item : *arr) {
      PagingGroupConfig g;
      if (auto e = read_paging_group(r, *item.as_table(), i++, g)) return e;
      for (const auto& other : p.groups)
        if (other.address == g.address && other.port == g.port)
          return r.error(&item, "paging.group[" + std::to_string(i - 1) + "]: " + g.name + " is configured twice");
      p.groups.push_back(std::move(g));
    }
  }
  return std::nullopt;
}

// [clock] (docs/config.md): SNTP servers for a trusted time (RFC 4330).
std::optional<Error> read_clock(const Reader& r, const toml::table& t, clock::SntpConfig& c) {
  const std::string sec = "clock";
  if (auto e = r.only(t, sec, {"ntp_servers", "sync_timeout_s", "resync_interval_s"})) return e;
  if (const toml::node* n = t.get("ntp_servers")) {
    const toml::array* arr = n->as_array();
    if (!arr) return r.error(n, "clock.ntp_servers must be an array of \"host:port\" strings");
    if (arr->size() > 16) return r.error(n, "clock.ntp_servers: at most 16 servers");
    for (const toml::node& item : *arr) {
      if (!item.is_string()) return r.error(&item, "clock.ntp_servers entries must be strings");
      std::string v = *item.value<std::string>();
      if (auto a = clock::parse_server(v); !a) return r.error(&item, "clock.ntp_servers: " + a.error().message);
      c.servers.push_back(v);
    }
  }
  int timeout_s = static_cast<int>(c.sync_timeout.count() / 1000);
  int resync_s = static_cast<int>(c.resync_interval.count() / 1000);
  if (auto e = r.integer(t, "sync_timeout_s", timeout_s, 1, 120, sec)) return e;
  if (auto e = r.integer(t, "resync_interval_s", resync_s, 0, 7 * 86400, sec)) return e;
  if (resync_s != 0 && resync_s < 16)
    return r.error(t.get("resync_interval_s"), "clock.resync_interval_s must be 0 (once) or at least 16 (RFC 4330 section 10)");
  c.sync_timeout = std::chrono::milliseconds(std::int64_t{timeout_s} * 1000);
  c.resync_interval = std::chrono::milliseconds(std::int64_t{resync_s} * 1000);
  return std::nullopt;
}

}  // namespace

// [provisioning] (docs/provisioning.md).
std::optional<Error> read_provisioning(const Reader& r, const toml::table& t, ProvisioningSettings& p) {
  const std::string sec = "provisioning";
  if (auto e = r.only(t, sec, {"url", "ca_file", "client_cert", "client_key", "mac", "serial", "model", "interval_s",
                               "rollback_after_s", "timeout_s", "max_bytes"}))
    return e;
  if (auto e = r.str(t, "url", p.url, sec)) return e;
  if (!p.url.empty() && p.url.rfind("https://", 0) != 0)
    return r.error(t.get("url"), "provisioning.url must start with https://");
  if (auto e = r.path(t, "ca_file", p.ca_file, sec)) return e;
  if (!p.url.empty() && p.ca_file.empty()) return r.error(t.get("url"), "provisioning.url needs provisioning.ca_file");
  if (auto e = r.path(t, "client_cert", p.client_cert, sec)) return e;
  if (auto e = r.path(t, "client_key", p.client_key, sec)) return e;
  if (auto e = r.str(t, "mac", p.mac, sec)) return e;
  if (auto e = r.str(t, "serial", p.serial, sec)) return e;
  if (auto e = r.str(t, "model", p.model, sec)) return e;
  if (auto e = r.integer(t, "interval_s", p.interval_s, 0, 7 * 86400, sec)) return e;
  if (auto e = r.integer(t, "rollback_after_s", p.rollback_after_s, 0, 86400, sec)) return e;
  if (auto e = r.integer(t, "timeout_s", p.timeout_s, 1, 600, sec)) return e;
  if (auto e = r.integer(t, "max_bytes", p.max_bytes, 1024, 64L << 20, sec)) return e;
  return std::nullopt;
}

Result<Config> parse_config(std::string_view text, const std::string& base_dir, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return make_error("config", source_name + ":" + std::to_string(e.source().begin.line) + ": " +
                                    std::string(e.description()));
  }
  Reader r(source_name, base_dir);
  Config c;
  c.source = source_name;
  if (auto e = r.only(root, "the top level", {"account", "tls", "sip", "phone", "diagnostics", "emergency", "paging", "clock", "provisioning", "web"})) return *e;
  if (const toml::node* n = root.get("account")) {
    const toml::array* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return r.error(n, "account must be written as [[account]] tables");
    std::size_t i = 0;
    for (const auto& item : *arr) {
      ua::AccountSettings a;
      AccountMedia m;
      if (auto e = read_account(r, *item.as_table(), i++, a, m)) return *e;
      c.accounts.push_back(std::move(a));
      c.account_media.push_back(m);
    }
  }
  if (const toml::node* n = root.get("tls")) {
    if (!n->is_table()) return r.error(n, "tls must be a table");
    if (auto e = read_tls(r, *n->as_table(), c.transport.tls)) return *e;
    if (auto e = read_tls_listener(r, *n->as_table(), c.require_client_cert)) return *e;
  }
  if (const toml::node* n = root.get("phone")) {
    if (!n->is_table()) return r.error(n, "phone must be a table");
    if (auto e = read_phone(r, *n->as_table(), c)) return *e;
  }
  if (const toml::node* n = root.get("emergency")) {
    if (!n->is_table()) return r.error(n, "emergency must be a table");
    const toml::table& t = *n->as_table();
    const std::string sec = "emergency";
    if (auto e = r.only(t, sec, {"targets", "fallback", "ring_timeout_s", "input_file", "poll_ms"})) return *e;
    EmergencyConfig& em = c.emergency;
    if (const toml::node* tn = t.get("targets")) {
      const toml::array* arr = tn->as_array();
      if (!arr) return r.error(tn, "emergency.targets must be an array of numbers or SIP URIs");
      for (const auto& item : *arr) {
        auto v = item.value<std::string>();
        if (!v || v->empty()) return r.error(&item, "emergency.targets entries must be non-empty strings");
        em.targets.push_back(*v);
      }
    }
    if (auto e = r.str(t, "fallback", em.fallback, sec)) return *e;
    if (em.fallback.empty()) em.fallback = "next-target";
    if (em.fallback != "none" && em.fallback != "next-target" && em.fallback != "cleartext")
      return r.error(t.get("fallback"), "emergency.fallback must be \"none\", \"next-target\" or \"cleartext\"");
    std::int64_t ring = em.ring_timeout.count() / 1000, poll = em.poll_interval.count();
    if (auto e = r.integer(t, "ring_timeout_s", ring, 1, 600, sec)) return *e;
    if (auto e = r.integer(t, "poll_ms", poll, 10, 10000, sec)) return *e;
    em.ring_timeout = std::chrono::milliseconds(ring * 1000);
    em.poll_interval = std::chrono::milliseconds(poll);
    if (auto e = r.path(t, "input_file", em.input_file, sec)) return *e;
  }
  if (const toml::node* n = root.get("paging")) {
    if (!n->is_table()) return r.error(n, "paging must be a table");
    if (auto e = read_paging(r, *n->as_table(), c.paging)) return *e;
  }
  if (const toml::node* n = root.get("provisioning")) {
    if (!n->is_table()) return r.error(n, "provisioning must be a table");
    if (auto e = read_provisioning(r, *n->as_table(), c.provisioning)) return *e;
  }
  if (const toml::node* n = root.get("clock")) {
    if (!n->is_table()) return r.error(n, "clock must be a table");
    if (auto e = read_clock(r, *n->as_table(), c.clock)) return *e;
  }
  if (const toml::node* n = root.get("web")) {
    // docs/config.md [web]: the HTTPS admin page
    if (!n->is_table()) return r.error(n, "web must be a table");
    const toml::table& t = *n->as_table();
    if (auto e = r.only(t, "web", {"listen", "password_hash", "metrics_token_file", "cert", "key", "session_timeout_s",
                                   "max_connections", "http_redirect_listen"}))
      return *e;
    WebConfig& w = c.web;
    if (auto e = r.str(t, "listen", w.listen, "web")) return *e;
    if (auto e = r.str(t, "password_hash", w.password_hash, "web")) return *e;
    if (!w.password_hash.empty() && w.password_hash.rfind("$scrypt$", 0) != 0)
      return r.error(t.get("password_hash"), "web.password_hash must be the output of `exphone web hash-password`");
    if (auto e = r.path(t, "metrics_token_file", w.metrics_token_file, "web")) return *e;
    if (auto e = r.path(t, "cert", w.cert, "web")) return *e;
    if (auto e = r.path(t, "key", w.key, "web")) return *e;
    if (w.cert.empty() != w.key.empty()) return r.error(n, "web.cert and web.key go together");
    if (auto e = r.integer(t, "session_timeout_s", w.session_timeout_s, 60, 86400, "web")) return *e;
    if (auto e = r.integer(t, "max_connections", w.max_connections, 1, 1024, "web")) return *e;
    if (auto e = r.str(t, "http_redirect_listen", w.http_redirect_listen, "web")) return *e;
    if (!w.http_redirect_listen.empty() && w.listen.empty())
      return r.error(t.get("http_redirect_listen"), "web.http_redirect_listen redirects to web.listen, which is not set");
  }
  if (const toml::node* n = root.get("diagnostics")) {
    // docs/diagnostics.md: key exports for troubleshooting, off by default
    if (!n->is_table()) return r.error(n, "diagnostics must be a table");
    const toml::table& t = *n->as_table();
    if (auto e = r.only(t, "diagnostics", {"tls_keylog_file", "srtp_keylog_file"})) return *e;
    std::string tls_keylog;
    if (auto e = r.path(t, "tls_keylog_file", tls_keylog, "diagnostics")) return *e;
    if (!tls_keylog.empty()) {
      if (!c.transport.tls.keylog_file.empty() && c.transport.tls.keylog_file != tls_keylog)
        return r.error(t.get("tls_keylog_file"), "diagnostics.tls_keylog_file and tls.keylog_file name different files");
      c.transport.tls.keylog_file = tls_keylog;
    }
    if (auto e = r.path(t, "srtp_keylog_file", c.srtp_keylog_file, "diagnostics")) return *e;
  }
  if (const toml::node* n = root.get("sip")) {
    if (!n->is_table()) return r.error(n, "sip must be a table");
    if (auto e = read_sip(r, *n->as_table(), c)) return *e;
  }
  if (!c.outbound) {
    c.instance_id.clear();
    c.instance_id_source.clear();
  }
  for (auto& a : c.accounts)
    if (!c.instance_id.empty()) a.outbound = ua::OutboundFlow{c.instance_id, 1};
  return c;
}

ua::MediaPolicy Config::media_for(std::size_t account) const {
  ua::MediaPolicy p = media;
  if (account < account_media.size()) {
    p.srtp = account_media[account].srtp.value_or(p.srtp);
    p.key_exchange = account_media[account].key_exchange.value_or(p.key_exchange);
  }
  return p;
}

bool Config::uses_dtls() const {
  for (std::size_t i = 0; i <= accounts.size(); ++i) {
    ua::MediaPolicy p = media_for(i);
    if (p.srtp != ua::SrtpPolicy::kOff && p.key_exchange != ua::KeyExchange::kSdes) return true;
  }
  return false;
}

void resolve_instance_id(Config& c, const std::string& machine_id_file) {
  if (!c.outbound || !c.instance_id.empty()) return;
  // RFC 5626 section 4.1: the same URN across reboots. machine-id(5) is that per installation;
  // the id is a hash of it, so the machine id itself never goes on the wire.
  std::ifstream in(machine_id_file);
  std::string machine_id;
  if (in) std::getline(in, machine_id);
  if (auto id = ua::instance_id_from_machine_id(text::trim(machine_id))) {
    c.instance_id = *id;
    c.instance_id_source = "machine-id";
  } else {
    c.instance_id = ua::random_instance_id();
    c.instance_id_source = "random";
  }
  for (auto& a : c.accounts) a.outbound = ua::OutboundFlow{c.instance_id, 1};
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("config", path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > (1u << 20)) return make_error("config", path + ": larger than 1 MiB");
  // Relative paths resolve against the folder of the file itself: a provisioned config is a
  // symlink to its generation folder (docs/provisioning.md), whose certificates sit beside it.
  std::error_code canon_ec;
  std::filesystem::path real = std::filesystem::canonical(path, canon_ec);
  std::string base = (canon_ec ? std::filesystem::path(path) : real).parent_path().string();
  auto c = parse_config(text, base.empty() ? "." : base, path);
  if (c) resolve_instance_id(*c, "/etc/machine-id");
  return c;
}

}  // namespace exphone::phone
