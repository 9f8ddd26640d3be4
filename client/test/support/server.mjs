// Starts the server of this repository for the tests: `wsgi.py`'s app on 127.0.0.1 and a free
// port, the embedded store, cheap bcrypt and two-second access tokens, and stops it afterwards.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

// As `python wsgi.py` runs it, bound to the loopback address only.
const SERVE = "from wsgi import app; app.run(host='127.0.0.1', port=app.extensions['settings'].port, threaded=True)";

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Start a server; `settings` are added to (and win over) the test defaults. */
export async function startServer(settings = {}) {
  const port = await freePort();
  const secretKey = randomBytes(48).toString("base64url");
  const env = { ...process.env };
  for (const name of ["MONGO_URI", "APP_ENV", "JWT_ALGORITHM", "JWT_PRIVATE_KEY", "JWT_ISSUER", "JWT_AUDIENCE"]) delete env[name];
  Object.assign(env, {
    PORT: String(port),
    SECRET_KEY: secretKey,
    BCRYPT_ROUNDS: "4",
    ACCESS_TOKEN_TTL: "2",
    JWT_LEEWAY: "0",
    RATE_LIMIT_ENABLED: "false",
    LOG_LEVEL: "WARNING",
    PYTHONUNBUFFERED: "1",
    ...settings,
  });
  const child = spawn(process.env.PYTHON || "python3", ["-c", SERVE], { cwd: REPOSITORY, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilUp(baseUrl, exited, () => output);
  return {
    baseUrl,
    port,
    secretKey,
    get output() {
      return output;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntilUp(baseUrl, exited, output) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  exited.then(() => (gone = true));
  while (Date.now() < deadline && !gone) {
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not start:\n${output()}`);
}
