#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "crypto/key_source.h"

namespace stb {
namespace {

TEST(Aead, RoundTripAndTamperDetection) {
  Aead a(RandomBytes(32));
  Bytes plain = ToBytes("player 42 inventory");
  Bytes sealed = a.Seal(plain, "aad");
  EXPECT_EQ(sealed.size(), plain.size() + kSealOverhead);
  auto opened = a.Open(sealed, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(a.Open(bad, "aad").status().code(), Code::kCorrupt) << "flipped byte " << i;
  }
  EXPECT_FALSE(a.Open(sealed, "other").ok());
  EXPECT_FALSE(Aead(RandomBytes(32)).Open(sealed, "aad").ok());
}

TEST(Aead, NoncesDiffer) {
  Aead a(RandomBytes(32));
  EXPECT_NE(a.Seal(ToBytes("x"), ""), a.Seal(ToBytes("x"), ""));
}

TEST(Hashes, KnownAnswers) {
  EXPECT_EQ(Sha256(ToBytes("abc")).Hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  Hmac h(ToBytes("Jefe"));
  Bytes msg = ToBytes("what do ya want for nothing?");
  EXPECT_EQ(h.Compute(msg.data(), msg.size()).Hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  Sha256Stream s;
  s.Update(reinterpret_cast<const uint8_t*>("ab"), 2);
  s.Update(reinterpret_cast<const uint8_t*>("c"), 1);
  EXPECT_EQ(s.Final(), Sha256(ToBytes("abc")));
}

class KeyFileTest : public ::testing::Test {
 protected:
  std::string path_ = "/tmp/stb-keytest-" + std::to_string(getpid());
  void TearDown() override { unlink(path_.c_str()); }
  void Write(const std::string& text, int mode) {
    std::ofstream(path_) << text;
    chmod(path_.c_str(), mode);
  }
};

TEST_F(KeyFileTest, AcceptsOpensslRandHex) {
  Write("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600);
  auto k = LoadKeyFile(path_);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->secret.size(), 32u);
}

TEST_F(KeyFileTest, RefusesModeReadableByOthers) {
  Write("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644);
  auto k = LoadKeyFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("chmod 600"), std::string::npos) << k.status().message();
  EXPECT_EQ(k.status().message().find("0011223344"), std::string::npos) << "key material leaked";
}

TEST_F(KeyFileTest, RefusesBadContentWithoutEchoingIt) {
  Write("not-a-key-secretvalue", 0600);
  auto k = LoadKeyFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message().find("secretvalue"), std::string::npos);
}

TEST_F(KeyFileTest, GenerateWritesMode0600AndRefusesOverwrite) {
  ASSERT_TRUE(GenerateKeyFile(path_).ok());
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(LoadKeyFile(path_).ok());
  EXPECT_FALSE(GenerateKeyFile(path_).ok());
}

}  // namespace
}  // namespace stb
