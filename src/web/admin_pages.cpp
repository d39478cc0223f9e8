// The admin pages that change the config: account, certificates, diagnostics (docs/config.md
// [web]). Server-rendered like pages.cpp: no scripts, every value escaped, every form with the
// session's CSRF token.
#include "web/auth.h"
#include "web/pages.h"

namespace exphone::web {

using json = nlohmann::ordered_json;

namespace {

std::string e(const std::string& v) { return html_escape(v); }

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string csrf_field(const std::string& csrf) { return "<input type=\"hidden\" name=\"csrf\" value=\"" + e(csrf) + "\">"; }

std::string message_line(const std::string& message, bool error) {
  if (message.empty()) return "";
  return std::string("<p id=\"message\" class=\"") + (error ? "bad" : "ok") + "\">" + e(message) + "</p>\n";
}

// The first option is the empty value ("the key is not set"), shown as `unset_label`.
std::string select(const std::string& name, const std::string& current, const std::string& unset_label,
                   std::initializer_list<const char*> options) {
  std::string s = "<select name=\"" + e(name) + "\"><option value=\"\"" + (current.empty() ? " selected" : "") + ">" +
                  e(unset_label) + "</option>";
  for (const char* o : options)
    s += std::string("<option value=\"") + o + "\"" + (current == o ? " selected" : "") + ">" + o + "</option>";
  return s + "</select>";
}

std::string text_input(const std::string& label, const std::string& name, const std::string& value) {
  return "<tr><th><label for=\"" + e(name) + "\">" + e(label) + "</label></th><td><input id=\"" + e(name) + "\" name=\"" + e(name) +
         "\" value=\"" + e(value) + "\" size=\"40\"></td></tr>\n";
}

// One row per certificate of a file; `last_cell` (a form, say) ends each row.
std::string cert_rows(const json& file, const std::string& last_cell = "") {
  if (file.contains("error")) {
    return "<tr><td>" + e(str(file, "file")) + "</td><td colspan=\"4\" class=\"bad\">" + e(str(file["error"], "message")) + "</td>" +
           last_cell + "</tr>\n";
  }
  std::string b;
  for (const auto& c : file.value("certificates", json::array())) {
    long days = c.value("days_left", 0L);
    b += "<tr class=\"cert\"><td>" + e(str(file, "file")) + "</td><td class=\"subject\">" + e(str(c, "subject")) + "</td><td>" +
         e(str(c, "issuer")) + "</td><td class=\"" + (days < 30 ? "bad" : "ok") + "\">" + e(str(c, "not_before")) + " .. " +
         e(str(c, "not_after")) + " (" + std::to_string(days) + " days)</td><td><code>" + e(str(c, "sha256_fingerprint")) +
         "</code></td>" + last_cell + "</tr>\n";
  }
  return b;
}

}  // namespace

std::string account_page(const json& a, const std::string& csrf, const std::string& message, bool error,
                         const std::string& read_only) {
  std::string b = nav() + "<h1>SIP account</h1>\n" + message_line(message, error);
  if (!read_only.empty()) b += "<p class=\"bad\">" + e(read_only) + "</p>\n";
  for (const auto& acc : a.value("accounts", json::array())) {
    const std::string idx = str(acc, "index");
    b += "<h2>" + e(str(acc, "name")) + "</h2>\n<form method=\"post\" action=\"/account\" class=\"account-form\">" + csrf_field(csrf) +
         "<input type=\"hidden\" name=\"index\" value=\"" + e(idx) + "\"><table>\n" +
         text_input("Registrar (sip: or sips: URI)", "registrar", str(acc, "registrar")) + text_input("Domain", "domain", str(acc, "domain")) +
         text_input("User", "user", str(acc, "user")) + text_input("Authentication user", "auth_user", str(acc, "auth_user")) +
         "<tr><th><label for=\"password\">Password</label></th><td><input id=\"password\" type=\"password\" name=\"password\" "
         "autocomplete=\"new-password\" placeholder=\"" +
         (acc.value("password_set", false) ? "(set; leave empty to keep it)" : "(none)") +
         "\"></td></tr>\n<tr><th>Transport</th><td>" + select("transport", str(acc, "transport"), "(from registrar URI)", {"udp", "tcp", "tls", "ws", "wss"}) +
         "</td></tr>\n<tr><th>SRTP</th><td>" +
         select("srtp", str(acc, "srtp"), "device default (" + str(a, "srtp") + ")", {"off", "optional", "mandatory"}) +
         "</td></tr>\n<tr><th>Key exchange</th><td>" +
         select("key_exchange", str(acc, "key_exchange"), "device default (" + str(a, "key_exchange") + ")", {"auto", "sdes", "dtls"}) +
         "</td></tr>\n</table><button type=\"submit\"" + (read_only.empty() ? "" : " disabled") +
         ">Save and re-register</button></form>\n";
  }
  return page("SIP account", b);
}

std::string certificates_page(const json& c, const std::string& csrf, const std::string& message, bool error,
                              const std::string& read_only) {
  std::string b = nav() + "<h1>Certificates</h1>\n" + message_line(message, error);
  if (!read_only.empty()) b += "<p class=\"bad\">" + e(read_only) + "</p>\n";
  b += "<h2>Trusted CAs</h2>\n<table id=\"trusted-cas\"><tr><th>File</th><th>Subject</th><th>Issuer</th><th>Valid</th>"
       "<th>SHA-256</th><th></th></tr>\n";
  for (const auto& f : c.value("trusted_cas", json::array())) {
    b += cert_rows(f, "<td><form method=\"post\" action=\"/certificates/ca/remove\">" + csrf_field(csrf) +
                          "<input type=\"hidden\" name=\"file\" value=\"" + e(str(f, "file")) +
                          "\"><button type=\"submit\">Remove</button></form></td>");
  }
  b += "</table>\n<form method=\"post\" action=\"/certificates/ca\" enctype=\"multipart/form-data\" id=\"ca-upload\">" + csrf_field(csrf) +
       "<label>Add a trusted CA (PEM or DER) <input type=\"file\" name=\"ca\" accept=\".pem,.crt,.cer,.der\"></label> "
       "<button type=\"submit\">Upload</button></form>\n";
  b += "<h2>Device certificate</h2>\n";
  if (c.contains("device_certificate")) {
    b += "<table id=\"device-cert\"><tr><th>File</th><th>Subject</th><th>Issuer</th><th>Valid</th><th>SHA-256</th></tr>\n" +
         cert_rows(c["device_certificate"]) + "</table>\n";
  } else {
    b += "<p>None: the phone cannot do mutual TLS.</p>\n";
  }
  b += "<form method=\"post\" action=\"/certificates/device\" enctype=\"multipart/form-data\" id=\"device-upload\">" + csrf_field(csrf) +
       "<label>Certificate (PEM, chain after it) <input type=\"file\" name=\"cert\"></label> <label>Private key (PEM; "
       "leave empty for a certificate issued for this phone's CSR) <input type=\"file\" name=\"key\"></label> "
       "<button type=\"submit\">Install</button></form>\n"
       "<form method=\"post\" action=\"/certificates/csr\" id=\"csr-form\">" + csrf_field(csrf) +
       "<label>Common name <input name=\"common_name\" size=\"30\"></label> <button type=\"submit\">Generate a key and "
       "CSR on the phone</button> (the key never leaves the phone)</form>\n";
  b += "<h2>Check a server</h2>\n<form method=\"post\" action=\"/certificates/check\" id=\"check-form\">" + csrf_field(csrf) +
       "<label>SIP server URI (empty: the first account's registrar) <input name=\"uri\" size=\"40\" placeholder=\"sips:pbx.plant.local\">"
       "</label> <button type=\"submit\">Check with the phone's trusted CAs</button></form>\n";
  return page("Certificates", b);
}

std::string diagnostics_page(const json& certs, const json& audit, const std::string& csrf, const std::string& message, bool error,
                             const std::string& read_only) {
  std::string b = nav() + "<h1>Diagnostics</h1>\n" + message_line(message, error);
  if (!read_only.empty()) b += "<p class=\"bad\">" + e(read_only) + "</p>\n";
  const json& k = certs.contains("key_export") ? certs["key_export"] : json::object();
  const bool on = !str(k, "tls_keylog_file").empty() || !str(k, "srtp_keylog_file").empty();
  b += "<h2>Key export</h2>\n";
  if (on) {
    b += "<p class=\"bad\" id=\"key-export-on\"><strong>Key export is ON.</strong> The TLS secrets (" + e(str(k, "tls_keylog_file")) +
         ") and SRTP master keys (" + e(str(k, "srtp_keylog_file")) +
         ") of every call are written to files on the phone: whoever gets them and a capture hears the calls. "
         "Turn it off when the troubleshooting is done.</p>\n";
  } else {
    b += "<p id=\"key-export-off\">Key export is off. Turning it on writes the TLS secrets and the SRTP keys of every call to "
         "files on the phone (mode 0600), so that Wireshark or <code>exphone diag</code> can decrypt a capture. Anyone holding "
         "those files and a capture can listen to the calls.</p>\n";
  }
  b += "<form method=\"post\" action=\"/diagnostics/key-export\">" + csrf_field(csrf) + "<input type=\"hidden\" name=\"enable\" value=\"" +
       (on ? "0" : "1") + "\"><button type=\"submit\">" + (on ? "Turn key export off" : "Turn key export on") + "</button></form>\n";
  b += "<h2>Log</h2>\n<p><a href=\"/diagnostics/log\" id=\"log-download\">Download the recent log</a> (the last 64 KiB the "
       "daemon printed: registrations, calls, logins, changes).</p>\n";
  b += "<h2>Security audit</h2>\n";
  if (audit.contains("error")) {
    b += "<p class=\"bad\">" + e(str(audit["error"], "message")) + "</p>\n";
  } else {
    b += "<p id=\"audit-summary\">" + str(audit, "errors") + " errors, " + str(audit, "warnings") + " warnings</p>\n"
         "<table id=\"audit\"><tr><th>Severity</th><th>Finding</th><th>Setting</th><th>Risk</th><th>Fix</th></tr>\n";
    for (const auto& f : audit.value("findings", json::array())) {
      b += "<tr class=\"finding " + e(str(f, "severity")) + "\"><td>" + e(str(f, "severity")) + "</td><td>" + e(str(f, "id")) + "</td><td>" +
           e(str(f, "key")) + "</td><td>" + e(str(f, "risk")) + "</td><td>" + e(str(f, "fix")) + "</td></tr>\n";
    }
    b += "</table>\n";
  }
  return page("Diagnostics", b);
}

std::string check_server_page(const json& r) {
  std::string b = nav() + "<h1>Server check</h1>\n";
  if (r.contains("error") && !r.contains("verified")) {
    return page("Server check", b + "<p id=\"verdict\" class=\"bad\">" + e(str(r["error"], "code")) + ": " + e(str(r["error"], "message")) + "</p>\n");
  }
  const bool verified = r.value("verified", false);
  const json& v = r.contains("verdict") ? r["verdict"] : json::object();
  b += "<p>" + e(str(r, "uri")) + " (" + e(str(r, "address")) + "), the name the certificate must carry: <code>" + e(str(r, "server_name")) +
       "</code></p>\n<p id=\"verdict\" class=\"" + (verified ? "ok" : "bad") + "\" data-verified=\"" + (verified ? "true" : "false") +
       "\">" + (verified ? "Certificate verified" : "Certificate NOT accepted: " + e(str(v, "code")) + ": " + e(str(v, "message"))) + "</p>\n";
  if (r.contains("tls") && r["tls"].is_object()) b += "<p>" + e(str(r["tls"], "version")) + " " + e(str(r["tls"], "cipher")) + "</p>\n";
  if (r.contains("options") && r["options"].is_object()) {
    const json& o = r["options"];
    b += "<p>OPTIONS: " + (o.value("answered", false) ? e(str(o, "status")) + " " + e(str(o, "reason")) : std::string("no answer")) + "</p>\n";
  }
  b += "<h2>Chain as sent</h2>\n<table id=\"chain\"><tr><th>Subject</th><th>Issuer</th><th>Valid</th><th>Names</th><th>SHA-256</th></tr>\n";
  for (const auto& c : r.value("chain", json::array())) {
    std::string names;
    for (const auto& n : c.value("san", json::array())) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    b += "<tr><td>" + e(str(c, "subject")) + "</td><td>" + e(str(c, "issuer")) + "</td><td>" + e(str(c, "not_before")) + " .. " +
         e(str(c, "not_after")) + "</td><td>" + e(names) + "</td><td><code>" + e(str(c, "sha256")) + "</code></td></tr>\n";
  }
  b += "</table>\n";
  for (const auto& w : r.value("warnings", json::array())) b += "<p class=\"bad\">" + e(str(w, "code")) + ": " + e(str(w, "message")) + "</p>\n";
  return page("Server check", b);
}

std::string csr_page(const std::string& csr_pem) {
  return page("CSR", nav() + "<h1>Certificate signing request</h1>\n<p>The phone made a new key (it stays on the phone) and "
                             "this request for it. Have the site CA sign it (your CA's tool, or <code>openssl x509 -req -in "
                             "phone.csr -CA ca.crt -CAkey ca.key -days 825 -copy_extensions copy</code>), then install the certificate on the <a href=\"/certificates\">Certificates</a> page "
                             "without a key file.</p>\n<pre id=\"csr\">" + e(csr_pem) + "</pre>\n");
}

std::string applied_page(const std::string& what) {
  return page("Saved", nav() + "<h1>Saved</h1>\n<p id=\"message\" class=\"ok\">" + e(what) +
                           "</p>\n<p>The phone restarts on the new configuration now (once no call is active) and registers "
                           "again; log in again and look at the <a href=\"/\">status</a>.</p>\n");
}

}  // namespace exphone::web
