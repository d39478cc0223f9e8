// The `exphone diag --html` page: one self-contained HTML file per capture (inline CSS and SVG,
// no script, no external asset; a Content-Security-Policy that forbids both). On top the verdict
// table and the findings, then per call a SIP ladder (a column per endpoint address, an arrow per
// message labelled with method/status and transport; for TLS without keys the records themselves,
// "encrypted SIP", with a lock) and a per-direction packet timeline of its media, so a direction
// that never starts, stops or pauses is visible. Every text that comes from the capture (Call-ID,
// From/To, reason phrases, addresses, file names) is HTML-escaped: a capture is untrusted input.
#pragma once
#include <string>
#include <string_view>

#include "core/result.h"
#include "tools/diag/diag.h"

namespace exphone::diag {

// & < > " ' as character references; bytes that are not valid UTF-8 become U+FFFD.
std::string html_escape(std::string_view text);

std::string to_html(const Report& r);

// Writes to_html(r) to `path`. Errors: diag-html-write.
Status write_html(const Report& r, const std::string& path);

}  // namespace exphone::diag
