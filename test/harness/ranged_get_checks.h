// One check that every cloud storage's ranged Get shares: an endpoint that ignores the Range and
// answers with a huge object, or sends more than asked in a 206, is cut off (bounded reads).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/bytes.h"
#include "http_test_server.h"
#include "storage/storage.h"

namespace stb {

// The server script: a 16 MiB 200, then a 15-byte 206, then a 10-byte object with Range ignored.
inline Reply OversizedRangeReply(int i, const Request&) {
  if (i == 0) return Reply{200, std::string(16 << 20, 'x')};
  if (i == 1) return Reply{206, std::string(15, 'x')};
  return Reply{200, "0123456789"};
}

// Run against a storage whose endpoint is a TestServer(OversizedRangeReply).
inline void ExpectRangedGetRefusesOversizedAnswers(Storage& s) {
  auto big = s.Get("obj", 0, 10);
  EXPECT_EQ(big.status().code(), Code::kIo);
  EXPECT_NE(big.status().message().find("response body larger than 10 bytes"), std::string::npos)
      << big.status().message();
  auto over = s.Get("obj", 5, 10);  // 15 bytes would do for a whole object, not for this range
  EXPECT_EQ(over.status().code(), Code::kIo);
  EXPECT_NE(over.status().message().find("a range of 10 bytes with 15"), std::string::npos) << over.status().message();
  // Range ignored: the whole object is read when it is no larger than offset + length.
  auto cut = s.Get("obj", 2, 8);
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  EXPECT_EQ(AsString(*cut), "23456789");
  EXPECT_EQ(s.Get("obj", 2, 3).status().code(), Code::kIo);
}

}  // namespace stb
