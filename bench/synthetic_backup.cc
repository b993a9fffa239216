// synthetic_backup: backs up a generated tree of N entries (bench/synthetic_source.h) into a real
// repository, a full backup then a no-change one, and prints each step's wall time and peak RSS.
//
//   synthetic_backup [--entries N] [--per-dir P] [--bodies B] [--seed S] [--steps full,nochange]
//
// The repository is the one spacetime-backup's settings name (BACKUP_ROOT, BACKUP_ENCRYPTION_KEY or
// BACKUP_PASSPHRASE, BACKUP_COMPRESSION, BACKUP_WORKERS, BACKUP_CONFIG) and must exist (`init`).
// Each step runs through the archiver, as `spacetime-backup backup` does: blobs, tree and snapshot
// are stored for real (as the player_saves component, so `spacetime-backup check --read-data`
// verifies them). Each step runs in a child process of its own, so its peak RSS is its alone.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "archiver/archiver.h"
#include "cli/common.h"
#include "components/component.h"
#include "core/last_resort.h"
#include "core/parse.h"
#include "filetree/file_backup.h"
#include "repository/blob_refs.h"
#include "synthetic_source.h"

namespace stb {
namespace {

using json = nlohmann::json;

// The synthetic tree as a files component: backup only (restore is spacetime-backup's own).
class SyntheticComponent : public Component {
 public:
  explicit SyntheticComponent(const SyntheticShape& shape) : shape_(shape) {}
  std::string_view name() const override { return "player_saves"; }
  std::string MissingSetting(const Settings&) const override { return ""; }

  ComponentBackup Backup(BackupContext& ctx) override {
    SyntheticSource source(shape_);
    FileBackupOptions opt;
    opt.roots = source.roots();
    opt.workers = ctx.settings.EffectiveWorkers();
    opt.parent = ctx.parent_entry;
    std::vector<std::string> problems;
    FileBackupResult r = BackupSource(ctx.repo, ctx.saver, std::string(name()), source, opt, problems, ctx.progress);
    report_ = r.report;
    entry_ = r.entry;
    ComponentBackup b{std::move(r.entry), ComponentReport::FromJson(r.report)};
    b.report.success = r.success;
    return b;
  }
  ComponentReport Restore(const json&, RestoreContext&) override {
    return ComponentReport::FromJson({{"success", false}, {"error", "restore with spacetime-backup"}});
  }
  void VisitBlobs(Repository& repo, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    VisitTreeBlobs(repo, entry, prefix, std::string(name()), "tree", visit, errors);
  }

  const json& report() const { return report_; }
  const json& entry() const { return entry_; }

 private:
  SyntheticShape shape_;
  json report_, entry_;
};

double Seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

// Sizes of what the repository holds after a step: the tree of this step and the data blobs.
std::string RepositoryFigures(Repository& repo, const json& entry) {
  uint64_t tree_blobs = 0, tree_raw = 0, tree_stored = 0, data_blobs = 0;
  if (!repo.LoadIndex().ok()) return " index=unreadable";
  for (const auto& h : entry.value("tree", json::array())) {
    auto id = Id::FromHex(h.get<std::string>());
    auto loc = id ? repo.index().find(*id) : std::nullopt;
    if (!loc) continue;
    ++tree_blobs;
    tree_raw += loc->raw_length;
    tree_stored += loc->length;
  }
  for (const auto& [id, loc] : repo.index()) data_blobs += loc.type == BlobType::kData;
  return " tree_blobs=" + std::to_string(tree_blobs) + " tree_raw_bytes=" + std::to_string(tree_raw) +
         " tree_stored_bytes=" + std::to_string(tree_stored) + " unique_data_blobs=" + std::to_string(data_blobs);
}

// One step, in the child: prints one line of key=value figures; the exit status says whether
// the backup was stored.
int RunStep(const SyntheticShape& shape, const std::string& step) {
  auto t0 = std::chrono::steady_clock::now();
  auto settings = LoadSettings("");
  if (!settings.ok()) return Fail(settings.status());
  auto repo = OpenRepository(*settings, "local");
  if (!repo.ok()) return Fail(repo.status());
  ComponentRegistry registry;
  auto owned = std::make_unique<SyntheticComponent>(shape);
  SyntheticComponent* comp = owned.get();
  registry.Add(std::move(owned), 0, 0);
  ArchiveOptions opt;
  opt.type = step == "full" ? "full" : "incremental";
  opt.progress = false;
  auto done = ArchiveBackup(**repo, *settings, registry, opt);
  if (!done.ok()) return Fail(done.status());
  done->lock.reset();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);  // before the figures below load the index again
  const BackupReport& r = done->report;
  if (!r.Stored() || !r.overall_success) {
    std::fprintf(
        stderr, "error: %s step: %s\n", step.c_str(),
        r.error ? r.error->c_str() : comp->report().dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return 1;
  }
  char line[512];
  std::snprintf(line, sizeof line, "step=%s entries=%llu wall_s=%.2f user_s=%.2f sys_s=%.2f peak_rss_kb=%ld",
                step.c_str(), static_cast<unsigned long long>(shape.entries), wall, Seconds(ru.ru_utime),
                Seconds(ru.ru_stime), ru.ru_maxrss);
  RepositoryStats stats = r.repository.value_or(RepositoryStats{});
  std::string out = line;
  out += " files=" + std::to_string(comp->report().value("files", uint64_t{0})) +
         " unchanged=" + std::to_string(comp->report().value("unchanged_files", uint64_t{0})) +
         " new_blobs=" + std::to_string(stats.new_blobs) + " stored_bytes=" + std::to_string(stats.stored_bytes) +
         " backup_id=" + r.backup_id;
  out += RepositoryFigures(**repo, comp->entry());
  std::printf("%s\n", out.c_str());
  std::fflush(stdout);
  return 0;
}

int Usage(const char* why) {
  std::fprintf(stderr,
               "synthetic_backup: %s\nusage: synthetic_backup [--entries N] [--per-dir P] [--bodies B] [--seed S] "
               "[--steps full,nochange]\n",
               why);
  return 2;
}

int Main(int argc, char** argv) {
  SyntheticShape shape;
  std::vector<std::string> steps{"full", "nochange"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") return Usage("backs up a generated tree (see bench/README.md)");
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    std::string v = argv[++i];
    uint64_t* field = a == "--entries"   ? &shape.entries
                      : a == "--per-dir" ? &shape.per_dir
                      : a == "--bodies"  ? &shape.bodies
                      : a == "--seed"    ? &shape.seed
                                         : nullptr;
    if (a == "--steps") {
      steps = SplitList(v, ',');
      for (const auto& s : steps) {
        if (s != "full" && s != "nochange") return Usage(("unknown step '" + s + "' (full, nochange)").c_str());
      }
      continue;
    }
    if (!field) return Usage(("unknown option " + a).c_str());
    auto n = ParseUint(v, a == "--seed" ? UINT64_MAX : 1'000'000'000'000ULL, a);
    if (!n.ok()) return Usage(n.status().message().c_str());
    if (*n == 0 && (a == "--per-dir" || a == "--bodies")) return Usage((a + " must be at least 1").c_str());
    *field = *n;
  }
  SyntheticSource probe(shape);
  std::printf(
      "# synthetic source: %llu files in %llu directories of %llu, content drawn from a pool of %llu distinct "
      "bodies of 1-8 KiB (at most that many data blobs: what grows with the entries is the walk and the tree, "
      "not the index)\n",
      static_cast<unsigned long long>(shape.entries), static_cast<unsigned long long>(probe.directories()),
      static_cast<unsigned long long>(shape.per_dir), static_cast<unsigned long long>(shape.bodies));
  std::fflush(stdout);
  for (const auto& step : steps) {
    pid_t pid = fork();
    if (pid < 0) return Usage(std::strerror(errno));
    if (pid == 0) {
      // As spacetime-backup's main: large buffers go back to the system when freed.
      mallopt(M_MMAP_THRESHOLD, 1 << 20);
      std::exit(RunStep(shape, step));
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "synthetic_backup: the %s step failed\n", step.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace stb

int main(int argc, char** argv) {
  stb::InstallLastResortHandler();
  try {
    return stb::Main(argc, argv);
  } catch (...) {
    stb::ExitOnUnexpected(std::current_exception());
  }
}
