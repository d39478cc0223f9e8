// Fuzzes `exphone diag` end to end on hostile captures: the pcap/pcapng reader (libpcap), link
// layers, IPv4/IPv6, TCP reassembly, SIP/SDP/TLS/RTP/SRTP classification and the report. The
// input is written to a file (what diag reads); nothing may crash, hang or leak, and a file that
// is not a capture must be an error, not a report. The second half of the input is also read as
// an SRTP key log (docs/diagnostics.md). The --html page is rendered from every report, and the
// input as text goes through html_escape: its output never holds a markup character.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tools/diag/diag.h"
#include "tools/diag/html_report.h"
#include "tools/diag/keylog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/exphone-diag-fuzz-" + std::to_string(getpid()) + ".pcap";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto r = exphone::diag::analyze(path, {});
  if (r && exphone::diag::to_html(*r).find("<script") != std::string::npos) std::abort();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (exphone::diag::html_escape(text).find_first_of("<>\"'") != std::string::npos) std::abort();
  (void)exphone::diag::parse_srtp_keylog(text.substr(size / 2));
  return 0;
}
