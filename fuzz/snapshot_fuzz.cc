// Snapshot objects: any JSON, sealed under the repository key as a (buggy or older) writer
// could have stored it, then listed and looked up as `snapshots` and `restore latest` do.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "repo_fixture.h"
#include "repository/format.h"
#include "repository/snapshots.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  stb::RepoFixture& f = stb::Fixture();
  auto name = f.repo->SaveObject("snapshots", stb::kKindSnapshot, doc);
  if (!name.ok()) return 0;
  std::vector<std::string> problems;
  (void)stb::ListSnapshots(*f.repo, &problems);
  (void)stb::FindSnapshot(*f.repo, "latest");
  (void)f.storage->Remove(*name);
  return 0;
}
