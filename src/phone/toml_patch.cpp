#include "phone/toml_patch.h"

#include <sstream>
#include <vector>

namespace exphone::phone {

namespace {

// One key to write: in the root (section ""), in [section], or in the index-th [[section]].
struct KeyEdit {
  std::string section;
  int index = -1;             // >= 0: an entry of an array of tables
  std::string key;
  const toml::node* value;    // nullptr: remove the key
};

std::string format(const toml::node& n) {
  std::ostringstream s;
  // "double quotes", as people write them, rather than toml++'s default 'literal strings'
  constexpr auto flags = toml::toml_formatter::default_flags & ~toml::format_flags::allow_literal_strings;
  n.visit([&s](const auto& v) { s << toml::toml_formatter{v, flags}; });
  return s.str();
}

bool plain(const toml::node* n) { return n == nullptr || !(n->is_table() || n->is_array_of_tables()); }

// The key edits that turn table `b` into `a` (keys of one table); false when a nested table differs.
bool diff_keys(const toml::table* b, const toml::table& a, const std::string& section, int index, std::vector<KeyEdit>& out) {
  auto differs = [](const toml::node* x, const toml::node* y) {
    return (x == nullptr) != (y == nullptr) || (x != nullptr && format(*x) != format(*y));
  };
  if (b != nullptr)
    for (const auto& [k, v] : *b)
      if (!a.contains(k.str())) {
        if (!plain(&v)) return false;
        out.push_back({section, index, std::string(k.str()), nullptr});
      }
  for (const auto& [k, v] : a) {
    const toml::node* old = b != nullptr ? b->get(k.str()) : nullptr;
    if (!differs(old, &v)) continue;
    if (!plain(&v) || !plain(old)) return false;
    out.push_back({section, index, std::string(k.str()), &v});
  }
  return true;
}

struct Header {
  std::size_t line;
  std::string name;
  bool array;
};

std::string trim(std::string_view s) {
  std::size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string_view::npos ? std::string() : std::string(s.substr(a, b - a + 1));
}

std::vector<Header> headers(const std::vector<std::string>& lines) {
  std::vector<Header> h;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string t = trim(lines[i]);
    if (t.empty() || t[0] != '[') continue;
    bool array = t.rfind("[[", 0) == 0;
    std::size_t close = t.find(array ? "]]" : "]");
    if (close == std::string::npos) continue;
    std::string rest = trim(t.substr(close + (array ? 2 : 1)));
    if (!rest.empty() && rest[0] != '#') continue;  // not a header: a line of a multi-line array
    h.push_back({i, trim(t.substr(array ? 2 : 1, close - (array ? 2 : 1))), array});
  }
  return h;
}

// Lines [first, last) of the section; first is the header line + 1 (0 for the root).
bool section_range(const std::vector<std::string>& lines, const KeyEdit& e, std::size_t& first, std::size_t& last) {
  auto hs = headers(lines);
  if (e.section.empty()) {
    first = 0;
    last = hs.empty() ? lines.size() : hs.front().line;
    return true;
  }
  int seen = 0;
  for (std::size_t i = 0; i < hs.size(); ++i) {
    if (hs[i].name != e.section || hs[i].array != (e.index >= 0)) continue;
    if (e.index >= 0 && seen++ != e.index) continue;
    first = hs[i].line + 1;
    last = i + 1 < hs.size() ? hs[i + 1].line : lines.size();
    return true;
  }
  return false;
}

bool is_key_line(const std::string& line, const std::string& key) {
  std::string t = trim(line);
  if (t.rfind(key, 0) != 0) return false;
  std::string rest = trim(t.substr(key.size()));
  return !rest.empty() && rest[0] == '=';
}

bool single_line_value(const std::string& line) {
  try {
    (void)toml::parse(line);
    return true;
  } catch (const toml::parse_error&) {
    return false;  // a value that goes on over the next lines: not patched by line
  }
}

bool apply(std::vector<std::string>& lines, const KeyEdit& e) {
  std::size_t first = 0, last = 0;
  if (!section_range(lines, e, first, last)) {
    if (e.value == nullptr) return true;  // removing from a table that is not there
    if (e.index >= 0) return false;
    lines.push_back("\n");
    lines.push_back("[" + e.section + "]\n");
    lines.push_back(e.key + " = " + format(*e.value) + "\n");
    return true;
  }
  for (std::size_t i = first; i < last; ++i) {
    if (!is_key_line(lines[i], e.key)) continue;
    if (!single_line_value(lines[i])) return false;
    if (e.value == nullptr) {
      lines.erase(lines.begin() + static_cast<long>(i));
    } else {
      std::string indent = lines[i].substr(0, lines[i].find_first_not_of(" \t"));
      lines[i] = indent + e.key + " = " + format(*e.value) + "\n";
    }
    return true;
  }
  if (e.value == nullptr) return true;
  std::size_t at = first;  // after the section's last key line (its trailing comments stay below)
  for (std::size_t i = first; i < last; ++i) {
    std::string t = trim(lines[i]);
    if (!t.empty() && t[0] != '#') at = i + 1;
  }
  lines.insert(lines.begin() + static_cast<long>(at), e.key + " = " + format(*e.value) + "\n");
  return true;
}

}  // namespace

std::optional<std::string> patch_toml_text(std::string_view text, const toml::table& before, const toml::table& after) {
  std::vector<KeyEdit> edits;
  toml::table root_before, root_after;  // the root's own keys, as a table
  for (const auto& [k, v] : before)
    if (plain(&v)) root_before.insert(k, v);
  for (const auto& [k, v] : after)
    if (plain(&v)) root_after.insert(k, v);
  if (!diff_keys(&root_before, root_after, "", -1, edits)) return std::nullopt;
  for (const auto& [k, v] : before)
    if (!plain(&v) && !after.contains(k.str())) return std::nullopt;  // a whole table removed
  for (const auto& [k, v] : after) {
    if (plain(&v)) continue;
    const toml::node* old = before.get(k.str());
    std::string name(k.str());
    if (const toml::table* t = v.as_table()) {
      if (old != nullptr && !old->is_table()) return std::nullopt;
      if (!diff_keys(old != nullptr ? old->as_table() : nullptr, *t, name, -1, edits)) return std::nullopt;
    } else {
      const toml::array* arr = v.as_array();
      const toml::array* old_arr = old != nullptr ? old->as_array() : nullptr;
      if (old_arr == nullptr || old_arr->size() != arr->size() || !old_arr->is_array_of_tables()) return std::nullopt;
      for (std::size_t i = 0; i < arr->size(); ++i)
        if (!diff_keys(old_arr->get(i)->as_table(), *arr->get(i)->as_table(), name, static_cast<int>(i), edits))
          return std::nullopt;
    }
  }
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? text.size() : eol + 1;
    lines.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (!lines.empty() && lines.back().back() != '\n') lines.back() += '\n';
  for (const auto& e : edits)
    if (!apply(lines, e)) return std::nullopt;
  std::string out;
  for (const auto& l : lines) out += l;
  try {
    // what the lines say must be exactly the edited document
    if (format(toml::parse(out)) != format(after)) return std::nullopt;
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
  return out;
}

}  // namespace exphone::phone
