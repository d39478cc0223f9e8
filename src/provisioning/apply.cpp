#include "provisioning/apply.h"

#include "core/durable_file.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace exphone::provisioning {
namespace fs = std::filesystem;
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error("prov-io", what + " " + path + ": " + std::strerror(errno));
}

Status fsync_dir(const std::string& dir) { return exphone::fsync_dir(dir, "prov-io"); }

Status write_new_file(const std::string& path, std::string_view data, unsigned mode) {
  return exphone::write_new_file(path, data, mode, "prov-io");
}

// The generation a config path names ("" when it is not a provisioned symlink).
std::string generation_of(const std::string& link) {
  std::error_code ec;
  if (!fs::is_symlink(link, ec)) return "";
  fs::path t = fs::read_symlink(link, ec);
  if (ec) return "";
  auto it = t.begin();
  if (it == t.end() || it->string() != "provisioned") return "";
  ++it;
  return it == t.end() ? "" : it->string();
}

// A new directory entry tmp naming what `from` names: the same symlink target, or a hard link.
Status copy_link(const std::string& from, const std::string& tmp) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return io_error("stat", from);
  int rc;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(from, ec);
    if (ec) return make_error("prov-io", "read link " + from + ": " + ec.message());
    rc = ::symlink(target.c_str(), tmp.c_str());
  } else {
    rc = ::link(from.c_str(), tmp.c_str());
  }
  if (rc != 0) return io_error("create", tmp);
  return Ok{};
}

// dst names what src names, switched by one rename(2); the folder fsynced.
Status replace_link(const std::string& src, const std::string& dst) {
  std::string tmp = dst + ".tmp-" + unique_suffix();
  if (auto s = copy_link(src, tmp); !s) return s;
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    auto e = io_error("rename to", dst);
    ::unlink(tmp.c_str());
    return e;
  }
  std::string dir = fs::path(dst).parent_path().string();
  return fsync_dir(dir.empty() ? "." : dir);
}

}  // namespace

std::string current_generation(const std::string& config_path) {
  std::string g = generation_of(config_path);
  return g.empty() ? "" : "provisioned/" + g;
}

Status restore_last_known_good(const std::string& config_path) {
  std::error_code ec;
  std::string c = fs::absolute(config_path, ec).string();
  if (ec) return make_error("prov-io", config_path + ": " + ec.message());
  std::string lkg = c + ".lkg";
  struct stat st {};
  if (::lstat(lkg.c_str(), &st) != 0) return make_error("prov-no-lkg", "no last-known-good config " + lkg);
  return replace_link(lkg, c);
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  return exphone::write_file_atomic(path, data, mode, "prov-io");
}

Result<ApplyPlan> plan_apply(const std::string& config_path) {
  std::error_code ec;
  fs::path c = fs::absolute(config_path, ec);
  if (ec) return make_error("prov-io", config_path + ": " + ec.message());
  fs::path dir = c.parent_path();
  ApplyPlan p;
  p.config_path = c.string();
  p.root = (dir / "provisioned").string();
  p.gen_name = "g" + unique_suffix();
  p.gen_dir = (dir / "provisioned" / p.gen_name).string();
  return p;
}

Status apply_bundle(const ApplyPlan& plan, const Bundle& b, bool running_is_good) {
  std::string dir = fs::path(plan.config_path).parent_path().string();
  if (::mkdir(plan.root.c_str(), 0700) != 0 && errno != EEXIST) return io_error("create folder", plan.root);
  // 1. The new generation, complete and durable, under a temp name; then renamed into place.
  std::string tmp = plan.root + "/.tmp-" + plan.gen_name;
  if (::mkdir(tmp.c_str(), 0700) != 0) return io_error("create folder", tmp);
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  };
  for (const auto& [name, data] : b.files) {
    if (!valid_bundle_name(name)) {
      cleanup();
      return make_error("prov-io", "bad file name " + name);
    }
    if (auto s = write_new_file(tmp + "/" + name, data, 0600); !s) {
      cleanup();
      return s;
    }
  }
  if (auto s = fsync_dir(tmp); !s) {
    cleanup();
    return s;
  }
  if (::rename(tmp.c_str(), plan.gen_dir.c_str()) != 0) {
    auto e = io_error("rename to", plan.gen_dir);
    cleanup();
    return e;
  }
  if (auto s = fsync_dir(plan.root); !s) return s;

  // 2. Last known good: C.lkg names what C names now, unless that has not proven itself.
  const std::string& c = plan.config_path;
  std::string lkg = c + ".lkg";
  struct stat st {};
  if (running_is_good && ::lstat(c.c_str(), &st) == 0) {
    if (auto s = replace_link(c, lkg); !s) return s;
  }

  // 3. The switch: one rename of a symlink over C.
  std::string link_tmp = c + ".tmp-" + unique_suffix();
  std::string target = "provisioned/" + plan.gen_name + "/exphone.toml";
  if (::symlink(target.c_str(), link_tmp.c_str()) != 0) return io_error("create", link_tmp);
  if (::rename(link_tmp.c_str(), c.c_str()) != 0) {
    auto e = io_error("rename to", c);
    ::unlink(link_tmp.c_str());
    return e;
  }
  if (auto s = fsync_dir(dir); !s) return s;

  // 4. Prune generations nobody names any more, and temp entries a crash left (best effort).
  std::set<std::string> keep{plan.gen_name, generation_of(lkg)};
  std::error_code ec;
  std::string stem = fs::path(c).filename().string() + ".";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string n = entry.path().filename().string();
    if (n.rfind(stem, 0) == 0 && n.find(".tmp-") != std::string::npos) {
      std::error_code rm;
      fs::remove(entry.path(), rm);
    }
  }
  for (const auto& entry : fs::directory_iterator(plan.root, ec)) {
    std::string n = entry.path().filename().string();
    if (keep.count(n)) continue;
    if (n.rfind("g", 0) == 0 || n.rfind(".tmp-", 0) == 0) {
      std::error_code rm;
      fs::remove_all(entry.path(), rm);
    }
  }
  return Ok{};
}

}  // namespace exphone::provisioning
