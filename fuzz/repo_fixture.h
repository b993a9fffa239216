// For the repository fuzz targets: a repository in memory under a fixed key file, created once
// per fuzzing process, whose config and key object a target can pair with fuzzed ones.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include "crypto/key_source.h"
#include "repository/repository.h"
#include "storage/storage.h"

namespace stb {

struct RepoFixture {
  KeySource key;
  Bytes config;
  std::string key_name;
  Bytes key_object;
  std::shared_ptr<Storage> storage;
  std::unique_ptr<Repository> repo;
};

inline RepoFixture& Fixture() {
  static RepoFixture* f = [] {
    auto* x = new RepoFixture;
    x->key.kind = KeySource::Kind::kKeyFile;
    x->key.path = "fuzz-key";
    x->key.secret = Bytes(32, 0x42);
    x->storage = NewMemStorage();
    if (!Repository::Init(*x->storage, x->key).ok()) abort();
    x->config = x->storage->Get("config").value();
    auto keys = x->storage->List("keys/").value();
    x->key_name = keys.at(0).name;
    x->key_object = x->storage->Get(x->key_name).value();
    auto repo = Repository::Open(x->storage, x->key);
    if (!repo.ok()) abort();
    x->repo = std::move(repo).value();
    return x;
  }();
  return *f;
}

}  // namespace stb
