// Repository objects with well-formed JSON but wrong types or ranges (what the fuzz targets in
// fuzz/ found): each is a clear kCorrupt or a named problem, never an exception or undefined cast.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "repository/format.h"
#include "repository/repository.h"
#include "repository/snapshots.h"
#include "test_key.h"

namespace stb {
namespace {

using nlohmann::json;

// A fresh repository whose config is replaced by `edit` applied to the real one.
StatusOr<std::unique_ptr<Repository>> OpenWithConfig(const std::function<void(json&)>& edit) {
  std::shared_ptr<Storage> s = NewMemStorage();
  EXPECT_TRUE(Repository::Init(*s, TestKey(7)).ok());
  json c = json::parse(AsString(s->Get("config").value()));
  edit(c);
  EXPECT_TRUE(s->Put("config", ToBytes(c.dump())).ok());
  return Repository::Open(s, TestKey(7));
}

// A non-hex id used to reach *FromHex(id) on an empty optional (undefined behaviour).
TEST(DamagedObjects, ConfigIdMustBeHex) {
  auto r = OpenWithConfig([](json& c) { c["id"] = "not hex at all"; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("id is not 64 lowercase hex digits"), std::string::npos) << r.status().message();
}

TEST(DamagedObjects, ConfigNumbersAreChecked) {
  for (const json& bad : {json(1e300), json(-1), json(4294967296ull), json("16777216"), json(2.5)}) {
    auto r = OpenWithConfig([&](json& c) { c["pack_size"] = bad; });
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << bad.dump();
    EXPECT_NE(r.status().message().find("pack_size"), std::string::npos) << r.status().message();
  }
  auto r = OpenWithConfig([](json& c) { c["chunker"]["min_size"] = -5; });
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_TRUE(OpenWithConfig([](json&) {}).ok());
}

// 1e300 as a blob offset used to be cast from double to uint32 (undefined behaviour).
TEST(DamagedObjects, IndexNumbersAreChecked) {
  std::string id(64, 'a');
  auto index = [&](json entry) { return json{{"version", 1}, {"packs", {{{"id", id}, {"blobs", {entry}}}}}}; };
  EXPECT_TRUE(Repository::ParseIndex(index({id, 0, 0, 100, 60})).ok());
  for (const json& bad : {json{id, 0, 1e300, 100, 60}, json{id, 0, -1, 100, 60}, json{id, "0", 0, 100, 60},
                          json{id, 0, 0, 4294967296ull, 60}, json{id, 0, 0, 100},
                          json{id, 2, 0, 100, 60}}) {  // type: 0 data, 1 tree, nothing else
    auto r = Repository::ParseIndex(index(bad));
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
  }
}

// The streaming parser LoadIndex uses: members in any order, unknown members ignored, and
// everything else an error, never a partial success.
TEST(DamagedObjects, IndexTextIsParsedStrictly) {
  std::string id(64, 'b'), pack(64, 'c');
  auto count = [](const std::string& text) -> int {
    int n = 0;
    Status st = Repository::ParseIndexText(text, [&](const Id&, const BlobLocation&) { ++n; });
    return st.ok() ? n : -1;
  };
  std::string entry = "[\"" + id + "\",1,0,100,60]";
  EXPECT_EQ(count("{\"packs\":[{\"blobs\":[" + entry + "," + entry + "],\"id\":\"" + pack + "\"}],\"version\":1}"), 2);
  EXPECT_EQ(count("{\"x\":{\"y\":[1,{}]},\"packs\":[{\"id\":\"" + pack + "\",\"z\":[[]],\"blobs\":[" + entry + "]}]}"),
            1);
  for (const std::string& bad :
       {std::string("{}"), std::string("[]"), std::string("{\"packs\":{}}"),
        "{\"packs\":[{\"blobs\":[" + entry + "]}]}",                                       // no pack id
        "{\"packs\":[{\"id\":\"" + pack + "\"}]}",                                         // no blobs
        "{\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[[\"" + id + "\",1,0,27,60]]}]}",  // shorter than a seal
        "{\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[[\"" + id + "\",1,0,100]]}]}",
        "{\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[" + entry + "]}]} x",  // trailing bytes
        "{\"packs\":[{\"id\":\"zz\",\"blobs\":[" + entry + "]}]}",
        // a repeated member (a document parser would keep only the last copy)
        "{\"packs\":[],\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[" + entry + "]}]}",
        "{\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[" + entry + "],\"blobs\":[]}]}",
        "{\"packs\":[{\"id\":\"" + pack + "\",\"id\":\"" + pack + "\",\"blobs\":[" + entry + "]}]}",
        // an id written with an escape, and a number where an id belongs
        "{\"packs\":[{\"id\":\"\\u0063" + pack.substr(1) + "\",\"blobs\":[" + entry + "]}]}",
        "{\"packs\":[{\"id\":\"" + pack + "\",\"blobs\":[[7,1,0,100,60]]}]}"}) {
    EXPECT_EQ(count(bad), -1) << bad;
  }
}

// A sealed snapshot whose backup_id is not a string used to throw json::type_error out of the
// listing (std::terminate: exit 134); a string time_unix likewise from the sort.
TEST(DamagedObjects, SnapshotOfTheWrongShapeIsAProblemNotAnException) {
  std::shared_ptr<Storage> s = NewMemStorage();
  ASSERT_TRUE(Repository::Init(*s, TestKey(7)).ok());
  auto repo = Repository::Open(s, TestKey(7));
  ASSERT_TRUE(repo.ok());
  ASSERT_TRUE((*repo)->SaveObject("snapshots", kKindSnapshot, json{{"backup_id", 42}}).ok());
  ASSERT_TRUE((*repo)->SaveObject("snapshots", kKindSnapshot, json::array()).ok());
  ASSERT_TRUE((*repo)->SaveObject("snapshots", kKindSnapshot, json{{"backup_id", "a"}, {"time_unix", "soon"}}).ok());
  ASSERT_TRUE((*repo)->SaveObject("snapshots", kKindSnapshot, json{{"backup_id", "b"}, {"time_unix", 5}}).ok());
  std::vector<std::string> problems;
  auto list = ListSnapshots(**repo, &problems);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].backup_id, "a");
  EXPECT_EQ(problems.size(), 2u);
}

}  // namespace
}  // namespace stb
