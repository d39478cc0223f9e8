// Test helper: builds Ethernet/IPv4/UDP|TCP frames in code and writes them with pcap_dump.
#pragma once
#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace exphone::diag::test {

inline void put16(std::vector<std::uint8_t>& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xffff);
}

// 127.0.0.x addresses; only the last octet and the port vary in these tests.
inline std::vector<std::uint8_t> frame(std::uint8_t src_host, std::uint16_t sport, std::uint8_t dst_host,
                                       std::uint16_t dport, const std::vector<std::uint8_t>& payload,
                                       bool tcp = false, std::uint32_t seq = 0, bool syn = false) {
  std::size_t l4 = tcp ? 20 : 8;
  std::vector<std::uint8_t> b(14 + 20 + l4 + payload.size(), 0);
  put16(b, 12, 0x0800);
  std::size_t ip = 14;
  b[ip] = 0x45;
  put16(b, ip + 2, static_cast<unsigned>(20 + l4 + payload.size()));
  b[ip + 8] = 64;
  b[ip + 9] = tcp ? 6 : 17;
  b[ip + 12] = 127; b[ip + 15] = src_host;
  b[ip + 16] = 127; b[ip + 19] = dst_host;
  std::size_t t = ip + 20;
  put16(b, t, sport);
  put16(b, t + 2, dport);
  if (tcp) {
    put32(b, t + 4, seq);
    b[t + 12] = 5 << 4;
    b[t + 13] = syn ? 0x02 : 0x18;
  } else {
    put16(b, t + 4, static_cast<unsigned>(8 + payload.size()));
  }
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(t + l4));
  return b;
}

// Any IPv4 addresses (host byte order, e.g. 0xC6336407 for 198.51.100.7).
inline std::vector<std::uint8_t> frame_ip(std::uint32_t src_ip, std::uint16_t sport, std::uint32_t dst_ip,
                                          std::uint16_t dport, const std::vector<std::uint8_t>& payload) {
  auto b = frame(0, sport, 0, dport, payload);
  put32(b, 14 + 12, src_ip);
  put32(b, 14 + 16, dst_ip);
  return b;
}

inline std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path, int linktype = DLT_EN10MB) {
    dead_ = pcap_open_dead(linktype, 65535);
    dump_ = pcap_dump_open(dead_, path.c_str());
  }
  ~PcapWriter() { close(); }
  void close() {
    if (dump_) pcap_dump_close(dump_);
    if (dead_) pcap_close(dead_);
    dump_ = nullptr;
    dead_ = nullptr;
  }
  void add(double t, const std::vector<std::uint8_t>& f) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<long>(t);
    h.ts.tv_usec = static_cast<long>((t - static_cast<double>(h.ts.tv_sec)) * 1e6);
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dump_), &h, f.data());
  }
  bool ok() const { return dump_ != nullptr; }

 private:
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dump_ = nullptr;
};

}  // namespace exphone::diag::test
