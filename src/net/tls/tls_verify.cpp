#include "net/tls/tls_verify.h"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "net/tls/tls_context.h"
#include "net/tls/tls_internal.h"

namespace exphone::net::tls {

namespace detail {

std::string name_to_string(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  // RFC 2253 order (CN first), UTF-8 kept readable.
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr && len > 0 ? std::string(data, static_cast<std::size_t>(len)) : "");
  BIO_free(bio);
  return out;
}

std::string subject_of(X509* cert) {
  return cert != nullptr ? name_to_string(X509_get_subject_name(cert)) : std::string();
}
std::string issuer_of(X509* cert) {
  return cert != nullptr ? name_to_string(X509_get_issuer_name(cert)) : std::string();
}

std::string parse_ip(std::string_view text) {
  std::string t(text);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
    t = t.substr(1, t.size() - 2);
    unsigned char b6[16];
    if (inet_pton(AF_INET6, t.c_str(), b6) == 1) return std::string(reinterpret_cast<char*>(b6), 16);
    return {};
  }
  unsigned char b4[4];
  if (inet_pton(AF_INET, t.c_str(), b4) == 1) return std::string(reinterpret_cast<char*>(b4), 4);
  unsigned char b6[16];
  if (inet_pton(AF_INET6, t.c_str(), b6) == 1) return std::string(reinterpret_cast<char*>(b6), 16);
  return {};
}

namespace {

std::string ip_to_string(const unsigned char* data, int len) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf) != nullptr) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf) != nullptr) return buf;
  return "(malformed IP of " + std::to_string(len) + " bytes)";
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool is_self_signed(X509* x) {
  return x != nullptr && (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

}  // namespace

int cert_callback(SSL* ssl, void* /*arg*/) {
  // Client side: OpenSSL calls this only after a CertificateRequest (RFC 8446 section 4.3.2,
  // RFC 5246 section 7.4.4), which is what tells "the server wanted a certificate" apart from
  // other handshake failures.
  if (SslState* st = ssl_state(ssl)) {
    st->cert_requested = true;
    st->had_client_cert = SSL_get_certificate(ssl) != nullptr;
  }
  return 1;
}

int verify_callback(int preverify_ok, X509_STORE_CTX* xs) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx()));
  SslState* st = ssl != nullptr ? ssl_state(ssl) : nullptr;
  if (st == nullptr) {
    // Not prepared: no server identity was configured, so a "valid" chain proves nothing
    // about who we talk to. Fail closed when the context verifies.
    const CtxState* cst = ssl != nullptr ? ctx_state(SSL_get_SSL_CTX(ssl)) : nullptr;
    if (cst != nullptr && cst->verify_server) {
      X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
    return preverify_ok;
  }

  if (st->sent.empty()) {
    if (STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(xs)) {
      for (int i = 0; i < sk_X509_num(untrusted); ++i) st->sent.push_back(ref(sk_X509_value(untrusted, i)));
    } else if (X509* leaf = X509_STORE_CTX_get0_cert(xs)) {
      st->sent.push_back(ref(leaf));
    }
  }
  if (preverify_ok == 1) return 1;

  int err = X509_STORE_CTX_get_error(xs);
  int depth = X509_STORE_CTX_get_error_depth(xs);
  X509* cert = X509_STORE_CTX_get_current_cert(xs);

  // RFC 5922 section 7.1: a subjectAltName URI "sip:host" is a SIP domain identity. OpenSSL
  // only knows DNS/IP/email, so accept the URI form here when its host check failed.
  if (depth == 0 && (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH)) {
    X509* leaf = cert != nullptr ? cert : X509_STORE_CTX_get0_cert(xs);
    for (const std::string& uri : cert_names(leaf).uri) {
      if (uri_san_matches(uri, st->expected_host)) {
        st->uri_san_matched = true;
        X509_STORE_CTX_set_error(xs, X509_V_OK);
        return 1;
      }
    }
  }

  if (st->error == X509_V_OK) {
    st->error = err;
    st->depth = depth;
    st->cert = ref(cert);
    const X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(xs);
    st->verify_time = (X509_VERIFY_PARAM_get_flags(param) &
                       X509_V_FLAG_USE_CHECK_TIME) != 0
                          ? X509_VERIFY_PARAM_get_time(param)
                          : std::time(nullptr);
  }
  // With verify_server=false the handshake goes on anyway (SSL_VERIFY_NONE); stopping the chain
  // walk here only keeps the first error.
  return 0;
}

}  // namespace detail

using detail::is_self_signed;
using detail::issuer_of;
using detail::SslState;
using detail::subject_of;

CertNames cert_names(X509* cert) {
  CertNames out;
  if (cert == nullptr) return out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const ASN1_IA5STRING* s = gn->d.dNSName;
        out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s)));
      } else if (gn->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = gn->d.iPAddress;
        out.ip.push_back(detail::ip_to_string(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
      } else if (gn->type == GEN_URI) {
        const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
        out.uri.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(sans);
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, s);
    if (len >= 0 && utf8 != nullptr) out.cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

bool uri_san_matches(std::string_view uri, std::string_view host) {
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return false;
  // RFC 5922 section 7.1: only the "sip" scheme (case-insensitive) is a SIP domain identity;
  // a value with a user part ('@') identifies a user, not a domain.
  if (!detail::iequals(uri.substr(0, colon), "sip")) return false;
  std::string_view rest = uri.substr(colon + 1);
  if (rest.find('@') != std::string_view::npos) return false;
  // RFC 5922 section 7.2: compare only the DNS name component, never scheme or parameters.
  rest = rest.substr(0, rest.find_first_of(";?"));
  std::string_view h;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    h = rest.substr(0, close + 1);
  } else {
    h = rest.substr(0, rest.find(':'));
  }
  while (!h.empty() && h.back() == '.') h.remove_suffix(1);
  std::string_view want = host;
  while (!want.empty() && want.back() == '.') want.remove_suffix(1);
  if (h.empty() || want.empty()) return false;
  std::string a = detail::parse_ip(h);
  std::string b = detail::parse_ip(want);
  if (!a.empty() || !b.empty()) return !a.empty() && a == b;
  // Entire-value, case-insensitive comparison: no suffix and no wildcard matching.
  return detail::iequals(h, want);
}

namespace {

std::string format_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string format_time(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string fingerprint(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (x == nullptr || X509_digest(x, EVP_sha256(), md, &n) != 1) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i != 0) out.push_back(':');
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xf]);
  }
  return out;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string signature_name(X509* x) {
  int md = NID_undef;
  if (x == nullptr || X509_get_signature_info(x, &md, nullptr, nullptr, nullptr) != 1 || md == NID_undef) {
    ERR_clear_error();
    return "unknown digest";
  }
  return OBJ_nid2sn(md);
}

std::string key_description(X509* x) {
  EVP_PKEY* k = x != nullptr ? X509_get0_pubkey(x) : nullptr;
  if (k == nullptr) return "unknown key";
  const char* type = EVP_PKEY_get0_type_name(k);
  return std::to_string(EVP_PKEY_get_bits(k)) + "-bit " + (type != nullptr ? type : "key");
}

std::string role_of(X509* x, int depth) {
  if (depth == 0) return "server certificate";
  return is_self_signed(x) ? "root CA certificate" : "intermediate CA certificate";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string describe_names(X509* leaf) {
  CertNames n = cert_names(leaf);
  std::vector<std::string> parts;
  for (const auto& d : n.dns) parts.push_back("DNS:" + d);
  for (const auto& i : n.ip) parts.push_back("IP:" + i);
  for (const auto& u : n.uri) parts.push_back("URI:" + u);
  if (!n.cn.empty())
    parts.push_back("CN=" + n.cn + (n.dns.empty() ? "" : " (ignored: the certificate has DNS names)"));
  if (parts.empty()) return "no names at all";
  return join(parts, ", ");
}

Error explain_name_mismatch(const SslState& st, std::string_view host_in, X509* leaf) {
  std::string host = st.expected_host.empty() ? std::string(host_in) : st.expected_host;
  CertNames n = cert_names(leaf);
  std::string msg = "the server certificate does not match " + quoted(host) + " (RFC 5922 section 7.2); it carries " +
                    describe_names(leaf) + ".";
  bool wildcard = false;
  for (const auto& d : n.dns) wildcard = wildcard || d.find('*') != std::string::npos;
  if (wildcard)
    msg += " Wildcard names are never accepted for SIP domains (RFC 5922 section 7.2).";
  bool bad_uri = false;
  for (const auto& u : n.uri) {
    std::size_t colon = u.find(':');
    bool sip = colon != std::string::npos && detail::iequals(std::string_view(u).substr(0, colon), "sip");
    bad_uri = bad_uri || !sip || u.find('@') != std::string::npos;
  }
  if (bad_uri)
    msg += " Only URI names of the form sip:host (no user part, not sips:) are SIP domain identities "
           "(RFC 5922 section 7.1).";
  msg += st.host_is_ip
             ? " Fix: connect using a name the certificate lists, or issue a certificate with "
               "subjectAltName IP:" + host + "."
             : " Fix: connect using a name the certificate lists, or issue a certificate with "
               "subjectAltName DNS:" + host + " (or URI:sip:" + host + ").";
  return make_error(kErrNameMismatch, msg);
}

bool clock_synced(const SslState& st) { return st.clock && st.clock->synchronized(); }

// The clock part of an expired / not-yet-valid explanation: the device clock, and the NTP time
// when known, or "clock-unsynchronized" when the device clock is implausible and NTP never
// answered (core/trusted_clock.h).
std::string clock_text(const SslState& st) {
  if (!st.clock) return "the device clock is " + format_time(st.verify_time);
  const TrustedClock& c = *st.clock;
  std::time_t device = std::chrono::system_clock::to_time_t(c.system_now());
  if (c.synchronized()) {
    auto offset_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.last_sync()->offset).count();
    return "the NTP time is " + format_time(st.verify_time) + " (" + c.source() + ", used for the check) and the " +
           "device clock is " + format_time(device) + " (offset " + std::to_string(offset_ms) + " ms)";
  }
  std::string out = "the device clock is " + format_time(device);
  if (!c.system_plausible())
    out += " (clock-unsynchronized: before this build's date " + format_time(build_time()) +
           (c.ntp_configured() ? ", and no NTP server answered)" : ", and no NTP server is configured)");
  return out;
}

Error explain_verify(const SslState& st, std::string_view host) {
  X509* cert = st.cert.get();
  X509* leaf = !st.sent.empty() ? st.sent.front().get() : cert;
  std::string subj = quoted(subject_of(cert));
  switch (st.error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return explain_name_mismatch(st, host, leaf);

    case X509_V_ERR_CERT_HAS_EXPIRED:
      return make_error(kErrExpired,
                        "the " + role_of(cert, st.depth) + " " + subj + " expired on " +
                            format_time(X509_get0_notAfter(cert)) + " (notAfter); " + clock_text(st) +
                            (clock_synced(st)
                                 ? ". Fix: renew the certificate on the server."
                                 : ". Fix: renew the certificate on the server; if the device clock is wrong, "
                                   "check NTP ([clock] ntp_servers)."));

    case X509_V_ERR_CERT_NOT_YET_VALID:
      return make_error(kErrNotYetValid,
                        "the " + role_of(cert, st.depth) + " " + subj + " is not valid before " +
                            format_time(X509_get0_notBefore(cert)) + " (notBefore), but " + clock_text(st) +
                            (clock_synced(st)
                                 ? ". The certificate is not yet valid at the NTP time either: check its dates."
                                 : ". The device clock is probably wrong: check NTP (time server) settings "
                                   "([clock] ntp_servers)."));

    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return make_error(kErrSelfSigned,
                        "the server presented a self-signed certificate " + subj + " (SHA-256 " +
                            fingerprint(cert) +
                            "), not one issued by a CA. Fix: give the server a certificate issued by "
                            "your CA, or, after checking the fingerprint with the server operator, add "
                            "this certificate to ca_files.");

    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return make_error(kErrUnknownCa,
                        "unknown CA: the server's chain ends at the root CA " + subj + " (SHA-256 " +
                            fingerprint(cert) +
                            "), which is not in the trust store. Fix: if you trust this CA, add its "
                            "certificate to ca_files.");

    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
      std::string issuer = quoted(issuer_of(cert));
      if (st.depth <= 0) {
        if (st.sent.size() <= 1) {
          return make_error(
              kErrUnknownCa,
              "missing intermediate or unknown CA: the server sent only its own certificate " + subj +
                  ", and its issuer " + issuer +
                  " is not in the trust store. Fix: if " + issuer +
                  " is an intermediate CA, install it on the server so that the server sends the "
                  "full chain (or add it to ca_files); if it is your root CA, add it to ca_files.");
        }
        std::vector<std::string> sent;
        for (const auto& x : st.sent) sent.push_back(quoted(subject_of(x.get())));
        return make_error(kErrUnknownCa,
                          "missing intermediate: the server's chain (" + join(sent, ", ") +
                              ") does not contain the issuer " + issuer + " of its certificate " + subj +
                              ", and the trust store does not have it either. Fix: install the "
                              "intermediate CA certificate " +
                              issuer + " on the server (or add it to ca_files).");
      }
      return make_error(kErrUnknownCa,
                        "unknown CA: the chain ends at the " + role_of(cert, st.depth) + " " + subj +
                            ", issued by " + issuer +
                            ", which is not in the trust store. Fix: add the CA certificate " + issuer +
                            " to ca_files.");
    }
    // OpenSSL's security level (1 by default: >= 80-bit security, no SHA-1/MD5 signatures in
    // OpenSSL 3) refused a certificate of the chain.
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return make_error(kErrWeakCertificate,
                        "the " + role_of(cert, st.depth) + " " + subj + " is signed with a weak digest (" +
                            signature_name(cert) +
                            "); SHA-1 and MD5 signatures can be forged and are refused. Fix: reissue the "
                            "certificate with a SHA-256 signature.");
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
      return make_error(kErrWeakCertificate,
                        "the " + role_of(cert, st.depth) + " " + subj + " has a key that is too small (" +
                            key_description(cert) +
                            "). Fix: reissue the certificate with RSA 2048 or more, or ECDSA P-256.");
    case X509_V_ERR_APPLICATION_VERIFICATION:
      return make_error(kErrHandshake, "certificate verification failed: " +
                                           std::string(X509_verify_cert_error_string(st.error)));
    default:
      return make_error(kErrHandshake,
                        "certificate verification failed for the " + role_of(cert, st.depth) + " " + subj +
                            " (depth " + std::to_string(st.depth) +
                            "): " + X509_verify_cert_error_string(st.error));
  }
}

std::string version_name(int v) {
  switch (v) {
    case TLS1_VERSION: return "1.0";
    case TLS1_1_VERSION: return "1.1";
    case TLS1_2_VERSION: return "1.2";
    case TLS1_3_VERSION: return "1.3";
    default: return "?";
  }
}

bool is_version_reason(int reason) {
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_UNSUPPORTED_SSL_VERSION:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return true;
    default:
      return false;
  }
}

std::string alert_name(int alert) {
  // OpenSSL 3.0 has no text for the TLS 1.3 alert (RFC 8446 section 6.2).
  if (alert == TLS13_AD_CERTIFICATE_REQUIRED) return "certificate required";
  if (alert == TLS13_AD_MISSING_EXTENSION) return "missing extension";
  return SSL_alert_desc_string_long(alert);
}

bool is_client_cert_alert(int alert) {
  switch (alert) {
    case SSL3_AD_HANDSHAKE_FAILURE:
    case SSL3_AD_BAD_CERTIFICATE:
    case SSL3_AD_UNSUPPORTED_CERTIFICATE:
    case SSL3_AD_CERTIFICATE_REVOKED:
    case SSL3_AD_CERTIFICATE_EXPIRED:
    case SSL3_AD_CERTIFICATE_UNKNOWN:
    case TLS1_AD_UNKNOWN_CA:
    case TLS1_AD_ACCESS_DENIED:
    case TLS1_AD_DECRYPT_ERROR:
    case TLS13_AD_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

Error explain_client_cert(SSL* ssl, const SslState* st, const std::string& what) {
  X509* mine = ssl != nullptr ? SSL_get_certificate(ssl) : nullptr;
  bool had = st != nullptr ? st->had_client_cert : mine != nullptr;
  if (!had) {
    return make_error(kErrClientCertRequired,
                      "the server requires a client certificate (mutual TLS) and none is configured (" +
                          what +
                          "). Fix: set client_cert and client_key to a certificate issued by a CA the "
                          "server trusts.");
  }
  return make_error(kErrClientCertRequired,
                    "the server rejected our client certificate " + quoted(subject_of(mine)) + " (" + what +
                        "). Fix: make sure the server trusts its issuer " + quoted(issuer_of(mine)) +
                        " and that the certificate is valid for client authentication.");
}

}  // namespace

Error explain_handshake_failure(SSL* ssl, unsigned long openssl_err, int ssl_get_error,
                                std::string_view expected_host) {
  const SslState* st = ssl != nullptr ? detail::ssl_state(ssl) : nullptr;

  // 1. Our side rejected the server certificate: the verify callback knows exactly why.
  if (st != nullptr && st->verify_server && st->error != X509_V_OK) return explain_verify(*st, expected_host);

  const int lib = openssl_err != 0 ? ERR_GET_LIB(openssl_err) : 0;
  const int reason = openssl_err != 0 ? ERR_GET_REASON(openssl_err) : 0;
  std::string err_text;
  if (openssl_err != 0) {
    char buf[256];
    ERR_error_string_n(openssl_err, buf, sizeof buf);
    err_text = buf;
  }

  if (lib == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    long vr = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_ERR_UNSPECIFIED;
    if (vr == X509_V_ERR_APPLICATION_VERIFICATION && st == nullptr)
      return make_error(kErrHandshake,
                        "server certificate not checked: the connection was not prepared with "
                        "prepare_client_ssl(), so there is no server identity to verify (refused)");
    return make_error(kErrHandshake, std::string("server certificate verification failed: ") +
                                         X509_verify_cert_error_string(vr));
  }

  // 2. Protocol version: the server only speaks TLS < our minimum (RFC 8446 section 4.2.1,
  // RFC 8996 deprecates TLS 1.0/1.1).
  if (lib == ERR_LIB_SSL && is_version_reason(reason)) {
    std::string min = ssl != nullptr ? version_name(SSL_get_min_proto_version(ssl)) : "1.2";
    if (min == "?") min = "1.2";
    std::string fix = min == "1.3" ? "enable TLS 1.3 on the server, or set min_version = \"1.2\""
                                   : "enable TLS 1.2 or 1.3 on the server";
    return make_error(kErrVersion,
                      "the server does not offer TLS " + min +
                          " or newer (it only speaks an older version; TLS 1.0 and 1.1 are deprecated by "
                          "RFC 8996). Fix: " + fix + ". (" + err_text + ")");
  }

  // 3. Alerts from the server.
  if (lib == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    int alert = reason - SSL_AD_REASON_OFFSET;
    std::string what = "server alert: " + alert_name(alert);
    if (alert == TLS13_AD_CERTIFICATE_REQUIRED) return explain_client_cert(ssl, st, what);
    if (st != nullptr && st->cert_requested && is_client_cert_alert(alert)) return explain_client_cert(ssl, st, what);
    if (alert == SSL3_AD_HANDSHAKE_FAILURE || alert == TLS1_AD_INSUFFICIENT_SECURITY)
      return make_error(kErrHandshake, what +
                                           " -- no common cipher suite, group or signature algorithm "
                                           "(this phone accepts only ECDHE with AES-GCM/ChaCha20 for TLS 1.2)");
    return make_error(kErrHandshake, what + " (" + err_text + ")");
  }

  // 4. The server asked for a certificate, then hung up (some servers close instead of alerting).
  bool eof = ssl_get_error == SSL_ERROR_SYSCALL || ssl_get_error == SSL_ERROR_ZERO_RETURN ||
             (lib == ERR_LIB_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (eof && st != nullptr && st->cert_requested)
    return explain_client_cert(ssl, st, "the server closed the connection after requesting a certificate");

  if (lib == ERR_LIB_SSL &&
      (reason == SSL_R_EE_KEY_TOO_SMALL || reason == SSL_R_CA_KEY_TOO_SMALL || reason == SSL_R_CA_MD_TOO_WEAK)) {
    X509* peer = ssl != nullptr ? SSL_get0_peer_certificate(ssl) : nullptr;
    return make_error(kErrWeakCertificate,
                      "the server's certificate chain is too weak for this phone's security level (" + err_text +
                          "; server certificate " + quoted(subject_of(peer)) + ": " + key_description(peer) +
                          ", signed with " + signature_name(peer) +
                          "). Fix: reissue the certificates with RSA 2048+ or ECDSA P-256 keys and SHA-256 "
                          "signatures.");
  }
  if (lib == ERR_LIB_SSL && reason == SSL_R_WRONG_VERSION_NUMBER)
    return make_error(kErrHandshake,
                      "the server did not answer with TLS (plain SIP/TCP or another protocol on this port?)");
  if (lib == ERR_LIB_SSL && reason == SSL_R_NO_SHARED_CIPHER)
    return make_error(kErrHandshake, "no cipher suite in common with the server (" + err_text + ")");
  if (eof)
    return make_error(kErrHandshake, "the connection was closed during the TLS handshake");
  if (openssl_err != 0) return make_error(kErrHandshake, "TLS handshake failed: " + err_text);
  return make_error(kErrHandshake, "TLS handshake failed (SSL_get_error " + std::to_string(ssl_get_error) + ")");
}

std::optional<VerifyFailure> verify_failure(const SSL* ssl) {
  const SslState* st = ssl != nullptr ? detail::ssl_state(ssl) : nullptr;
  if (st == nullptr || st->error == X509_V_OK) return std::nullopt;
  VerifyFailure f;
  f.x509_error = st->error;
  f.depth = st->depth;
  f.subject = subject_of(st->cert.get());
  f.issuer = issuer_of(st->cert.get());
  for (const auto& x : st->sent) f.sent_chain.push_back(subject_of(x.get()));
  f.verify_time = st->verify_time;
  return f;
}

TlsPeerInfo peer_info(SSL* ssl) {
  TlsPeerInfo info;
  if (ssl == nullptr) return info;
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    const char* std_name = SSL_CIPHER_standard_name(c);
    info.cipher = std_name != nullptr ? std_name : SSL_CIPHER_get_name(c);
  }
  X509* peer = SSL_get0_peer_certificate(ssl);
  const SslState* st = detail::ssl_state(ssl);
  // Verified = chain to a trusted root AND the identity check ran (prepare_client_ssl set the
  // expected host); on resumption the result is the one stored with the session.
  info.verified = peer != nullptr && st != nullptr && !st->expected_host.empty() &&
                  SSL_get_verify_result(ssl) == X509_V_OK;
  info.resumed = SSL_session_reused(ssl) == 1;
  if (peer != nullptr) {
    info.peer_subject = subject_of(peer);
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(peer), &tm) == 1) info.peer_not_after = timegm(&tm);
    CertNames n = cert_names(peer);
    info.peer_names = n.dns;
    info.peer_names.insert(info.peer_names.end(), n.ip.begin(), n.ip.end());
    info.peer_names.insert(info.peer_names.end(), n.uri.begin(), n.uri.end());
    if (n.dns.empty() && !n.cn.empty()) info.peer_names.push_back(n.cn);
  }
  return info;
}

}  // namespace exphone::net::tls
