#include "core/last_resort.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace stb {
namespace {

// Without the handler, an exception escaping a thread is std::terminate -> abort() -> SIGABRT.
TEST(LastResortDeathTest, ExceptionInAThreadIsOneLineAndExit1) {
  EXPECT_EXIT(
      {
        InstallLastResortHandler();
        std::thread t([] { throw std::out_of_range("stod"); });
        t.join();
      },
      ::testing::ExitedWithCode(1), "error: internal error: stod \\(please report this as a bug\\)");
}

TEST(LastResortDeathTest, MainThreadHandlerExits1) {
  EXPECT_EXIT(ExitOnUnexpected(std::make_exception_ptr(std::runtime_error("boom"))), ::testing::ExitedWithCode(1),
              "internal error: boom");
}

TEST(LastResort, JsonParseErrorsDoNotQuoteTheirInput) {
  std::exception_ptr e;
  try {
    nlohmann::json j = nlohmann::json::parse("{\"key\": secret-key-material}");
    ADD_FAILURE() << j.dump();
  } catch (...) {
    e = std::current_exception();
  }
  std::string line = DescribeUnexpected(e);
  EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  EXPECT_NE(line.find("malformed JSON"), std::string::npos) << line;
  EXPECT_EQ(DescribeUnexpected(std::make_exception_ptr(std::runtime_error("a\nb"))), "a b");
}

}  // namespace
}  // namespace stb
