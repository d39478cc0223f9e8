// Common interface of the peer SIP parsers used in bench/sip_parse_bench.cpp.
//
// Each peer lives in its own translation unit (osip2.cpp, libre.cpp, sofia.cpp)
// because the libraries' headers clash with each other and with C++ (libre
// defines MIN/MAX/ARRAY_SIZE/bool-ish macros, sofia and oSIP2 define generic
// names like msg_t / osip_list_t). Only this header is shared; it includes no
// third-party header.
//
// Every *_parse function performs one complete parse of the given bytes with
// that library's normal message-decoding entry point, reads the fields of
// PeerSummary back from the library's own parsed structures, then frees
// everything it allocated before returning. Because the parsed structures are
// gone once the call returns, string fields are COPIED into small fixed-size
// inline buffers (InlineField, no heap). The copy is a few tens of bytes per
// message and is done identically for every parser (exphone included), so it
// costs a few nanoseconds against parses that take microseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "../messages.h"

namespace exphone::bench {

// Fixed-capacity, heap-free copy of a short string field.
// `size` is the full length the parser reported, even when it exceeds the
// capacity; only the first kCapacity bytes are stored (see truncated()).
struct InlineField {
  static constexpr std::size_t kCapacity = 64;

  std::size_t size = 0;
  char data[kCapacity];  // deliberately not zero-initialised: reset() only clears size

  void clear() noexcept { size = 0; }
  void assign(const char* p, std::size_t n) noexcept {
    size = 0;
    append(p, n);
  }
  void append(const char* p, std::size_t n) noexcept {
    if (p != nullptr && size < kCapacity) {
      const std::size_t room = kCapacity - size;
      std::memcpy(data + size, p, n < room ? n : room);
    }
    size += n;
  }
  void assign(const char* cstr) noexcept { assign(cstr, cstr ? std::strlen(cstr) : 0); }
  void append(const char* cstr) noexcept { append(cstr, cstr ? std::strlen(cstr) : 0); }
  void assign(std::string_view s) noexcept { assign(s.data(), s.size()); }

  bool truncated() const noexcept { return size > kCapacity; }
  std::string_view view() const noexcept {
    return {data, size < kCapacity ? size : kCapacity};
  }
};

// What every parser (peers and exphone) must read back from its parse result.
// Choice: strings are inline copies (see above), not views into the parser's
// structures, because the peers free their structures before returning.
struct PeerSummary {
  InlineField call_id;         // full Call-ID value, e.g. "id@host"
  unsigned long cseq = 0;      // CSeq number
  InlineField cseq_method;     // CSeq method
  int status = 0;              // status code (responses), 0 for requests
  InlineField method;          // request method, empty for responses
  std::size_t body_len = 0;    // body bytes (== Content-Length)
  InlineField from_tag;        // From ;tag=
  InlineField to_tag;          // To ;tag= (empty if none)
  InlineField via_branch;      // top Via ;branch=

  void reset() noexcept {
    call_id.clear();
    cseq = 0;
    cseq_method.clear();
    status = 0;
    method.clear();
    body_len = 0;
    from_tag.clear();
    to_tag.clear();
    via_branch.clear();
  }
};

// ---- GNU oSIP2 (pkg-config: libosip2) ----
// osip2_init() calls parser_init() once; must be called before osip2_parse().
void osip2_init();
bool osip2_parse(const char* data, std::size_t len, PeerSummary& out);

// ---- libre 1.1.0 (pkg-config: libre) ----
// libre_bench_init() calls libre_init() once; libre_bench_close() calls libre_close().
void libre_bench_init();
void libre_bench_close();
bool libre_parse(const char* data, std::size_t len, PeerSummary& out);

// ---- sofia-sip (pkg-config: sofia-sip-ua) ----
// sofia_bench_init() is a no-op kept for symmetry (the msg parser needs no
// global initialisation); calling it is harmless.
void sofia_bench_init();
bool sofia_parse(const char* data, std::size_t len, PeerSummary& out);

using ParseFn = bool (*)(const char* data, std::size_t len, PeerSummary& out);

struct PeerAdapter {
  const char* name;
  ParseFn parse;
};

inline constexpr PeerAdapter kPeers[] = {
    {"osip2", &osip2_parse},
    {"libre", &libre_parse},
    {"sofia", &sofia_parse},
};

// Initialise all three peer libraries (idempotent).
inline void init_all_peers() {
  static const bool done = [] {
    osip2_init();
    libre_bench_init();
    sofia_bench_init();
    return true;
  }();
  (void)done;
}

// Compare a summary with the expected values of a message.
// Returns an empty string if everything matches, else a description of the mismatches.
inline std::string check_summary(const PeerSummary& s, const MessageSpec& m) {
  std::string why;
  auto field = [&](const char* what, const InlineField& got, std::string_view want) {
    if (got.truncated() || got.view() != want) {
      why += what;
      why += ": got '";
      why += got.view();
      why += got.truncated() ? "...(truncated)" : "";
      why += "' want '";
      why += want;
      why += "'; ";
    }
  };
  auto number = [&](const char* what, unsigned long long got, unsigned long long want) {
    if (got != want) {
      why += what;
      why += ": got " + std::to_string(got) + " want " + std::to_string(want) + "; ";
    }
  };
  field("Call-ID", s.call_id, m.call_id);
  number("CSeq number", s.cseq, m.cseq);
  field("CSeq method", s.cseq_method, m.cseq_method);
  number("status", static_cast<unsigned long long>(s.status), static_cast<unsigned long long>(m.status));
  field("method", s.method, m.method);
  number("body length", s.body_len, m.body_len);
  field("From tag", s.from_tag, m.from_tag);
  field("To tag", s.to_tag, m.to_tag);
  field("Via branch", s.via_branch, m.via_branch);
  return why;
}

}  // namespace exphone::bench
