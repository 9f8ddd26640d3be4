// Starts the server of this repository for the tests: `wsgi.py`'s app on 127.0.0.1 and a free
// port, the embedded store, cheap bcrypt and two-second access tokens, and stops it afterwards.
// With no SMTP host the server writes each message to its log (the console mail backend: one
// line a message at INFO, `mail to <to>: <subject> (code <code>)`, and the whole message at
// DEBUG), as a developer reads the codes in development: started with `LOG_LEVEL: "INFO"` and
// `LOG_FORMAT: "json"`, the messages are collected from its output (`mail`, `nextMail`).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const MAIL_TIMEOUT_MS = 10_000; // the mail thread writes a message shortly after the request that queued it

// Settings that would change what the tests see (mail sent by SMTP, say), set empty (unset, to
// the server) rather than removed, so that a developer's `.env` cannot supply them either.
const IGNORED_SETTINGS = [
  "MONGO_URI", "APP_ENV", "JWT_ALGORITHM", "JWT_PRIVATE_KEY", "JWT_ISSUER", "JWT_AUDIENCE",
  "SMTP_HOST", "MAIL_BACKEND", "REQUIRE_EMAIL_VERIFICATION",
  "GOOGLE_CLIENT_IDS", "APPLE_CLIENT_IDS", "GOOGLE_JWKS_URL", "APPLE_JWKS_URL",
];

// As `python wsgi.py` runs it, bound to the loopback address only.
const SERVE = "from wsgi import app; app.run(host='127.0.0.1', port=app.extensions['settings'].server.port, threaded=True)";

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
  for (const name of IGNORED_SETTINGS) env[name] = "";
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
  const mail = [];
  const collectMail = (line) => {
    const message = mailIn(line);
    if (message) mail.push(message);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", keep);
    stream.on("data", lineReader(collectMail));
  }
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
    /** Every message the server has written to its log, oldest first: `{to, subject, text}`. */
    mail,
    /** The first message to `to` (whose subject matches `subject`, if given) not returned before; waits for it. */
    async nextMail(to, subject = /./) {
      const deadline = Date.now() + MAIL_TIMEOUT_MS;
      for (;;) {
        const message = mail.find((m) => !m.read && m.to === to && subject.test(m.subject));
        if (message) {
          message.read = true;
          return message;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject} within ${MAIL_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
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

/** Call `onLine` with each whole line of a stream's text. */
function lineReader(onLine) {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop();
    for (const line of lines) onLine(line);
  };
}

/** A message from one JSON log line of the console mail backend, or null for any other line. */
function mailIn(line) {
  if (!line.startsWith("{")) return null;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  if (entry.logger !== "app.mail" || !entry.message.startsWith("mail to ")) return null;
  if (!entry.message.startsWith("mail to the log")) {
    // The development mailbox's one line a message: `mail to ada@example.com: Subject (code 705672)`.
    const line = entry.message.match(/^mail to ([^:\s]+): (.*?)(?: \((code|link) (\S+)\))?$/);
    if (!line) return null;
    const [, to, subject, kind, value] = line;
    return { to, subject, text: kind === "code" ? `Subject: ${subject}\n\n    ${value}\n` : `Subject: ${subject}\n\n${value ?? ""}\n`, read: false };
  }
  const text = entry.message.slice(entry.message.indexOf("\n") + 1);
  const header = (name) => text.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1].trim() ?? null;
  return { to: header("To"), subject: header("Subject"), text, read: false };
}

/** The six-digit code of a message: the line of the plain-text part that holds nothing else. */
export function codeIn(message) {
  const code = message.text.match(/^\s+(\d{6})\s*$/m)?.[1];
  if (!code) throw new Error(`no code in the message "${message.subject}"`);
  return code;
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
