// phone::DtlsIdentitySource: the DTLS certificate is made once, at the first get(), and shared;
// a file that cannot be used is a problem() reported once, not retried at every call.
#include "phone/dtls_identity_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

using exphone::phone::DtlsIdentitySource;

TEST(DtlsIdentitySource, MadeOnceAtTheFirstGet) {
  DtlsIdentitySource source("");
  auto a = source.get();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->fingerprint_sha256().size(), 32u);  // SHA-256
  EXPECT_EQ(source.get(), a);                       // the same identity for every call
  EXPECT_TRUE(source.problem().empty());
  EXPECT_NE(DtlsIdentitySource("").get()->fingerprint_sha256(), a->fingerprint_sha256());
}

TEST(DtlsIdentitySource, UnusableFileIsAProblemNotRetried) {
  std::string path = ::testing::TempDir() + "dtls-identity-source-test.pem";
  {
    std::ofstream(path) << "not a key\n";
  }
  DtlsIdentitySource source(path);
  EXPECT_EQ(source.get(), nullptr);
  EXPECT_NE(source.problem().find("not a private key"), std::string::npos) << source.problem();
  std::remove(path.c_str());  // even once the file is gone, the answer stays (no retry per call)
  EXPECT_EQ(source.get(), nullptr);
  EXPECT_FALSE(source.problem().empty());
}

TEST(DtlsIdentitySource, FileIsCreatedAndKept) {
  std::string path = ::testing::TempDir() + "dtls-identity-source-kept.pem";
  std::remove(path.c_str());
  auto first = DtlsIdentitySource(path).get();
  ASSERT_NE(first, nullptr);
  auto again = DtlsIdentitySource(path).get();  // a restart loads the same identity
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->fingerprint_sha256(), first->fingerprint_sha256());
  std::remove(path.c_str());
}
