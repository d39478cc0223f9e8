#include "tools/pki/inspect.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace exphone::pki {

namespace {

std::string name_line(const X509_NAME* n) {
  BIO* b = BIO_new(BIO_s_mem());
  if (!b) return {};
  X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* p = nullptr;
  long len = BIO_get_mem_data(b, &p);
  std::string out(p, static_cast<std::size_t>(len));
  BIO_free(b);
  return out;
}

std::time_t to_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

std::string asn1_string(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string ip_string(const ASN1_OCTET_STRING* s) {
  const unsigned char* p = ASN1_STRING_get0_data(s);
  int n = ASN1_STRING_length(s);
  char buf[INET6_ADDRSTRLEN] = {0};
  if ((n == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) || (n == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf))) return buf;
  return "?";
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("pki-io", path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return make_error("pki-io", path + ": read error");
  std::string data = ss.str();
  if (data.size() > (4u << 20)) return make_error("pki-io", path + ": larger than 4 MiB");
  return data;
}

}  // namespace

CertInfo inspect(X509* x) {
  CertInfo i;
  i.subject = name_line(X509_get_subject_name(x));
  i.issuer = name_line(X509_get_issuer_name(x));
  int idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1);
  if (idx >= 0) i.common_name = asn1_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(x), idx)));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      i.serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  i.not_before = to_time(X509_get0_notBefore(x));
  i.not_after = to_time(X509_get0_notAfter(x));
  std::uint32_t flags = X509_get_extension_flags(x);  // also caches the extensions
  i.self_signed = (flags & EXFLAG_SS) != 0;
  i.is_ca = (flags & EXFLAG_CA) != 0;
  i.path_length = static_cast<int>(X509_get_pathlen(x));
  i.key_usage_cert_sign = (flags & EXFLAG_KUSAGE) && (X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
  i.has_eku = (flags & EXFLAG_XKUSAGE) != 0;
  std::uint32_t xku = X509_get_extended_key_usage(x);
  i.eku_server = i.has_eku && (xku & XKU_SSL_SERVER);
  i.eku_client = i.has_eku && (xku & XKU_SSL_CLIENT);
  if (EVP_PKEY* k = X509_get0_pubkey(x)) {
    i.key_bits = EVP_PKEY_get_bits(k);
    int id = EVP_PKEY_get_base_id(k);
    if (id == EVP_PKEY_EC) {
      char group[64] = {0};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, &len);
      i.key_type = std::string("EC ") + (std::strcmp(group, "prime256v1") == 0 ? "P-256" : group);
    } else if (id == EVP_PKEY_RSA) {
      i.key_type = "RSA " + std::to_string(i.key_bits);
    } else {
      i.key_type = OBJ_nid2sn(id);
    }
  }
  i.signature = OBJ_nid2ln(X509_get_signature_nid(x));
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int n = 0; names && n < sk_GENERAL_NAME_num(names); ++n) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, n);
    if (g->type == GEN_DNS) i.dns.push_back(asn1_string(g->d.dNSName));
    else if (g->type == GEN_IPADD) i.ips.push_back(ip_string(g->d.iPAddress));
    else if (g->type == GEN_URI) i.uris.push_back(asn1_string(g->d.uniformResourceIdentifier));
  }
  GENERAL_NAMES_free(names);
  return i;
}

Result<std::vector<CertPtr>> load_certs(const std::string& path) {
  auto data = read_file(path);
  if (!data) return data.error();
  std::vector<CertPtr> out;
  BIO* b = BIO_new_mem_buf(data->data(), static_cast<int>(data->size()));
  if (!b) return make_error("pki-io", "out of memory");
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) out.emplace_back(x, X509_free);
  BIO_free(b);
  ERR_clear_error();  // the end of the PEM stream leaves "no start line"
  if (out.empty()) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data->data());
    if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(data->size()))) out.emplace_back(x, X509_free);
    ERR_clear_error();
  }
  if (out.empty()) return make_error("pki-parse", path + ": no certificate in it (neither PEM nor DER)");
  return out;
}

Result<KeyPtr> load_key(const std::string& path, const std::string& passphrase) {
  auto data = read_file(path);
  if (!data) return data.error();
  BIO* b = BIO_new_mem_buf(data->data(), static_cast<int>(data->size()));
  if (!b) return make_error("pki-io", "out of memory");
  // a non-null passphrase (possibly "") keeps OpenSSL from prompting on the terminal
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, const_cast<char*>(passphrase.c_str()));
  BIO_free(b);
  if (!k) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data->data());
    k = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(data->size()));
  }
  ERR_clear_error();
  if (!k) return make_error("pki-parse", path + ": no usable private key in it (wrong passphrase or not a key)");
  return KeyPtr(k, EVP_PKEY_free);
}

bool key_matches(X509* cert, EVP_PKEY* key) {
  // compares the public halves (EVP_PKEY_eq); 1 = equal
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  bool ok = pub && key && EVP_PKEY_eq(pub, key) == 1;
  ERR_clear_error();
  return ok;
}

long days_until(std::time_t t, std::time_t now) {
  return static_cast<long>(std::floor(std::difftime(t, now) / 86400.0));
}

std::string iso_time(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace exphone::pki
