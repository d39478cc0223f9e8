#include "tools/diag/capture.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "core/shared_library.h"

#include <cstdio>
#include <memory>

namespace exphone::diag {

namespace {

// DLT values (pcap/dlt.h, https://www.tcpdump.org/linktypes.html); spelled out because DLT_LOOP
// and DLT_LINUX_SLL2 are missing from older headers.
constexpr int kDltNull = 0, kDltEn10mb = 1, kDltRaw = 101, kDltLoop = 108, kDltLinuxSll = 113,
              kDltLinuxSll2 = 276, kDltIpv4 = 228, kDltIpv6 = 229;
constexpr int kDltRawBsd12 = 12, kDltRawBsd14 = 14;

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

std::string ip_text(int family, const std::uint8_t* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, addr, buf, sizeof buf)) return "?";
  return buf;
}

// UDP/TCP header after the IP header; `l4` is the IP payload (bounded by the IP length).
bool decode_l4(int proto, const std::uint8_t* p, std::size_t n, Packet& out, CaptureStats& st) {
  if (proto == 17) {  // UDP, RFC 768
    if (n < 8) return ++st.malformed, false;
    std::size_t ulen = be16(p + 4);
    if (ulen < 8) return ++st.malformed, false;
    if (ulen > n) ulen = n;  // snap length cut the datagram: keep what was captured
    out.l4 = L4::kUdp;
    out.src.port = be16(p);
    out.dst.port = be16(p + 2);
    out.payload.assign(p + 8, p + ulen);
    return true;
  }
  if (proto == 6) {  // TCP, RFC 9293 3.1
    if (n < 20) return ++st.malformed, false;
    std::size_t off = static_cast<std::size_t>(p[12] >> 4) * 4;
    if (off < 20 || off > n) return ++st.malformed, false;
    out.l4 = L4::kTcp;
    out.src.port = be16(p);
    out.dst.port = be16(p + 2);
    out.seq = be32(p + 4);
    out.fin = p[13] & 0x01;
    out.syn = p[13] & 0x02;
    out.rst = p[13] & 0x04;
    out.payload.assign(p + off, p + n);
    return true;
  }
  ++st.skipped_non_ip;
  return false;
}

bool decode_ip(const std::uint8_t* p, std::size_t n, Packet& out, CaptureStats& st) {
  if (n < 1) return ++st.malformed, false;
  int version = p[0] >> 4;
  if (version == 4) {  // RFC 791 3.1
    if (n < 20) return ++st.malformed, false;
    std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
    std::size_t total = be16(p + 2);
    if (ihl < 20 || total < ihl || ihl > n) return ++st.malformed, false;
    if (total > n) total = n;
    std::uint16_t frag = be16(p + 6);
    if ((frag & 0x2000) || (frag & 0x1fff)) return ++st.skipped_fragments, false;  // MF or offset
    out.src.ip = ip_text(AF_INET, p + 12);
    out.dst.ip = ip_text(AF_INET, p + 16);
    return decode_l4(p[9], p + ihl, total - ihl, out, st);
  }
  if (version == 6) {  // RFC 8200 3
    if (n < 40) return ++st.malformed, false;
    std::size_t plen = be16(p + 4);
    std::size_t end = 40 + plen;
    if (end > n) end = n;
    out.src.ip = ip_text(AF_INET6, p + 8);
    out.dst.ip = ip_text(AF_INET6, p + 24);
    int next = p[6];
    std::size_t off = 40;
    // Extension headers (RFC 8200 4): hop-by-hop, routing, destination options are skipped; a
    // fragment header means a fragment we do not reassemble.
    for (int guard = 0; guard < 8 && (next == 0 || next == 43 || next == 60 || next == 44); ++guard) {
      if (next == 44) return ++st.skipped_fragments, false;
      if (off + 8 > end) return ++st.malformed, false;
      std::size_t len = (static_cast<std::size_t>(p[off + 1]) + 1) * 8;
      next = p[off];
      off += len;
      if (off > end) return ++st.malformed, false;
    }
    return decode_l4(next, p + off, end - off, out, st);
  }
  ++st.skipped_non_ip;
  return false;
}

bool decode_ethertype(std::uint16_t type, const std::uint8_t* p, std::size_t n, Packet& out,
                      CaptureStats& st) {
  if (type == 0x0800 || type == 0x86dd) return decode_ip(p, n, out, st);
  ++st.skipped_non_ip;
  return false;
}

}  // namespace

std::string to_string(const Endpoint& e) {
  if (e.ip.find(':') != std::string::npos) return "[" + e.ip + "]:" + std::to_string(e.port);
  return e.ip + ":" + std::to_string(e.port);
}

bool decode_frame(int linktype, const std::uint8_t* d, std::size_t n, double time, Packet& out,
                  CaptureStats& st) {
  out = Packet{};
  out.time = time;
  switch (linktype) {
    case kDltEn10mb: {  // Ethernet II (what tshark writes for Linux `lo`), 802.1Q tags skipped
      if (n < 14) return ++st.malformed, false;
      std::size_t off = 12;
      std::uint16_t type = be16(d + off);
      while ((type == 0x8100 || type == 0x88a8) && off + 6 <= n) {
        off += 4;
        type = be16(d + off);
      }
      off += 2;
      if (off > n) return ++st.malformed, false;
      return decode_ethertype(type, d + off, n - off, out, st);
    }
    case kDltNull:
    case kDltLoop: {  // 4-byte address family: host order (NULL) or network order (LOOP)
      if (n < 4) return ++st.malformed, false;
      // Either byte order: AF_INET is 2 everywhere, AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs);
      // the IP version nibble decides.
      return decode_ip(d + 4, n - 4, out, st);
    }
    case kDltLinuxSll:  // 16-byte header, protocol at offset 14
      if (n < 16) return ++st.malformed, false;
      return decode_ethertype(be16(d + 14), d + 16, n - 16, out, st);
    case kDltLinuxSll2:  // 20-byte header, protocol at offset 0
      if (n < 20) return ++st.malformed, false;
      return decode_ethertype(be16(d), d + 20, n - 20, out, st);
    case kDltRaw:
    case kDltRawBsd12:
    case kDltRawBsd14:
    case kDltIpv4:
    case kDltIpv6:
      return decode_ip(d, n, out, st);
    default:
      ++st.skipped_non_ip;
      return false;
  }
}

namespace {

// libpcap is loaded when diag first reads a capture (core/shared_library.h): the daemon never maps
// it, nor the D-Bus and systemd libraries it pulls in.
struct Pcap {
  pcap_t* (*open_offline_with_tstamp_precision)(const char*, u_int, char*);
  void (*close)(pcap_t*);
  int (*datalink)(pcap_t*);
  const char* (*datalink_val_to_name)(int);
  int (*next_ex)(pcap_t*, pcap_pkthdr**, const u_char**);
  char* (*geterr)(pcap_t*);
};

void bind_pcap(void* h, Pcap& p, std::string& error) {
  bind_symbol(h, "pcap_open_offline_with_tstamp_precision", p.open_offline_with_tstamp_precision, error);
  bind_symbol(h, "pcap_close", p.close, error);
  bind_symbol(h, "pcap_datalink", p.datalink, error);
  bind_symbol(h, "pcap_datalink_val_to_name", p.datalink_val_to_name, error);
  bind_symbol(h, "pcap_next_ex", p.next_ex, error);
  bind_symbol(h, "pcap_geterr", p.geterr, error);
}

LazyLibrary<Pcap> libpcap("libpcap.so.0.8", "libpcap0.8", "diag-libpcap-missing", bind_pcap);

}  // namespace

Result<CaptureStats> read_capture(const std::string& path,
                                  const std::function<void(const Packet&)>& sink) {
  auto lib = libpcap.get();
  if (!lib) return lib.error();
  const Pcap& pcap = **lib;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision where the file has it; libpcap scales microsecond files.
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> pc(
      pcap.open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf), pcap.close);
  if (!pc) return make_error("diag-open-failed", path + ": " + errbuf);
  CaptureStats st;
  st.linktype = pcap.datalink(pc.get());
  // pcap_major_version reports 1 for pcapng read through libpcap (it converts); the magic tells.
  st.format = "pcap";
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    unsigned char magic[4] = {};
    if (std::fread(magic, 1, 4, f) == 4 && magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d &&
        magic[3] == 0x0a)
      st.format = "pcapng";
    std::fclose(f);
  }
  switch (st.linktype) {
    case kDltNull: case kDltEn10mb: case kDltRaw: case kDltLoop: case kDltLinuxSll:
    case kDltLinuxSll2: case kDltRawBsd12: case kDltRawBsd14: case kDltIpv4: case kDltIpv6:
      break;
    default:
      return make_error("diag-unsupported-linktype",
                        path + ": link type " + std::to_string(st.linktype) + " (" +
                            (pcap.datalink_val_to_name(st.linktype) ? pcap.datalink_val_to_name(st.linktype) : "?") +
                            "); supported: Ethernet, Linux cooked (SLL/SLL2), loopback, raw IP");
  }
  Packet pkt;
  for (;;) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc = pcap.next_ex(pc.get(), &h, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      st.truncated = true;
      st.truncation_error = pcap.geterr(pc.get());
      break;
    }
    ++st.frames;
    double t = static_cast<double>(h->ts.tv_sec) + static_cast<double>(h->ts.tv_usec) * 1e-9;
    if (decode_frame(st.linktype, data, h->caplen, t, pkt, st)) {
      ++st.decoded;
      sink(pkt);
    }
  }
  return st;
}

}  // namespace exphone::diag
