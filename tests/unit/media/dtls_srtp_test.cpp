// DTLS-SRTP (RFC 5764) between two of our transports on one io_context: the keys each side
// exports protect what the other unprotects; a fingerprint that is not the peer's fails the call.
#include "media/dtls_srtp.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <filesystem>

#include "media/rtp.h"

namespace exphone::media {
namespace {

struct Pair {
  boost::asio::io_context io;
  std::unique_ptr<DtlsSrtpTransport> client, server;
  std::optional<Result<DtlsSrtpKeys>> client_result, server_result;
  std::size_t datagrams = 0;
  bool drop_first_server_flight = false;

  void make(std::shared_ptr<DtlsIdentity> ci, std::shared_ptr<DtlsIdentity> si) {
    // Each side's datagrams are delivered to the other asynchronously, as a socket would.
    client = std::move(*DtlsSrtpTransport::create(
        io, ci, DtlsRole::kClient,
        [this](std::span<const std::uint8_t> d) {
          ++datagrams;
          std::vector<std::uint8_t> copy(d.begin(), d.end());
          boost::asio::post(io, [this, copy] { if (server) server->on_datagram(copy); });
        },
        [this](Result<DtlsSrtpKeys> r) { client_result.emplace(std::move(r)); }, std::chrono::seconds(5)));
    server = std::move(*DtlsSrtpTransport::create(
        io, si, DtlsRole::kServer,
        [this](std::span<const std::uint8_t> d) {
          ++datagrams;
          if (drop_first_server_flight) return;  // lost: the client's retransmission timer recovers
          std::vector<std::uint8_t> copy(d.begin(), d.end());
          boost::asio::post(io, [this, copy] { if (client) client->on_datagram(copy); });
        },
        [this](Result<DtlsSrtpKeys> r) { server_result.emplace(std::move(r)); }, std::chrono::seconds(5)));
  }
  void run() {
    while (!(client_result && server_result) && io.run_one_for(std::chrono::seconds(6))) {
    }
  }
};

std::vector<std::uint8_t> rtp_packet() {
  RtpHeader h;
  h.payload_type = 0;
  h.sequence = 7;
  h.timestamp = 160;
  h.ssrc = 0x1234;
  std::vector<std::uint8_t> payload(160, 0xd5);
  return *serialize_rtp(h, payload);
}

TEST(DtlsSrtp, HandshakeExportsMatchingKeysAndChecksFingerprints) {
  auto ci = DtlsIdentity::generate(), si = DtlsIdentity::generate();
  ASSERT_TRUE(ci.ok() && si.ok());
  EXPECT_EQ((*ci)->fingerprint_sha256().size(), 32u);
  Pair p;
  p.make(*ci, *si);
  p.client->set_remote_fingerprint((*si)->fingerprint_sha256());
  p.server->set_remote_fingerprint((*ci)->fingerprint_sha256());
  p.server->start();
  p.client->start();
  p.run();
  ASSERT_TRUE(p.client_result && p.server_result);
  ASSERT_TRUE(p.client_result->ok()) << p.client_result->error().to_string();
  ASSERT_TRUE(p.server_result->ok()) << p.server_result->error().to_string();
  EXPECT_TRUE(p.client->fingerprint_verified());
  EXPECT_EQ(p.client->peer_fingerprint(), (*si)->fingerprint_sha256());
  const auto& ck = p.client_result->value();
  const auto& sk = p.server_result->value();
  EXPECT_EQ(ck.profile, sk.profile);
  EXPECT_EQ(ck.send.master_key_salt, sk.receive.master_key_salt);
  EXPECT_EQ(ck.receive.master_key_salt, sk.send.master_key_salt);
  EXPECT_NE(ck.send.master_key_salt, ck.receive.master_key_salt);
  // The exported keys work with libsrtp2 in both directions.
  auto tx = SrtpSession::create(ck.send, Direction::kOutbound);
  auto rx = SrtpSession::create(sk.receive, Direction::kInbound);
  ASSERT_TRUE(tx.ok() && rx.ok());
  auto pkt = rtp_packet();
  const auto plain = pkt;
  ASSERT_TRUE(tx->protect(pkt).ok());
  ASSERT_TRUE(rx->unprotect(pkt).ok());
  EXPECT_EQ(pkt, plain);
}

TEST(DtlsSrtp, WrongFingerprintEndsWithMismatch) {
  auto ci = DtlsIdentity::generate(), si = DtlsIdentity::generate(), other = DtlsIdentity::generate();
  Pair p;
  p.make(*ci, *si);
  p.client->set_remote_fingerprint((*other)->fingerprint_sha256());  // not the server's
  p.server->set_remote_fingerprint((*ci)->fingerprint_sha256());
  p.client->start();
  p.run();
  ASSERT_TRUE(p.client_result);
  ASSERT_FALSE(p.client_result->ok());
  EXPECT_EQ(p.client_result->error().code, "dtls-fingerprint-mismatch");
  EXPECT_FALSE(p.client->fingerprint_verified());
}

TEST(DtlsSrtp, FingerprintArrivingAfterTheHandshakeIsCheckedThen) {
  auto ci = DtlsIdentity::generate(), si = DtlsIdentity::generate();
  Pair p;
  p.make(*ci, *si);
  p.server->set_remote_fingerprint((*ci)->fingerprint_sha256());
  p.client->start();
  while (!p.server_result && p.io.run_one_for(std::chrono::seconds(6))) {
  }
  for (int i = 0; i < 20 && p.io.poll_one(); ++i) {
  }
  EXPECT_TRUE(p.client->complete());
  EXPECT_FALSE(p.client_result);  // waits for the SDP's fingerprint
  p.client->set_remote_fingerprint((*si)->fingerprint_sha256());
  ASSERT_TRUE(p.client_result);
  EXPECT_TRUE(p.client_result->ok());
}

TEST(DtlsSrtp, TimesOutWhenThePeerNeverAnswers) {
  auto ci = DtlsIdentity::generate(), si = DtlsIdentity::generate();
  Pair p;
  p.make(*ci, *si);
  p.drop_first_server_flight = true;  // the server's answers are all lost
  p.client->set_remote_fingerprint((*si)->fingerprint_sha256());
  p.client->start();
  while (!p.client_result && p.io.run_one_for(std::chrono::seconds(8))) {
  }
  ASSERT_TRUE(p.client_result);
  EXPECT_EQ(p.client_result->error().code, "dtls-timeout");
}

TEST(DtlsIdentity, IsCreatedOnceAndReloaded) {
  auto dir = std::filesystem::temp_directory_path() / ("dtls-id-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "dtls.pem").string();
  auto a = DtlsIdentity::load_or_create(path);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto b = DtlsIdentity::load_or_create(path);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)->fingerprint_sha256(), (*b)->fingerprint_sha256());
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("not a key\n", f);
  std::fclose(f);
  EXPECT_EQ(DtlsIdentity::load_or_create(path).error().code, "dtls-identity-unreadable");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace exphone::media
