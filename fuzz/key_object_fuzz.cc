// A key object (keys/<id>: plain JSON with the wrapped master key), beside a valid config; then
// the key listing that reads every key object's fields.
#include <cstddef>
#include <cstdint>

#include "repo_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stb::RepoFixture& f = stb::Fixture();
  std::shared_ptr<stb::Storage> s = stb::NewMemStorage();
  (void)s->Put("config", f.config);
  (void)s->Put("keys/fuzzed", stb::Bytes(data, data + size));
  (void)stb::Repository::Open(s, f.key);  // no key object that opens it: PermissionDenied
  (void)s->Put(f.key_name, f.key_object);
  auto repo = stb::Repository::Open(s, f.key);
  if (repo.ok()) (void)(*repo)->ListKeys();
  return 0;
}
