#include "tools/audit/audit.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "phone/config.h"
#include "tools/audit/certs.h"
#include "ua/registration.h"

namespace exphone::audit {

namespace {

using advise::Network;
using advise::Requirement;

int line_of(const toml::node* n) { return n && n->source().begin ? static_cast<int>(n->source().begin.line) : 0; }

class Auditor {
 public:
  Auditor(const toml::table& root, const Options& o, Report& r) : root_(root), o_(o), r_(r) {}

  const toml::node* node(std::string_view path) const {
    toml::node_view<const toml::node> v = root_.at_path(path);
    return v.node();
  }
  // the key's line, else its table's header line, else 0
  int line(std::string_view path) const {
    if (const toml::node* n = node(path)) return line_of(n);
    std::size_t dot = path.rfind('.');
    return dot == std::string_view::npos ? 0 : line(path.substr(0, dot));
  }
  std::string str(std::string_view path) const {
    const toml::node* n = node(path);
    return n && n->is_string() ? *n->value<std::string>() : std::string();
  }

  void add(std::string id, Severity s, std::string key, std::string risk, std::string fix) {
    int l = line(key);
    r_.findings.push_back({std::move(id), s, l, std::move(key), std::move(risk), std::move(fix)});
  }
  void add(Finding f) {
    if (f.line == 0 && !f.key.empty()) f.line = line(f.key);
    r_.findings.push_back(std::move(f));
  }

  // Severity of a missing protection on this network: mandatory -> error, recommended -> warning,
  // optional -> info; unknown network -> `unknown`.
  Severity by_network(Severity unknown) const {
    if (!o_.network) return unknown;
    switch (advise::network_rule(*o_.network).tls_srtp) {
      case Requirement::kMandatory: return Severity::kError;
      case Requirement::kRecommended: return Severity::kWarning;
      case Requirement::kOptional: return Severity::kInfo;
    }
    return unknown;
  }
  std::string network_why() const {
    return o_.network ? std::string(" (") + advise::network_rule(*o_.network).why + ")" : "";
  }

  // Rules that need only the raw TOML: they work even when the loader refuses the file.
  void raw_rules() {
    std::string v = str("tls.min_version");
    if (!v.empty() && v != "1.2" && v != "1.3")
      add("tls-min-version-old", Severity::kError, "tls.min_version",
          "TLS " + v + " is broken and deprecated (RFC 8996); exphone refuses to load this config",
          "min_version = \"1.2\" (or \"1.3\" when the PBX supports it)");
    for (auto [key, id, what] : {std::tuple{"tls.keylog_file", "tls-keylog-enabled", "TLS secrets"},
                                 {"diagnostics.tls_keylog_file", "tls-keylog-enabled", "TLS secrets"},
                                 {"diagnostics.srtp_keylog_file", "srtp-key-export-enabled", "SRTP master keys"}}) {
      if (!str(key).empty())
        add(id, Severity::kError, key,
            std::string(what) + " are written to " + str(key) +
                ": anyone who gets that file and a capture can decrypt the calls",
            "remove " + std::string(key) + " (set it only while troubleshooting, then delete the file)");
    }
  }

  void srtp_rule(ua::SrtpPolicy policy, const std::string& key, const std::string& whose) {
    if (policy == ua::SrtpPolicy::kMandatory) return;
    bool off = policy == ua::SrtpPolicy::kOff;
    Severity s;
    if (!o_.network) s = off ? Severity::kWarning : Severity::kInfo;
    else {
      Requirement req = advise::network_rule(*o_.network).tls_srtp;
      s = req == Requirement::kMandatory ? Severity::kError
          : req == Requirement::kRecommended ? Severity::kWarning
          : Severity::kInfo;
    }
    add(off ? "srtp-off" : "srtp-optional", s, key,
        whose + (off ? "media is never encrypted: anyone on the path can record the calls" + network_why()
                     : "calls fall back to unencrypted RTP whenever the far end offers no key, without anyone noticing" +
                           network_why()),
        "srtp = \"mandatory\" (the PBX extension set to SRTP/\"Secure SIP\")");
  }

  void config_rules(const phone::Config& c, std::optional<unsigned> file_mode, const std::string& source) {
    const auto& tls = c.transport.tls;
    bool any_tls = !c.tls_listen.empty();
    for (std::size_t i = 0; i < c.accounts.size(); ++i) {
      const auto& a = c.accounts[i];
      std::string sec = "account[" + std::to_string(i) + "]";
      auto reg = ua::registrar_address(a);
      net::Protocol p = reg ? reg->protocol : net::Protocol::kUdp;
      std::string key = sec + (node(sec + ".transport") ? ".transport" : node(sec + ".registrar") ? ".registrar" : "");
      if (net::uses_tls(p)) {
        any_tls = true;
        continue;
      }
      std::string proto(net::to_string(p));
      const ua::SrtpPolicy srtp = c.media_for(i).srtp;
      if (srtp != ua::SrtpPolicy::kOff) {
        bool mandatory = srtp == ua::SrtpPolicy::kMandatory;
        add("sdes-without-tls", mandatory || c.media.allow_sdes_over_insecure_transport ? Severity::kError : by_network(Severity::kWarning),
            key,
            "account '" + a.name + "' signals over " + proto + ": SDES keys need TLS, so " +
                (c.media.allow_sdes_over_insecure_transport ? "the SRTP keys cross the network in clear text"
                 : mandatory ? "every call with SRTP mandatory fails"
                             : "its calls silently fall back to unencrypted RTP"),
            "transport = \"tls\" and registrar = \"sips:" + a.domain + "\" (the PBX on its TLS port, 5061)");
      } else {
        add("signaling-not-tls", by_network(Severity::kWarning), key,
            "account '" + a.name + "' signals over " + proto + ": passwords' digests, numbers and call setup are readable and "
            "forgeable on the wire" + network_why(),
            "transport = \"tls\" and registrar = \"sips:" + a.domain + "\"");
      }
    }
    if (c.media.allow_sdes_over_insecure_transport)
      add("sdes-over-insecure-transport", Severity::kError, "phone.allow_sdes_over_insecure_transport",
          "SRTP keys may be sent in SDP over UDP/TCP, where anyone on the path reads them and decrypts the audio",
          "allow_sdes_over_insecure_transport = false (lab use only) and use TLS");

    // SRTP against the network's requirement: [phone]'s policy (peer-to-peer calls and every
    // account without its own), then each account that sets its own
    srtp_rule(c.media.srtp, "phone.srtp", "");
    for (std::size_t i = 0; i < c.accounts.size() && i < c.account_media.size(); ++i)
      if (c.account_media[i].srtp)
        srtp_rule(*c.account_media[i].srtp, "account[" + std::to_string(i) + "].srtp", "account '" + c.accounts[i].name + "': ");

    if (!tls.verify_server)
      add("tls-verify-off", Severity::kError, "tls.verify_server",
          "the server certificate is not checked, so anyone who can redirect traffic poses as the PBX and collects "
          "credentials and calls",
          "verify_server = true with the site CA in ca_files (exphone check-server shows what fails)");

    for (auto& f : check_ciphers(tls.ciphers, tls.ciphersuites)) add(std::move(f));

    if (any_tls) {
      if (tls.ca_files.empty() && !tls.use_system_store && tls.verify_server)
        add("tls-no-trust-store", Severity::kError, "tls.ca_files",
            "TLS is used but no CA is trusted, so no server certificate verifies and every TLS connection fails",
            "ca_files = [\"plant-root-ca.pem\"] (the site root CA)");
      if (!o_.assume_ntp && !time_sync_configured(o_.time_sync_files))
        add("ntp-missing", Severity::kWarning, "",
            "TLS is used but no NTP server is configured on this host: a clock that drifts or resets makes every "
            "certificate look expired or not yet valid",
            "configure NTP (chrony or systemd-timesyncd with the site's time server); `--assume-ntp` when the device "
            "image does");
    }

    std::time_t now = o_.now ? o_.now : std::time(nullptr);
    for (std::size_t i = 0; i < tls.ca_files.size(); ++i) {
      CertRef ref{tls.ca_files[i], "tls.ca_files", line("tls.ca_files[" + std::to_string(i) + "]")};
      if (ref.line == 0) ref.line = line("tls.ca_files");
      for (auto& f : check_ca_file(ref, now, o_.warn_days)) add(std::move(f));
    }
    if (!tls.client_cert.empty()) {
      CertRef cert{tls.client_cert, "tls.client_cert", line("tls.client_cert")};
      CertRef key = tls.client_key.empty() ? CertRef{tls.client_cert, "tls.client_cert", cert.line}
                                           : CertRef{tls.client_key, "tls.client_key", line("tls.client_key")};
      for (auto& f : check_client_cert(cert, key, tls.client_key_passphrase, now, o_.warn_days)) add(std::move(f));
    } else if (!tls.client_key.empty()) {
      add("client-cert-missing", Severity::kError, "tls.client_key", "tls.client_key is set without tls.client_cert: mutual TLS fails",
          "set client_cert to the device certificate");
    }

    // Who may call: P2P calls and auto-answer
    for (std::size_t i = 0; i < c.allow_peers.size(); ++i) {
      const std::string& p = c.allow_peers[i];
      unsigned char buf[16];
      bool ip = inet_pton(AF_INET, p.c_str(), buf) == 1 || inet_pton(AF_INET6, p.c_str(), buf) == 1;
      bool wildcard = p == "0.0.0.0" || p == "::" || p == "*" || p == "any" || p.find('/') != std::string::npos;
      if (wildcard || !ip) {
        std::string key = "phone.allow_peers[" + std::to_string(i) + "]";
        add("p2p-any-address", Severity::kError, key,
            "allow_peers entry '" + p + "' means to accept peer-to-peer calls from any address: anyone on the network "
            "could ring the phone or open its microphone (exphone matches single addresses only, so it is also ineffective)",
            "list the dispatcher's addresses one by one, or better use mutual TLS (verified device certificates)");
      }
    }
    if (!c.tls_listen.empty() && tls.use_system_store)
      add("p2p-any-certificate", Severity::kError, "tls.use_system_store",
          "the TLS listener accepts any client whose certificate chains to a public CA as a verified peer: anyone "
          "with a web certificate can call the phone",
          "use_system_store = false; trust only the site CA for peers");
    if (!c.tcp_listen.empty())
      add("p2p-plaintext-listener", by_network(Severity::kWarning), "sip.tcp_listen",
          "the phone accepts SIP over plain TCP: peer calls are unauthenticated and readable on the wire",
          "remove tcp_listen; use tls_listen with require_client_cert = true");
    if (c.emergency.fallback == "cleartext")
      add("emergency-cleartext-fallback", Severity::kWarning, "emergency.fallback",
          "an emergency call may leave TLS and go out over UDP in clear when every TLS target fails: it can then "
          "be overheard or spoofed on the network",
          "fallback = \"next-target\" with a peer-to-peer dispatcher reachable over TLS, unless reaching someone "
          "in clear is the site's explicit decision");
    if (!c.emergency.targets.empty() && c.emergency.fallback == "none" && c.emergency.targets.size() > 1)
      add("emergency-fallback-none", Severity::kInfo, "emergency.fallback",
          "fallback = \"none\": only the first of the emergency targets is ever called",
          "fallback = \"next-target\" to walk the list");
    for (std::size_t i = 0; i < c.paging.groups.size(); ++i) {  // docs/paging.md
      const auto& g = c.paging.groups[i];
      if (g.secure) continue;
      const bool urgent = g.priority != phone::PagePriority::kNormal;
      add("paging-plain-rtp", urgent ? Severity::kError : Severity::kWarning, "paging.group[" + std::to_string(i) + "].secure",
          "paging group " + g.name + " takes plain RTP: anyone on the network can inject a page or replay an old one" +
              (urgent ? " (" + std::string(phone::page_priority_name(g.priority)) + " priority: it interrupts pages and holds calls)" : ""),
          "secure = true with a group key (exphone page keygen) on every sender and receiver");
    }
    if (c.auto_answer && c.auto_answer_unauthenticated)
      add("auto-answer-unauthenticated", Severity::kError, "phone.auto_answer_unauthenticated",
          "auto-answer takes callers that did not arrive over verified TLS: anyone who can send a UDP packet from an "
          "allowed address opens the microphone",
          "remove auto_answer_unauthenticated (lab only); call the intercom over TLS with a device certificate");
    if (c.auto_answer && c.allow_peers.empty() && c.auto_answer_from.empty())
      add("auto-answer-no-allowlist", Severity::kError, "phone.auto_answer",
          "auto-answer without an allowlist: any caller that reaches the phone (every PBX extension, every device "
          "certificate) opens its microphone at once",
          "set [phone] allow_peers to the dispatchers' addresses, or auto_answer = false");

    // Secrets in a file others can read
    bool secrets = !tls.client_key_passphrase.empty();
    for (std::size_t i = 0; i < c.accounts.size(); ++i)
      if (c.accounts[i].password == "CHANGE-ME")
        add("password-placeholder", Severity::kWarning, "account[" + std::to_string(i) + "].password",
            "the password is still the placeholder `exphone advise` wrote: the phone will fail to register",
            "set the extension's SIP password");
    for (const auto& a : c.accounts) secrets = secrets || !a.password.empty();
    if (secrets && file_mode && (*file_mode & 077))
      add("password-file-readable", Severity::kError, "",
          "the config holds passwords and " + source + " is readable by group or others (mode " +
              std::to_string((*file_mode >> 6) & 7) + std::to_string((*file_mode >> 3) & 7) + std::to_string(*file_mode & 7) +
              "): any local user can take over the SIP account",
          "chmod 600 " + source + " (owner: the exphone user)");
  }

 private:
  const toml::table& root_;
  const Options& o_;
  Report& r_;
};

int line_from_message(const std::string& msg, const std::string& source) {
  // "SOURCE:LINE: ..."
  if (msg.compare(0, source.size() + 1, source + ":") != 0) return 0;
  int line = 0;
  for (std::size_t i = source.size() + 1; i < msg.size() && msg[i] >= '0' && msg[i] <= '9'; ++i) line = line * 10 + (msg[i] - '0');
  return line;
}

void finish(Report& r) {
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return static_cast<int>(a.severity) < static_cast<int>(b.severity);
    return a.line < b.line;
  });
  for (const auto& f : r.findings) {
    if (f.severity == Severity::kError) ++r.errors;
    else if (f.severity == Severity::kWarning) ++r.warnings;
    else ++r.infos;
  }
}

}  // namespace

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "?";
}

std::vector<std::string> Options::default_time_sync_files() {
  return {"/etc/chrony/chrony.conf",
          "/etc/chrony.conf",
          "/etc/ntp.conf",
          "/etc/ntpsec/ntp.conf",
          "/etc/systemd/timesyncd.conf",
          "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"};
}

Report audit_text(std::string_view text, const std::string& base_dir, const std::string& source, const Options& o,
                  std::optional<unsigned> file_mode) {
  Report r;
  r.source = source;
  r.network = o.network;
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    r.findings.push_back({"config-invalid", Severity::kError, static_cast<int>(e.source().begin.line), "",
                          "the file is not valid TOML (" + std::string(e.description()) + "): the phone does not start",
                          "fix the syntax at that line (exphone config check shows it)"});
    finish(r);
    return r;
  }
  Auditor a(root, o, r);
  a.raw_rules();
  auto config = phone::parse_config(text, base_dir, source);
  if (!config) {
    r.findings.push_back({"config-invalid", Severity::kError, line_from_message(config.error().message, source), "",
                          "the phone refuses this config: " + config.error().message,
                          "correct it as the message says (docs/config.md lists every key)"});
  } else {
    a.config_rules(*config, file_mode, source);
  }
  finish(r);
  return r;
}

Result<Report> audit_file(const std::string& path, const Options& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("audit-io", path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > (1u << 20)) return make_error("audit-io", path + ": larger than 1 MiB");
  struct stat st {};
  std::optional<unsigned> mode;
  if (::stat(path.c_str(), &st) == 0) mode = static_cast<unsigned>(st.st_mode & 07777);
  std::string base = std::filesystem::path(path).parent_path().string();
  return audit_text(text, base.empty() ? "." : base, path, o, mode);
}

}  // namespace exphone::audit
