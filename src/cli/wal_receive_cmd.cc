// `wal-receive`: opens the repository and the cloud locations, then runs wal/wal_receiver until
// SIGTERM or SIGINT (exit 0 after the last part is stored and reported).
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/wal_locations.h"
#include "components/database/pg_walstream.h"
#include "core/log.h"
#include "core/stop.h"
#include "wal/wal_receiver.h"

namespace stb {

int RunWalReceive(const Settings& s, const WalReceiveArgs& a) {
  InitLog(s.log_dir, "wal-receive.log");
  if (s.db_host.empty())
    return Fail(InvalidArgument("wal-receive needs DB_HOST (the PostgreSQL server to stream from)"));
  StopOnSignals({SIGTERM, SIGINT});
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  std::vector<std::string> warnings;
  auto offsite = WalOffsiteLocations(s, warnings);
  for (const auto& w : warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
    LogWarn("wal-receive: " + w);
  }
  WalReceiverOptions o;
  o.slot = s.wal_slot;
  o.flush_ms = s.wal_receive_flush_ms;
  o.status_interval_ms = s.wal_status_interval * 1000;
  o.sync = a.sync || s.wal_receive_sync;
  o.offsite_interval_ms = s.wal_offsite_interval_ms;
  o.compression = s.compression;
  o.outbox_dir = s.state_dir + "/wal-outbox";
  o.behind_bytes = static_cast<uint64_t>(s.wal_behind_mb) << 20;
  o.on_loss = [&s](const WalLoss& loss) {  // check fails and schedule takes a full until a base backup
    Status st = RecordWalLoss(s.state_dir, loss);
    if (!st.ok()) LogError("wal-receive: recording the lost WAL: " + st.message());
  };
  DbEndpoint ep{s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  WalReceiver receiver(**repo, (*repo)->storage(), offsite, o, ProcessStopToken(),
                       [&s](const std::string& event, const std::string& severity, const std::string& message) {
                         AlertWal(s, event, severity, message);
                       });
  LogInfo("wal-receive: started (slot " + o.slot + (o.sync ? ", sync" : "") + ", " + std::to_string(offsite.size()) +
          " cloud locations)");
  Status st = receiver.Run([&] { return ConnectWalSource(ep, s.wal_receive_application_name); });
  if (!st.ok()) return Fail(st);
  const WalSink* sink = receiver.sink();
  std::string where = sink ? FormatLsn(sink->durable()) : "nothing";
  LogInfo("wal-receive: stopped; stored up to " + where);
  std::fprintf(stderr, "wal-receive: stopped; stored up to %s\n", where.c_str());
  return 0;
}

}  // namespace stb
