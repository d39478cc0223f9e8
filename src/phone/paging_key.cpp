#include "phone/paging_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "core/base64.h"

namespace exphone::phone {

namespace {

Error key_error(const std::string& where, const std::string& msg) { return make_error("paging-key", where + ": " + msg); }

}  // namespace

Result<media::SrtpKey> parse_paging_key(std::string_view text, const std::string& source_name) {
  toml::table t;
  try {
    t = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return key_error(source_name + ":" + std::to_string(e.source().begin.line), std::string(e.description()));
  }
  for (auto&& [k, v] : t)
    if (k.str() != "suite" && k.str() != "key")
      return key_error(source_name + ":" + std::to_string(v.source().begin.line), "unknown key '" + std::string(k.str()) + "'");
  auto suite_name = t["suite"].value<std::string>();
  auto key_b64 = t["key"].value<std::string>();
  if (!suite_name) return key_error(source_name, "suite is required (e.g. \"AES_CM_128_HMAC_SHA1_80\")");
  if (!key_b64) return key_error(source_name, "key is required (base64 of master key || salt)");
  auto suite = media::srtp_suite_from_name(*suite_name);
  if (!suite) return key_error(source_name, "unknown SRTP suite '" + *suite_name + "'");
  auto bytes = base64_decode(*key_b64);
  if (!bytes) return key_error(source_name, "key is not valid base64");
  auto key = media::SrtpKey::from_bytes(*suite, *bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  OPENSSL_cleanse(key_b64->data(), key_b64->size());
  if (!key) return key_error(source_name, key.error().message);
  return key;
}

Result<media::SrtpKey> load_paging_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return key_error(path, "cannot open");
  if (!S_ISREG(st.st_mode)) return key_error(path, "not a regular file");
  if (st.st_mode & 077) return key_error(path, "readable by others: chmod 600 (it is a group's SRTP master key)");
  if (st.st_size > 4096) return key_error(path, "larger than 4 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return key_error(path, "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto key = parse_paging_key(text, path);
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

std::string format_paging_key(const media::SrtpKey& key) {
  return "# exphone paging group key: SRTP master key || salt (RFC 3711). Keep it secret (mode 0600).\n"
         "suite = \"" + std::string(media::srtp_suite_name(key.suite)) + "\"\n"
         "key = \"" + base64_encode(key.master_key_salt) + "\"\n";
}

Status write_paging_key(const std::string& path, const media::SrtpKey& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return key_error(path, errno == EEXIST ? "exists (not overwritten)" : "cannot create");
  std::string text = format_paging_key(key);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  OPENSSL_cleanse(text.data(), text.size());
  if (::close(fd) != 0 || !ok) return key_error(path, "write failed");
  return Ok{};
}

}  // namespace exphone::phone
