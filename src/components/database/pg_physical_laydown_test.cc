// LayDownPhysical's check of the files it writes against backup_manifest: the CRC-32C of each
// file computed while its blobs are written (several blobs, out of order, shared between files)
// must equal the manifest's, and a changed byte, size, missing or extra file is refused by name.
#include "components/database/pg_physical_laydown.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "components/database/backup_manifest.h"
#include "core/crc32c.h"
#include "crypto/crypto.h"
#include "repository/blob_saver.h"
#include "repository/repository.h"
#include "repository/tree.h"

namespace stb {
namespace {

namespace fs = std::filesystem;

struct ManifestFile {
  std::string path;
  std::string content;  // what the manifest's Size and Checksum describe
  std::string algorithm = "CRC32C";
};

std::string ManifestText(const std::vector<ManifestFile>& files) {
  std::string body = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n";
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    uint32_t crc = Crc32c(0, reinterpret_cast<const uint8_t*>(f.content.data()), f.content.size());
    body += "{ \"Path\": \"" + f.path + "\", \"Size\": " + std::to_string(f.content.size()) +
            ", \"Checksum-Algorithm\": \"" + f.algorithm + "\"" +
            (f.algorithm == "NONE" ? "" : ", \"Checksum\": \"" + ManifestCrcHex(crc) + "\"") + " }" +
            (i + 1 < files.size() ? ",\n" : "\n");
  }
  body += "],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n],\n";
  Id sum = Sha256(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  return body + "\"Manifest-Checksum\": \"" + sum.Hex() + "\"}\n";
}

class LayDownCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-laydown-XXXXXX";
    base_ = mkdtemp(tmpl);
    storage_ = NewMemStorage();
    KeySource k;
    k.secret = Bytes(32, 5);
    ASSERT_TRUE(Repository::Init(*storage_, k).ok());
    repo_ = std::move(Repository::Open(storage_, k).value());
    // A relation file of three blobs, one of them also the whole of another file; an empty
    // file; a tablespace's file; the pieces are written by two workers in pack order.
    for (int i = 0; i < 3; ++i) {
      std::string piece;
      for (int j = 0; j < 20000 + i * 777; ++j) piece.push_back(static_cast<char>((j * (i + 3)) ^ (j >> 7)));
      pieces_.push_back(piece);
    }
    files_ = {{"pgdata/base/1/1259", pieces_[0] + pieces_[1] + pieces_[2], {0, 1, 2}},
              {"pgdata/base/1/2608", pieces_[1], {1}},
              {"pgdata/PG_VERSION", "", {}},
              {"tblspc-16384/PG_15_202209061/5/16385", pieces_[2] + pieces_[0], {2, 0}}};
  }
  void TearDown() override { fs::remove_all(base_); }

  struct TreeFile {
    std::string path, content;
    std::vector<int> pieces;
  };

  // The manifest a server would have sent for files_ (manifest paths).
  std::vector<ManifestFile> Sent() const {
    std::vector<ManifestFile> out;
    for (const auto& f : files_) {
      std::string p = f.path.starts_with("pgdata/") ? f.path.substr(7) : "pg_tblspc/16384/" + f.path.substr(13);
      out.push_back({p, f.content});
    }
    return out;
  }

  // Stores files_ as a physical backup whose backup_manifest is `manifest`, lays it down into a
  // fresh directory.
  StatusOr<LayDownResult> LayDown(const std::string& manifest) {
    BlobSaver saver(*repo_, 1);
    std::vector<Id> ids;
    for (const auto& p : pieces_) ids.push_back(*saver.Save(BlobType::kData, ToBytes(p).data(), p.size()));
    Tree tree;
    tree.roots = {{"pgdata", "/srv/pg"}, {"tblspc-16384", "/srv/ts"}};
    for (std::string d : {"pgdata", "pgdata/base", "pgdata/base/1", "tblspc-16384", "tblspc-16384/PG_15_202209061",
                          "tblspc-16384/PG_15_202209061/5"}) {
      FileNode n;
      n.path = d;
      n.type = FileNode::Type::kDir;
      n.mode = 0700;
      tree.nodes.push_back(n);
    }
    for (const auto& f : files_) {
      FileNode n;
      n.path = f.path;
      n.mode = 0600;
      n.size = f.content.size();
      for (int p : f.pieces) n.content.push_back(ids[static_cast<size_t>(p)]);
      tree.nodes.push_back(n);
    }
    auto tree_ids = SaveTree(*repo_, saver, tree);
    if (!tree_ids.ok()) return tree_ids.status();
    Bytes m = ToBytes(manifest);
    Id manifest_id = *saver.Save(BlobType::kData, m.data(), m.size());
    RETURN_IF_ERROR(saver.Finish());
    RETURN_IF_ERROR(repo_->LoadIndex());
    nlohmann::json entry = {{"kind", "postgresql-physical"},
                            {"server_version", 150000},
                            {"tree", nlohmann::json::array()},
                            {"manifest", {manifest_id.Hex()}}};
    for (const auto& i : *tree_ids) entry["tree"].push_back(i.Hex());
    LayDownOptions opt;
    opt.target_dir = base_ + "/data" + std::to_string(++runs_);
    opt.tablespace_map[16384] = opt.target_dir + ".ts";
    opt.pg_bin_dir = base_ + "/no-such-bin";  // pg_verifybackup must not be needed
    Progress progress;
    return LayDownPhysical(*repo_, entry, opt, progress);
  }

  std::string base_;
  int runs_ = 0;
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::vector<std::string> pieces_;
  std::vector<TreeFile> files_;
};

TEST_F(LayDownCheck, MatchingManifestPassesWithoutReadingBack) {
  auto r = LayDown(ManifestText(Sent()));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->report["manifest_check"]["files"], 4);
  EXPECT_EQ(r->report["manifest_check"]["crc32c_files"], 4);
  EXPECT_NE(r->report["pg_verifybackup"].get<std::string>().find("not run"), std::string::npos);
}

TEST_F(LayDownCheck, ChangedByteIsRefusedNamingTheFile) {
  auto sent = Sent();
  sent[3].content[25000] ^= 0x01;  // one bit of the tablespace file's second blob
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pg_tblspc/16384/PG_15_202209061/5/16385 has another CRC-32C"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
}

TEST_F(LayDownCheck, WrongSizeIsRefused) {
  auto sent = Sent();
  sent[0].content.pop_back();
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("base/1/1259 has another size"), std::string::npos) << r.status().message();
}

TEST_F(LayDownCheck, FileMissingFromTheLayDownIsRefused) {
  auto sent = Sent();
  sent.push_back({"global/pg_control", "control"});
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lists global/pg_control, which the lay-down did not contain"), std::string::npos)
      << r.status().message();
}

TEST_F(LayDownCheck, FileTheManifestDoesNotListIsRefused) {
  auto sent = Sent();
  sent.erase(sent.begin() + 1);  // base/1/2608
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("laid down base/1/2608, which the backup manifest does not list"),
            std::string::npos)
      << r.status().message();
}

TEST_F(LayDownCheck, UnknownAlgorithmIsRefused) {
  auto sent = Sent();
  sent[2].algorithm = "MD5";
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown Checksum-Algorithm 'MD5'"), std::string::npos) << r.status().message();
}

// Without a CRC-32C for every file, pg_verifybackup must read the files back: here it is not
// installed (pg_bin_dir points nowhere), so the lay-down fails saying so rather than passing.
TEST_F(LayDownCheck, ManifestWithoutChecksumsFallsBackToPgVerifyBackup) {
  auto sent = Sent();
  sent[0].algorithm = "NONE";
  auto r = LayDown(ManifestText(sent));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("pg_verifybackup not found"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace stb
