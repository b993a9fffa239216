// The storage conformance suite: every driver (local, mem; later s3, azure, gcs) must pass it.
// Instantiate with INSTANTIATE_TEST_SUITE_P(Name, StorageConformance, Values(factory)).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "storage/storage.h"

namespace stb {

using StorageFactory = std::function<std::unique_ptr<Storage>()>;

class StorageConformance : public ::testing::TestWithParam<StorageFactory> {
 protected:
  void SetUp() override { storage_ = GetParam()(); }
  std::unique_ptr<Storage> storage_;
};

}  // namespace stb
