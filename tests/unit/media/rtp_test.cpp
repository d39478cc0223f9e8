// RTP/RTCP header parsing and serialization (RFC 3550 5.1, 5.3.1, 6.4.1; RFC 5761 4).
#include "media/rtp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace exphone::media;

namespace {

using Bytes = std::vector<std::uint8_t>;

// 12-byte fixed header: V=2, PT 0 (PCMU), seq 0x1234, ts 0xdecafbad, SSRC 0xcafebabe.
Bytes basic_packet() {
  return {0x80, 0x00, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
          'a',  'b',  'c',  'd'};
}

std::string code_of(std::span<const std::uint8_t> b) {
  auto r = parse_rtp(b);
  return r ? std::string("ok") : r.error().code;
}

}  // namespace

TEST(RtpParse, FixedHeader) {
  Bytes p = basic_packet();
  auto r = parse_rtp(p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->header.marker);
  EXPECT_EQ(r->header.payload_type, 0);
  EXPECT_EQ(r->header.sequence, 0x1234);
  EXPECT_EQ(r->header.timestamp, 0xdecafbadu);
  EXPECT_EQ(r->header.ssrc, 0xcafebabeu);
  EXPECT_EQ(r->header.csrc_count, 0);
  EXPECT_FALSE(r->header.has_extension);
  EXPECT_EQ(r->header_size, 12u);
  EXPECT_EQ(r->padding_size, 0);
  ASSERT_EQ(r->payload.size(), 4u);
  // A view into the input, not a copy.
  EXPECT_EQ(r->payload.data(), p.data() + 12);
}

TEST(RtpParse, MarkerAndPayloadType) {
  Bytes p = basic_packet();
  p[1] = 0x80 | 111;  // M=1, PT 111 (dynamic, e.g. Opus)
  auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->header.marker);
  EXPECT_EQ(r->header.payload_type, 111);
}

TEST(RtpParse, EmptyPayload) {
  Bytes p = basic_packet();
  p.resize(12);
  auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->payload.empty());
}

TEST(RtpParse, CsrcList) {
  Bytes p = {0x82, 0x08, 0x00, 0x01, 0, 0, 0, 0x10, 0x11, 0x22, 0x33, 0x44,
             0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0, 0xff};
  auto r = parse_rtp(p);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->header.csrc_count, 2);
  EXPECT_EQ(r->header.csrc_list()[0], 0x01020304u);
  EXPECT_EQ(r->header.csrc_list()[1], 0xa0b0c0d0u);
  EXPECT_EQ(r->header_size, 20u);
  ASSERT_EQ(r->payload.size(), 1u);
  EXPECT_EQ(r->payload[0], 0xff);
}

TEST(RtpParse, HeaderExtension) {
  // RFC 8285 one-byte header extension (profile 0xBEDE), one word of data.
  Bytes p = {0x90, 0x60, 0x00, 0x02, 0, 0, 0, 0x20, 0x11, 0x22, 0x33, 0x44,
             0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, 0x55, 0x66};
  auto r = parse_rtp(p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->header.has_extension);
  EXPECT_EQ(r->header.extension_profile, 0xbede);
  ASSERT_EQ(r->header.extension_data.size(), 4u);
  EXPECT_EQ(r->header.extension_data.data(), p.data() + 16);
  EXPECT_EQ(r->header_size, 20u);
  EXPECT_EQ(r->payload.size(), 2u);
}

TEST(RtpParse, EmptyHeaderExtension) {
  Bytes p = {0x90, 0x60, 0x00, 0x02, 0, 0, 0, 0x20, 0x11, 0x22, 0x33, 0x44,
             0x10, 0x00, 0x00, 0x00};
  auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->header.has_extension);
  EXPECT_EQ(r->header.extension_profile, 0x1000);
  EXPECT_TRUE(r->header.extension_data.empty());
  EXPECT_TRUE(r->payload.empty());
}

TEST(RtpParse, Padding) {
  Bytes p = basic_packet();
  p[0] |= 0x20;
  p.insert(p.end(), {0, 0, 3});  // 3 pad bytes, count in the last
  auto r = parse_rtp(p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->padding_size, 3);
  ASSERT_EQ(r->payload.size(), 4u);
  EXPECT_EQ(r->payload[3], 'd');
}

TEST(RtpParse, PaddingCoversWholePayload) {
  Bytes p = basic_packet();
  p.resize(12);
  p[0] |= 0x20;
  p.insert(p.end(), {0, 0, 0, 4});
  auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->padding_size, 4);
  EXPECT_TRUE(r->payload.empty());
}

TEST(RtpParse, AllFeaturesTogether) {
  Bytes p = {0xb1, 0x85, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8,  // V2 P X CC=1, M, PT 5
             9,    9,    9,    9,                             // CSRC
             0x00, 0x01, 0x00, 0x02, 1, 1, 1, 1, 2, 2, 2, 2,  // extension, 2 words
             0x42, 0x00, 0x02};                               // payload 'B', 2 pad
  auto r = parse_rtp(p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->header.marker);
  EXPECT_EQ(r->header.payload_type, 5);
  EXPECT_EQ(r->header.sequence, 0xffff);
  EXPECT_EQ(r->header.csrc_list()[0], 0x09090909u);
  EXPECT_EQ(r->header.extension_data.size(), 8u);
  EXPECT_EQ(r->header_size, 28u);
  ASSERT_EQ(r->payload.size(), 1u);
  EXPECT_EQ(r->payload[0], 0x42);
  EXPECT_EQ(r->padding_size, 2);
}

TEST(RtpParse, TooShort) {
  Bytes p = basic_packet();
  for (std::size_t n = 0; n < 12; ++n) {
    EXPECT_EQ(code_of(std::span(p).first(n)), "rtp-too-short") << n;
  }
}

TEST(RtpParse, BadVersion) {
  for (std::uint8_t v : {0x00, 0x40, 0xc0}) {
    Bytes p = basic_packet();
    p[0] = v;
    auto r = parse_rtp(p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "rtp-bad-version");
    EXPECT_EQ(r.error().offset, 0u);
  }
}

TEST(RtpParse, BadCsrc) {
  Bytes p = basic_packet();  // 4 bytes after the header: room for exactly one CSRC
  p[0] = 0x81;
  EXPECT_EQ(code_of(p), "ok");
  p[0] = 0x82;
  EXPECT_EQ(code_of(p), "rtp-bad-csrc");
  p[0] = 0x8f;
  EXPECT_EQ(code_of(p), "rtp-bad-csrc");
}

TEST(RtpParse, BadExtension) {
  Bytes p = basic_packet();
  p.resize(12);
  p[0] = 0x90;  // X set, nothing after the fixed header
  EXPECT_EQ(code_of(p), "rtp-bad-extension");
  p.insert(p.end(), {0xbe, 0xde});  // half an extension header
  EXPECT_EQ(code_of(p), "rtp-bad-extension");
  p.insert(p.end(), {0x00, 0x02, 1, 2, 3, 4});  // claims 2 words, has 1
  EXPECT_EQ(code_of(p), "rtp-bad-extension");
  p.insert(p.end(), {5, 6, 7, 8});
  EXPECT_EQ(code_of(p), "ok");
  p[14] = 0xff;  // length 0xff02 words
  EXPECT_EQ(code_of(p), "rtp-bad-extension");
}

TEST(RtpParse, ExtensionAfterCsrcsBounds) {
  Bytes p = {0x91, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 7, 7, 7, 0xbe, 0xde, 0x00};
  EXPECT_EQ(code_of(p), "rtp-bad-extension");
}

TEST(RtpParse, BadPadding) {
  Bytes p = basic_packet();
  p[0] |= 0x20;
  p.back() = 0;  // count 0: the count includes itself, so at least 1
  EXPECT_EQ(code_of(p), "rtp-bad-padding");
  p.back() = 5;  // only 4 bytes after the header
  auto r = parse_rtp(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rtp-bad-padding");
  EXPECT_EQ(r.error().offset, p.size() - 1);
  p.back() = 4;
  EXPECT_EQ(code_of(p), "ok");

  Bytes bare = basic_packet();
  bare.resize(12);
  bare[0] |= 0x20;  // P set but no byte for the count beyond the header
  // The last byte is then the SSRC's last byte (0xbe) which exceeds the 0 bytes after the header.
  EXPECT_EQ(code_of(bare), "rtp-bad-padding");
}

TEST(RtpSerialize, RoundTrip) {
  RtpHeader h;
  h.marker = true;
  h.payload_type = 96;
  h.sequence = 65535;
  h.timestamp = 0x01020304;
  h.ssrc = 0xdeadbeef;
  h.csrc_count = 3;
  h.csrcs[0] = 1;
  h.csrcs[1] = 0x80000000;
  h.csrcs[2] = 0xffffffff;
  const Bytes ext = {0x10, 0xaa, 0x21, 0xbb, 0xcc, 0x00, 0x00, 0x00};
  h.has_extension = true;
  h.extension_profile = 0xbede;
  h.extension_data = ext;
  const Bytes payload = {1, 2, 3, 4, 5, 6, 7};

  for (std::uint8_t pad : {0, 1, 5}) {
    auto wire = serialize_rtp(h, payload, pad);
    ASSERT_TRUE(wire) << wire.error().to_string();
    EXPECT_EQ(wire->size(), rtp_serialized_size(h, payload.size(), pad));
    auto r = parse_rtp(*wire);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->header.marker, h.marker);
    EXPECT_EQ(r->header.payload_type, h.payload_type);
    EXPECT_EQ(r->header.sequence, h.sequence);
    EXPECT_EQ(r->header.timestamp, h.timestamp);
    EXPECT_EQ(r->header.ssrc, h.ssrc);
    ASSERT_EQ(r->header.csrc_count, 3);
    EXPECT_TRUE(std::equal(r->header.csrc_list().begin(), r->header.csrc_list().end(),
                           h.csrc_list().begin()));
    EXPECT_EQ(r->header.extension_profile, 0xbede);
    EXPECT_EQ(Bytes(r->header.extension_data.begin(), r->header.extension_data.end()), ext);
    EXPECT_EQ(Bytes(r->payload.begin(), r->payload.end()), payload);
    EXPECT_EQ(r->padding_size, pad);

    // Parse -> serialize gives the same bytes.
    auto again = serialize_rtp(r->header, r->payload, r->padding_size);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *wire);
  }
}

TEST(RtpSerialize, ParsedBytesReserializeIdentically) {
  Bytes p = basic_packet();
  auto r = parse_rtp(p);
  ASSERT_TRUE(r);
  auto wire = serialize_rtp(r->header, r->payload);
  ASSERT_TRUE(wire);
  EXPECT_EQ(*wire, p);
}

TEST(RtpSerialize, Errors) {
  RtpHeader h;
  Bytes out(64);
  h.csrc_count = 16;
  auto r = write_rtp(h, {}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rtp-bad-csrc");

  h = RtpHeader{};
  h.payload_type = 128;
  r = write_rtp(h, {}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rtp-bad-payload-type");

  h = RtpHeader{};
  const Bytes odd = {1, 2, 3};
  h.has_extension = true;
  h.extension_data = odd;
  r = write_rtp(h, {}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rtp-bad-extension");

  h = RtpHeader{};
  r = write_rtp(h, Bytes(60), out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rtp-buffer-too-small");
  r = write_rtp(h, Bytes(52), out);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 64u);
}

// ---- RTCP --------------------------------------------------------------------------------------

TEST(Rtcp, LooksLikeRtcpPerRfc5761) {
  Bytes p = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (unsigned second = 0; second < 256; ++second) {
    p[1] = static_cast<std::uint8_t>(second);
    const unsigned pt = second & 0x7f;
    EXPECT_EQ(looks_like_rtcp(p), pt >= 64 && pt <= 95) << second;
  }
  p[1] = 200;
  EXPECT_TRUE(looks_like_rtcp(p));
  EXPECT_FALSE(looks_like_rtcp(std::span(p).first(3)));
  p[0] = 0x40;  // version 1
  EXPECT_FALSE(looks_like_rtcp(p));
}

TEST(Rtcp, ParseSenderReportHeader) {
  // The RTCP SR used by libsrtp's srtp_driver test (PT 200, RC 1, length 11 -> 48 bytes).
  Bytes p(48, 0xab);
  p[0] = 0x81;
  p[1] = 0xc8;
  p[2] = 0x00;
  p[3] = 0x0b;
  auto r = parse_rtcp_header(p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->type, RtcpType::kSenderReport);
  EXPECT_EQ(r->count, 1);
  EXPECT_FALSE(r->padding);
  EXPECT_EQ(r->length_words, 11);
  EXPECT_EQ(r->size(), 48u);
  EXPECT_EQ(r->packet.data(), p.data());
}

TEST(Rtcp, CompoundWalk) {
  // RR (no blocks) + SDES (one empty chunk) + BYE.
  Bytes p = {0x80, 201, 0, 1, 1, 2, 3, 4,           // RR, 8 bytes
             0x81, 202, 0, 2, 1, 2, 3, 4, 1, 0, 0, 0,  // SDES, 12 bytes
             0x81, 203, 0, 1, 1, 2, 3, 4};          // BYE, 8 bytes
  std::span<const std::uint8_t> rest = p;
  std::vector<RtcpType> types;
  while (!rest.empty()) {
    auto r = parse_rtcp_header(rest);
    ASSERT_TRUE(r) << r.error().to_string();
    types.push_back(r->type);
    rest = rest.subspan(r->size());
  }
  EXPECT_EQ(types, (std::vector<RtcpType>{RtcpType::kReceiverReport,
                                          RtcpType::kSourceDescription, RtcpType::kBye}));
}

TEST(Rtcp, Errors) {
  auto code = [](const Bytes& b) {
    auto r = parse_rtcp_header(b);
    return r ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code({}), "rtcp-too-short");
  EXPECT_EQ(code({0x80, 200, 0}), "rtcp-too-short");
  EXPECT_EQ(code({0x40, 200, 0, 0}), "rtcp-bad-version");
  EXPECT_EQ(code({0x80, 199, 0, 0}), "rtcp-bad-type");
  EXPECT_EQ(code({0x80, 205, 0, 0}), "rtcp-bad-type");
  EXPECT_EQ(code({0x80, 204, 0, 0}), "ok");
  EXPECT_EQ(code({0x80, 200, 0, 1, 0, 0, 0}), "rtcp-bad-length");
  EXPECT_EQ(code({0x80, 200, 0xff, 0xff}), "rtcp-bad-length");
  EXPECT_EQ(code({0x80, 200, 0, 1, 0, 0, 0, 0}), "ok");
}
