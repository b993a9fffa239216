#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace stb {
namespace {

TEST(Signing, HmacAndSha256) {
  // RFC 4231 test case 2.
  Bytes key{'J', 'e', 'f', 'e'};
  EXPECT_EQ(ToHex(HmacSha256(key, "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Sha256Hex(nullptr, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

std::string NewRsaPem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(Signing, Rs256SignsAndRejectsBadKeys) {
  auto key = RsaPrivateKey::FromPem(NewRsaPem());
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto sig = key->SignSha256("header.claims");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 256u);
  EXPECT_FALSE(RsaPrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n").ok());
  EXPECT_FALSE(RsaPrivateKey::FromPem("").ok());
}

}  // namespace
}  // namespace stb
