#include "web/pages.h"

#include "web/auth.h"

namespace exphone::web {

using json = nlohmann::ordered_json;

namespace {

std::string s(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string e(const std::string& v) { return html_escape(v); }

std::string frame(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + e(title) +
         " - exphone</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.ok{color:#070}.bad{color:#a00}.warn{color:#a60}"
         ".lock{font-size:1.4em}</style></head><body>\n" +
         body + "\n</body></html>\n";
}

// The padlock as inline SVG (an emoji needs a font the device's browser may not have, and the
// CSP allows no image files): closed and green, or open and red.
std::string lock_icon(bool closed) {
  const char* color = closed ? "#070" : "#a00";
  const char* shackle = closed ? "M5 7V5a3 3 0 0 1 6 0v2" : "M5 7V5a3 3 0 0 1 6 0";
  return std::string("<svg width=\"16\" height=\"18\" viewBox=\"0 0 16 18\" aria-hidden=\"true\"><path d=\"") + shackle +
         "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/><rect x=\"2\" y=\"7\" width=\"12\" height=\"10\" rx=\"1\" fill=\"" +
         color + "\"/></svg>";
}

}  // namespace

std::string page(const std::string& title, const std::string& body) { return frame(title, body); }

std::string nav() {
  return "<nav><a href=\"/\">Status</a> | <a href=\"/account\">SIP account</a> | <a href=\"/certificates\">Certificates</a> | "
         "<a href=\"/diagnostics\">Diagnostics</a></nav>\n";
}

std::string login_page(const std::string& form_token, const std::string& message, bool no_password) {
  std::string b = "<h1>exphone</h1>\n";
  if (!message.empty()) b += "<p class=\"bad\" id=\"message\">" + e(message) + "</p>\n";
  if (no_password) {
    b += "<p class=\"bad\">No admin password is set. Run <code>exphone web hash-password</code> and put its output "
         "into <code>[web] password_hash</code> of the device configuration.</p>\n";
    return frame("Log in", b);
  }
  if (!form_token.empty())
    b += "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"" + e(form_token) +
         "\"><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" "
         "autofocus></label> <button type=\"submit\">Log in</button></form>\n";
  return frame("Log in", b);
}

std::string insecure_reason(const json& c) {
  if (c.value("secure", false)) return "";
  std::vector<std::string> why;
  const json& sig = c.contains("signaling") ? c["signaling"] : json::object();
  std::string transport = s(sig, "transport");
  if (transport != "tls" && transport != "TLS" && transport != "wss" && transport != "WSS")
    why.push_back("signaling over " + (transport.empty() ? std::string("an unknown transport") : transport) + ", not TLS");
  else if (!sig.contains("tls") || !sig["tls"].value("verified", false))
    why.push_back("the TLS peer is not verified");
  const json& media = c.contains("media") ? c["media"] : json::object();
  if (!media.value("srtp", false)) why.push_back("media is not SRTP");
  if (why.empty()) why.push_back("not secure");
  std::string out;
  for (const auto& w : why) out += (out.empty() ? "" : "; ") + w;
  return out;
}

// Attacks on the media show here, not as a lost padlock (CallReport::secure).
std::string dropped_note(const json& media) {
  auto n = [&](const char* k) { return media.contains(k) && media[k].is_number_unsigned() ? media[k].get<std::uint64_t>() : 0; };
  const std::uint64_t forged = n("srtp_auth_failures"), replayed = n("replays_dropped");
  if (forged + replayed == 0) return "";
  return "<br><span class=\"warn dropped\">dropped: " + std::to_string(forged) + " failing SRTP authentication, " +
         std::to_string(replayed) + " replayed</span>";
}

std::string status_page(const json& st, const std::string& csrf, const json& extras) {
  std::string b = nav() + "<h1>exphone status</h1>\n<form method=\"post\" action=\"/logout\"><input type=\"hidden\" "
                  "name=\"csrf\" value=\"" + e(csrf) + "\"><button type=\"submit\">Log out</button></form>\n";
  b += "<h2>Accounts</h2>\n<table id=\"accounts\"><tr><th>Account</th><th>State</th><th>Transport</th><th>Registrar</th>"
       "<th>TLS</th><th>Peer certificate</th><th>Problem</th><th>SRTP (key exchange)</th></tr>\n";
  if (st.contains("accounts") && st["accounts"].is_array()) {
    for (const auto& a : st["accounts"]) {
      bool reg = a.value("registered", false);
      std::string tls = "-", peer = "-";
      if (a.contains("tls") && a["tls"].is_object()) {
        const json& t = a["tls"];
        tls = s(t, "version") + " " + s(t, "cipher") + (t.value("verified", false) ? " (verified)" : " (NOT verified)");
        peer = s(t, "peer_subject");
        if (t.contains("peer_days_left")) peer += " (expires " + s(t, "peer_not_after") + ", " + s(t, "peer_days_left") + " days)";
      }
      std::string problem = a.contains("error") ? s(a["error"], "code") + ": " + s(a["error"], "message") : "";
      b += "<tr class=\"account\" data-registered=\"" + std::string(reg ? "true" : "false") + "\"><td>" + e(s(a, "name")) +
           "</td><td class=\"" + (reg ? "ok" : "bad") + "\">" + e(s(a, "state")) + "</td><td>" + e(s(a, "transport")) +
           "</td><td>" + e(s(a, "registrar")) + "</td><td>" + e(tls) + "</td><td>" + e(peer) + "</td><td>" + e(problem) +
           "</td><td>" + e(s(a, "srtp")) + (a.contains("key_exchange") ? " (" + e(s(a, "key_exchange")) + ")" : "") + "</td></tr>\n";
    }
  }
  b += "</table>\n<h2>Calls</h2>\n";
  if (!st.contains("calls") || !st["calls"].is_array() || st["calls"].empty()) {
    b += "<p id=\"no-calls\">No active calls.</p>\n";
  } else {
    b += "<table id=\"calls\"><tr><th></th><th>Peer</th><th>State</th><th>Transport</th><th>Media</th><th>Security</th></tr>\n";
    for (const auto& c : st["calls"]) {
      bool secure = c.value("secure", false);
      const json& media = c.contains("media") ? c["media"] : json::object();
      std::string med = s(media, "codec") + (media.value("srtp", false) ? " SRTP " + s(media, "suite") + " (" + s(media, "key_exchange") + ")" : " RTP");
      b += "<tr class=\"call\" data-secure=\"" + std::string(secure ? "true" : "false") + "\"><td class=\"lock\">" +
           (secure ? "<span class=\"padlock\" title=\"secure: TLS to a verified peer and SRTP\" aria-label=\"secure\">" +
                         lock_icon(true) + "</span>"
                   : "<span class=\"no-padlock\" title=\"not secure\" aria-label=\"not secure\">" + lock_icon(false) + "</span>") +
           "</td><td>" + e(s(c, "peer")) + "</td><td>" + e(s(c, "state")) + "</td><td>" +
           e(c.contains("signaling") ? s(c["signaling"], "transport") : "") + "</td><td>" + e(med) + "</td><td>" +
           (secure ? std::string("secure") : "<span class=\"bad insecure-reason\">" + e(insecure_reason(c)) + "</span>") +
           dropped_note(media) + "</td></tr>\n";
    }
    b += "</table>\n";
  }
  if (extras.is_object() && extras.contains("certificates")) {
    // certificate expiry at a glance: the device's and every trusted CA's
    std::string rows;
    int expiring = 0;
    auto add = [&](const std::string& what, const json& file) {
      for (const auto& c : file.value("certificates", json::array())) {
        long days = c.value("days_left", 0L);
        if (days < 30) ++expiring;
        rows += "<tr><td>" + e(what) + "</td><td>" + e(s(c, "subject")) + "</td><td class=\"" + (days < 30 ? "bad" : "ok") + "\">" +
                e(s(c, "not_after")) + " (" + (days < 0 ? "EXPIRED" : std::to_string(days) + " days") + ")</td></tr>\n";
      }
    };
    const json& certs = extras["certificates"];
    if (certs.contains("device_certificate")) add("device", certs["device_certificate"]);
    for (const auto& f : certs.value("trusted_cas", json::array())) add("trusted CA " + s(f, "file"), f);
    b += "<h2>Certificates</h2>\n";
    if (expiring > 0) b += "<p class=\"bad\" id=\"cert-warning\">" + std::to_string(expiring) + " certificate(s) expire within 30 days or have expired.</p>\n";
    b += "<table id=\"certificates\"><tr><th>Certificate</th><th>Subject</th><th>Expires</th></tr>\n" + rows + "</table>\n";
  }
  if (extras.is_object() && extras.contains("audit") && extras["audit"].contains("errors")) {
    const json& a = extras["audit"];
    const int errors = a.value("errors", 0), warnings = a.value("warnings", 0);
    b += std::string("<p id=\"audit-count\" class=\"") + (errors > 0 ? "bad" : "ok") + "\">Security audit: " + std::to_string(errors) +
         " error(s), " + std::to_string(warnings) + " warning(s) (<a href=\"/diagnostics\">details</a>)</p>\n";
  }
  if (st.contains("clock") && st["clock"].is_object()) {
    const json& c = st["clock"];
    const bool sync = c.value("synchronized", false);
    b += "<h2>Clock</h2>\n<p id=\"clock\" class=\"" + std::string(sync || !c.value("ntp_configured", false) ? "ok" : "bad") + "\">" +
         e(s(c, "now")) + ", source " + e(s(c, "source")) + (c.value("ntp_configured", false) ? (sync ? ", NTP synchronized" : ", NTP NOT synchronized") : ", no NTP configured") +
         (c.value("plausible", true) ? "" : " (implausible: certificate checks fail until NTP answers)") + "</p>\n";
  }
  if (st.contains("warnings") && st["warnings"].is_array() && !st["warnings"].empty()) {
    b += "<h2>Warnings</h2>\n<ul id=\"warnings\">";
    for (const auto& w : st["warnings"]) b += "<li>" + e(w.is_string() ? w.get<std::string>() : w.dump()) + "</li>";
    b += "</ul>\n";
  }
  return frame("Status", b);
}

std::string error_page(const std::string& title, const std::string& message) {
  return frame(title, "<h1>" + e(title) + "</h1><p>" + e(message) + "</p><p><a href=\"/\">Back</a></p>");
}

}  // namespace exphone::web
