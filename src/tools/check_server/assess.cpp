#include "tools/check_server/assess.h"

namespace exphone::tools::check_server {

namespace {

constexpr std::time_t kSoon = 30L * 24 * 3600;

bool is_rsa_or_dsa(const std::string& type) { return type == "RSA" || type == "RSA-PSS" || type == "DSA"; }
bool is_ec(const std::string& type) { return type == "EC"; }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::string chain_role(const std::vector<net::tls::CertificateInfo>& chain, std::size_t index) {
  if (index == 0) return "server certificate";
  if (index < chain.size() && chain[index].self_signed) return "root CA certificate";
  return "intermediate CA certificate";
}

std::vector<Finding> assess_chain(const std::vector<net::tls::CertificateInfo>& chain, std::time_t now) {
  std::vector<Finding> out;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& c = chain[i];
    std::string who = "the " + chain_role(chain, i) + " " + quoted(c.subject);
    if ((is_rsa_or_dsa(c.key_type) && c.key_bits < kMinRsaBits) || (is_ec(c.key_type) && c.key_bits < kMinEcBits)) {
      int min = is_ec(c.key_type) ? kMinEcBits : kMinRsaBits;
      out.push_back({"weak-key", who + " has a " + std::to_string(c.key_bits) + "-bit " + c.key_type +
                                     " key, below " + std::to_string(min) +
                                     " bits (less than 112-bit security, NIST SP 800-57). Fix: reissue it with "
                                     "RSA 2048/3072 or ECDSA P-256."});
    }
    bool anchor = c.self_signed && c.is_ca;
    if (!anchor && (c.signature_digest == "SHA1" || c.signature_digest == "MD5" || c.signature_digest == "MD4")) {
      out.push_back({"weak-signature",
                     who + " is signed with " + c.signature_algorithm + " (" + c.signature_digest +
                         "): collisions are practical (SHAttered, 2017), so such signatures can be forged; "
                         "OpenSSL 3 and this phone refuse them. Fix: reissue it with a SHA-256 signature."});
    }
    if (c.not_after > now && c.not_after - now < kSoon) {
      long days = static_cast<long>((c.not_after - now) / (24 * 3600));
      out.push_back({"expires-soon", who + " expires in " + std::to_string(days) + " day" + (days == 1 ? "" : "s") +
                                         " (" + net::tls::format_utc(c.not_after) + "). Fix: renew it now."});
    }
  }
  return out;
}

Finding legacy_version_finding(const std::string& version) {
  std::string v = version == "TLSv1" ? "TLS 1.0" : version == "TLSv1.1" ? "TLS 1.1" : version;
  return {"legacy-tls", "the server still accepts " + v +
                            ", deprecated by RFC 8996 (weak handshake hashes, CBC-only cipher suites); a "
                            "downgrade-capable client could be attacked there. Fix: set the server's minimum "
                            "TLS version to 1.2."};
}

}  // namespace exphone::tools::check_server
