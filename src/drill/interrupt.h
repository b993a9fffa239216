// How a drill learns that it must stop: SIGINT, SIGTERM and SIGHUP (a scheduler's timeout, Ctrl-C,
// a closed terminal). The one place that knows about signals, so it can become a stop token.
#pragma once

namespace stb {

// From now on these signals only set the flag below: the drill stops its restore and still
// removes every scratch target. No SA_RESTART, so a blocked read returns and notices.
void CatchTerminatingSignals();
// The signal that asked the drill to stop, 0 if none.
int TerminatingSignal();

}  // namespace stb
