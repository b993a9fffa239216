// A component for tests of the restorer and the drill: restores by reading the blobs its entry
// lists (as the database component's dump) and writing a marker under the target, records the
// order it was called in, and fails when told to.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "components/component.h"
#include "repository/repository.h"

namespace stb {

class FakeComponent : public Component {
 public:
  // fail: the error its restore reports ("": it succeeds).
  FakeComponent(std::string name, std::vector<std::string>* calls, std::string fail = "")
      : name_(std::move(name)), calls_(calls), fail_(std::move(fail)) {}
  std::string_view name() const override { return name_; }
  std::string MissingSetting(const Settings&) const override { return ""; }
  ComponentBackup Backup(BackupContext&) override { return {}; }
  ComponentReport Restore(const nlohmann::json& entry, RestoreContext& ctx) override {
    calls_->push_back(name_);
    ComponentReport r;
    uint64_t bytes = 0;
    for (const auto& hex : entry["blobs"]) {
      auto blob = ctx.repo.ReadBlob(*Id::FromHex(hex.get<std::string>()));
      if (!blob.ok()) {
        r.error = blob.status().message();
        return r;
      }
      bytes += blob->size();
    }
    r.size_bytes = bytes;
    std::string to = ctx.options.target + "/" + name_;
    r.details["restored_to"] = to;
    // Where the target is a real directory (the drill's), the restore writes into it.
    if (std::ofstream f(to); f) f << bytes;
    if (!fail_.empty()) {
      r.error = fail_;
      return r;
    }
    r.success = true;
    return r;
  }
  void VisitBlobs(Repository&, const nlohmann::json&, const std::string&, const BlobVisitor&,
                  std::vector<std::string>&) override {}

 private:
  std::string name_;
  std::vector<std::string>* calls_;
  std::string fail_;
};

}  // namespace stb
