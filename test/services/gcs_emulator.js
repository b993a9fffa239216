// The Cloud Storage emulator of firebase-tools (GCS JSON API) on 127.0.0.1, started from node
// without its Java rules runtime. Usage: node gcs_emulator.js PORT [PROJECT]; "ready" on stdout.
"use strict";

const net = require("net");

// Nothing may leave the machine: refuse any outgoing TCP connection that is not to loopback
// (telemetry, update checks or a rules-runtime download would be bugs in this setup).
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect and http pass [options, callback] as one normalized array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  let unixPath = false;
  if (first !== null && typeof first === "object") {
    host = first.host ?? first.hostname;
    unixPath = typeof first.path === "string" && first.path !== ""; // http sets path: null
  } else if (typeof first === "string" && Number.isNaN(Number(first))) {
    unixPath = true;
  } else if (typeof args[1] === "string") {
    host = args[1];
  }
  const local = unixPath || host === undefined || ["127.0.0.1", "localhost", "::1"].includes(host);
  if (!local) throw new Error(`gcs_emulator: refusing an outgoing connection to ${host}`);
  return connect.apply(this, args);
};

const port = Number(process.argv[2]);
const projectId = process.argv[3] || "demo-stb";
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node gcs_emulator.js PORT [PROJECT]");
  process.exit(2);
}

const lib = require("firebase-tools/lib/emulator/storage");
const { createApp } = require("firebase-tools/lib/emulator/storage/server");
const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry");

// The stock start() first launches the Java rules runtime (and may download it); the JSON API
// the tests use goes through the admin storage layer, which needs no rules.
class LoopbackStorageEmulator extends lib.StorageEmulator {
  async start() {
    this._app = await createApp(projectId, this);
    this._server = this._app.listen(port, "127.0.0.1");
    await new Promise((resolve, reject) => {
      this._server.once("listening", resolve);
      this._server.once("error", reject);
    });
  }
  async stop() {
    await new Promise((resolve) => this._server.close(() => resolve()));
  }
}

async function main() {
  const emulator = new LoopbackStorageEmulator({ projectId, host: "127.0.0.1", port, auto_download: false });
  await EmulatorRegistry.start(emulator);
  console.log(`ready http://127.0.0.1:${port}`);
  const stop = async () => {
    await EmulatorRegistry.stopAll();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(`gcs_emulator: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
