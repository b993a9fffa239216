#include "components/files/files.h"

#include "core/log.h"
#include "filetree/file_backup.h"
#include "filetree/file_restore.h"
#include "filetree/walker.h"
#include "repository/tree_select.h"

namespace stb {

using json = nlohmann::json;

namespace {

class FilesComponent : public Component {
 public:
  FilesComponent(std::string name, std::string variable, std::function<FileSource(const Settings&)> source)
      : name_(std::move(name)), variable_(std::move(variable)), source_(std::move(source)) {}

  std::string_view name() const override { return name_; }

  std::string MissingSetting(const Settings& s) const override { return source_(s).paths.empty() ? variable_ : ""; }

  // Incremental backups reuse the unchanged files of the parent's tree without reading them.
  ComponentBackup Backup(BackupContext& ctx) override {
    FileSource src = source_(ctx.settings);
    FileBackupOptions opt;
    opt.roots = NameRoots(src.paths);
    opt.excludes = src.excludes;
    opt.workers = ctx.settings.EffectiveWorkers();
    opt.parent = ctx.parent_entry;
    FileBackupResult r = BackupFiles(ctx.repo, ctx.saver, name_, opt, ctx.progress);
    if (!r.success && r.report.contains("error")) {
      r.report["error"] = r.report["error"].get<std::string>() + " (check " + variable_ + ")";
    }
    // A source that could not be walked has no tree: its entry is null.
    ComponentBackup b{std::move(r.entry), ComponentReport::FromJson(r.report)};
    b.report.success = r.success;
    return b;
  }

  // The tree is streamed (TreeCursor, through the selection when there is one): memory does not
  // grow with the number of files.
  ComponentReport Restore(const json& entry, RestoreContext& ctx) override {
    auto cursor = TreeCursor::Open(ctx.repo, entry);
    if (!cursor.ok()) return ComponentReport::FromJson({{"success", false}, {"error", cursor.status().message()}});
    TreeCursor& c = **cursor;
    const std::vector<TreeRoot> roots = c.roots();
    const RestoreOptions& o = ctx.options;
    NodeSource next = [&c](FileNode& n) { return c.Next(n); };
    if (!o.includes.empty() || !o.excludes.empty()) {
      auto sel = std::make_shared<NodeSelector>(std::move(next), name_, o.includes, o.excludes);
      next = [sel](FileNode& n) { return sel->Next(n); };
    }
    FileRestoreOptions opt;
    // Restoring many small files waits on file-system metadata more than on the CPU.
    opt.workers = ctx.settings.workers > 0 ? ctx.settings.workers : 2 * ctx.settings.EffectiveWorkers();
    opt.sync = o.sync;
    if (!o.target.empty()) {
      opt.anchor = o.target;  // trusted; <component>/<root> beneath it are never followed
      for (const auto& root : roots) opt.destinations[root.name] = o.target + "/" + name_ + "/" + root.name;
    }
    json r = RestoreFiles(ctx.repo, roots, next, opt, ctx.progress).report;
    json dests = json::array();
    for (const auto& root : roots) {
      dests.push_back(opt.destinations.count(root.name) ? opt.destinations[root.name] : root.path);
    }
    r["restored_to"] = dests;
    return ComponentReport::FromJson(r);
  }

  void VisitBlobs(Repository& repo, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    std::string kind = entry.value("kind", "");
    if (kind != "files") {
      errors.push_back(prefix + name_ + ": unknown component kind '" + kind + "'");
      return;
    }
    VisitTreeBlobs(repo, entry, prefix, name_, "tree", visit, errors);
  }

 private:
  std::string name_, variable_;
  std::function<FileSource(const Settings&)> source_;
};

std::vector<std::string> OneOrNone(const std::string& path) {
  return path.empty() ? std::vector<std::string>{} : std::vector<std::string>{path};
}

}  // namespace

std::unique_ptr<Component> NewFilesComponent(std::string name, std::string variable,
                                             std::function<FileSource(const Settings&)> source) {
  return std::make_unique<FilesComponent>(std::move(name), std::move(variable), std::move(source));
}

std::unique_ptr<Component> NewPlayerSavesComponent() {
  return NewFilesComponent("player_saves", "PLAYER_SAVES_DIR", [](const Settings& s) {
    return FileSource{OneOrNone(s.player_saves_dir), {}};
  });
}

std::unique_ptr<Component> NewConfigurationComponent() {
  return NewFilesComponent("configuration", "CONFIG_DIRS", [](const Settings& s) {
    return FileSource{s.config_dirs, {}};
  });
}

std::unique_ptr<Component> NewApplicationComponent() {
  return NewFilesComponent("application", "APP_DIR", [](const Settings& s) {
    return FileSource{OneOrNone(s.app_dir), s.app_exclude};
  });
}

}  // namespace stb
