#include "provisioning/bundle.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace exphone::provisioning {
namespace {

constexpr std::size_t kBlock = 512;

std::string field(std::string_view h, std::size_t off, std::size_t len) {
  std::string_view f = h.substr(off, len);
  auto nul = f.find('\0');
  return std::string(nul == std::string_view::npos ? f : f.substr(0, nul));
}

// Octal number field (space or NUL terminated).
bool octal(std::string_view h, std::size_t off, std::size_t len, std::uint64_t& out) {
  out = 0;
  bool any = false;
  for (char ch : h.substr(off, len)) {
    if (ch == ' ' && !any) continue;
    if (ch == '\0' || ch == ' ') break;
    if (ch < '0' || ch > '7') return false;
    if (out > (UINT64_MAX >> 3)) return false;
    out = out * 8 + static_cast<std::uint64_t>(ch - '0');
    any = true;
  }
  return any;
}

bool zero_block(std::string_view b) {
  for (char c : b)
    if (c != '\0') return false;
  return true;
}

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The contents of path: from the bundle when it lies directly in gen_dir, else from disk.
Result<std::string> contents(const Bundle& b, const std::string& gen_dir, const std::string& path, const char* what) {
  std::filesystem::path p(path);
  if (p.parent_path() == std::filesystem::path(gen_dir)) {
    auto it = b.files.find(p.filename().string());
    if (it == b.files.end())
      return make_error("bundle-invalid", std::string(what) + " '" + p.filename().string() + "' is not in the bundle");
    return it->second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("bundle-invalid", std::string(what) + " " + path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > kMaxBundleFileBytes) return make_error("bundle-invalid", path + ": too large");
  return ss.str();
}

Result<std::vector<X509Ptr>> read_certs(const std::string& pem, const std::string& name) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  ERR_clear_error();
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();
  if (out.empty()) return make_error("bundle-cert", name + ": no PEM certificate");
  return out;
}

}  // namespace

bool valid_bundle_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || n[0] == '.') return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

Result<Bundle> parse_bundle(std::string_view tar) {
  Bundle b;
  std::size_t pos = 0;
  std::size_t total = 0;
  while (true) {
    if (tar.size() - pos < kBlock)
      return make_error("bundle-truncated", "archive ends at byte " + std::to_string(tar.size()) + " without its end-of-archive block");
    std::string_view h = tar.substr(pos, kBlock);
    if (zero_block(h)) {  // end of archive: two zero blocks (POSIX ustar)
      if (tar.size() - pos < 2 * kBlock || !zero_block(tar.substr(pos + kBlock, kBlock)))
        return make_error("bundle-truncated", "archive ends without its second end-of-archive block");
      break;
    }
    // Header checksum: the sum of all bytes with the checksum field taken as spaces.
    std::uint64_t want = 0;
    if (!octal(h, 148, 8, want)) return make_error("bundle-format", "not a tar archive (bad checksum field)", pos);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    if (sum != want) return make_error("bundle-format", "tar header checksum mismatch", pos);
    if (h.substr(257, 5) != "ustar") return make_error("bundle-format", "not a ustar archive", pos);
    std::string name = field(h, 0, 100);
    std::string prefix = field(h, 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    std::uint64_t size = 0;
    if (!octal(h, 124, 12, size)) return make_error("bundle-format", "bad size field for '" + name + "'", pos);
    char type = h[156];
    pos += kBlock;
    std::uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (type == '5') {  // the archive's own top folder only ("./")
      if (!(name.empty() || name == ".")) return make_error("bundle-format", "sub-folder '" + name + "' in the bundle", pos);
      if (size != 0) return make_error("bundle-format", "folder entry with data", pos);
      continue;
    }
    if (type != '0' && type != '\0')
      return make_error("bundle-format", std::string("unsupported entry type '") + type + "' for '" + name + "' (regular files only)", pos);
    if (!valid_bundle_name(name)) return make_error("bundle-format", "bad file name '" + name + "' (flat names only)", pos);
    if (size > kMaxBundleFileBytes) return make_error("bundle-too-large", name + ": larger than 1 MiB", pos);
    if (tar.size() - pos < padded)
      return make_error("bundle-truncated", name + ": archive cut short (" + std::to_string(tar.size() - pos) + " of " +
                                                std::to_string(size) + " bytes)");
    if (b.files.count(name)) return make_error("bundle-format", "'" + name + "' twice in the bundle", pos);
    if (b.files.size() >= kMaxBundleFiles) return make_error("bundle-too-large", "more than 16 files", pos);
    total += size;
    b.files.emplace(name, std::string(tar.substr(pos, size)));
    pos += padded;
  }
  if (b.files.empty()) return make_error("bundle-invalid", "empty bundle");
  (void)total;
  return b;
}

Result<phone::Config> validate_bundle(const Bundle& b, const std::string& gen_dir, std::time_t now) {
  auto cfg_it = b.files.find("exphone.toml");
  if (cfg_it == b.files.end()) return make_error("bundle-invalid", "no exphone.toml in the bundle");
  auto cfg = phone::parse_config(cfg_it->second, gen_dir, "bundle:exphone.toml");
  if (!cfg) return make_error("bundle-config", cfg.error().message);
  const auto& tls = cfg->transport.tls;

  // CA files: each parses.
  for (const auto& f : tls.ca_files) {
    auto pem = contents(b, gen_dir, f, "tls.ca_files");
    if (!pem) return pem.error();
    auto certs = read_certs(*pem, f);
    if (!certs) return certs.error();
  }
  if (!cfg->provisioning.ca_file.empty()) {
    auto pem = contents(b, gen_dir, cfg->provisioning.ca_file, "provisioning.ca_file");
    if (!pem) return pem.error();
    if (auto certs = read_certs(*pem, cfg->provisioning.ca_file); !certs) return certs.error();
  }

  if (tls.client_cert.empty() != tls.client_key.empty())
    return make_error("bundle-invalid", "tls.client_cert and tls.client_key go together");
  if (!tls.client_cert.empty()) {
    auto cert_pem = contents(b, gen_dir, tls.client_cert, "tls.client_cert");
    if (!cert_pem) return cert_pem.error();
    auto chain = read_certs(*cert_pem, tls.client_cert);
    if (!chain) return chain.error();
    auto key_pem = contents(b, gen_dir, tls.client_key, "tls.client_key");
    if (!key_pem) return key_pem.error();
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
    ERR_clear_error();
    std::string pass = tls.client_key_passphrase;
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pass.empty() ? nullptr : pass.data()));
    if (!key) return make_error("bundle-key", tls.client_key + ": no usable private key (" + ssl_error() + ")");
    X509* leaf = (*chain)[0].get();
    if (X509_check_private_key(leaf, key.get()) != 1) {
      ERR_clear_error();
      return make_error("bundle-key-mismatch", tls.client_key + " does not belong to " + tls.client_cert);
    }
    // The device certificate must be usable now (the PBX's CA files need not have issued it).
    std::time_t* at = now == 0 ? nullptr : &now;
    if (X509_cmp_time(X509_get0_notAfter(leaf), at) <= 0)
      return make_error("bundle-cert", tls.client_cert + ": certificate expired");
    if (X509_cmp_time(X509_get0_notBefore(leaf), at) > 0)
      return make_error("bundle-cert", tls.client_cert + ": certificate not yet valid");
  }
  return cfg;
}

}  // namespace exphone::provisioning
