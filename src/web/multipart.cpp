#include "web/multipart.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace exphone::web {

namespace {

Error bad(const std::string& msg) { return make_error("web-bad-form", msg); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `key` in "form-data; name=\"x\"; filename=\"y\"" (quoted or token).
std::optional<std::string> param(std::string_view header, std::string_view key) {
  std::size_t i = header.find(';');
  while (i != std::string_view::npos && i < header.size()) {
    ++i;
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    std::size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name = lower(trim(header.substr(i, eq - i)));
    std::size_t v = eq + 1;
    std::string value;
    if (v < header.size() && header[v] == '"') {
      std::size_t close = header.find('"', v + 1);
      if (close == std::string_view::npos) return std::nullopt;
      value = std::string(header.substr(v + 1, close - v - 1));
      i = header.find(';', close + 1);
    } else {
      std::size_t semi = header.find(';', v);
      value = std::string(trim(header.substr(v, semi == std::string_view::npos ? std::string_view::npos : semi - v)));
      i = semi;
    }
    if (name == key) return value;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "multipart/form-data") return bad("not multipart/form-data");
  auto b = param(content_type, "boundary");
  if (!b || b->empty() || b->size() > 70) return bad("multipart/form-data without a usable boundary");
  return *b;
}

Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70) return bad("bad boundary");
  const std::string delimiter = "--" + std::string(boundary);
  const std::string separator = "\r\n" + delimiter;
  // 5.1.1: preamble (ignored), then the first delimiter
  std::size_t at = body.rfind(delimiter, 0) == 0 ? 0 : body.find(separator);
  if (at == std::string_view::npos) return bad("no boundary in the body");
  at += (at == 0 ? delimiter.size() : separator.size());
  std::vector<FormPart> parts;
  for (;;) {
    if (body.substr(at, 2) == "--") return parts;  // close delimiter; the epilogue is ignored
    if (body.substr(at, 2) != "\r\n") return bad("boundary not followed by CRLF");
    at += 2;
    if (parts.size() == kMaxParts) return bad("more than " + std::to_string(kMaxParts) + " parts");
    FormPart part;
    bool disposition = false;
    for (int lines = 0;; ++lines) {  // part headers up to an empty line
      std::size_t eol = body.find("\r\n", at);
      if (eol == std::string_view::npos) return bad("part headers without their end");
      std::string_view line = body.substr(at, eol - at);
      at = eol + 2;
      if (line.empty()) break;
      if (line.size() > 1024 || lines >= 8) return bad("part headers too long");
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return bad("part header without a colon");
      std::string name = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (lower(trim(value.substr(0, value.find(';')))) != "form-data") return bad("part is not form-data");
        auto n = param(value, "name");
        if (!n) return bad("form-data part without a name");
        part.name = *n;
        part.filename = param(value, "filename").value_or("");
        disposition = true;
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!disposition) return bad("part without Content-Disposition");
    std::size_t end = body.find(separator, at);
    if (end == std::string_view::npos) return bad("part without a closing boundary");
    part.data = std::string(body.substr(at, end - at));
    parts.push_back(std::move(part));
    at = end + separator.size();
  }
}

const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name) {
  for (const auto& p : parts)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace exphone::web
