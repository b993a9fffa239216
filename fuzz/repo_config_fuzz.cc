// The repository's config object (plain JSON, not sealed: anyone with write access to the
// location can change it), opened with a valid key object beside it.
#include <cstddef>
#include <cstdint>

#include "repo_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stb::RepoFixture& f = stb::Fixture();
  std::shared_ptr<stb::Storage> s = stb::NewMemStorage();
  (void)s->Put("config", stb::Bytes(data, data + size));
  (void)s->Put(f.key_name, f.key_object);
  (void)stb::Repository::Open(s, f.key);
  return 0;
}
