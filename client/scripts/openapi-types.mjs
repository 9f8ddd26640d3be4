// Regenerates src/openapi.ts from the server's OpenAPI document, or checks that it is current.
//
//   node scripts/openapi-types.mjs write   rewrite src/openapi.ts
//   node scripts/openapi-types.mjs check   exit 1 when src/openapi.ts differs from what the server documents
//
// The document is the one GET /api/openapi.json serves: the Flask app is built in-process by the
// repository's Python (PYTHON, default python3) and its `app.extensions["openapi"]` printed.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const repository = join(here, "..", "..");
const target = join(here, "..", "src", "openapi.ts");
const HEADER =
  "// Generated from the server's OpenAPI document by `npm run types` (scripts/openapi-types.mjs).\n" +
  "// Do not edit: change the routes' declarations in app/ and regenerate.\n\n";

const DUMP = `
import json, sys
from app import create_app
from config import Settings
app = create_app(Settings.from_env({"BCRYPT_ROUNDS": "4"}))
json.dump(app.extensions["openapi"], sys.stdout)
`;

function serverDocument() {
  const python = process.env.PYTHON || "python3";
  try {
    const output = execFileSync(python, ["-c", DUMP], {
      cwd: repository,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONPATH: repository },
    });
    return JSON.parse(output);
  } catch (error) {
    console.error(`Could not build the server's OpenAPI document with ${python} (set PYTHON to the project's virtualenv python).`);
    console.error(error.stderr || error.message);
    process.exit(1);
  }
}

async function generate() {
  // A request field with a default (e.g. login's optional refreshToken) stays optional for the caller.
  const ast = await openapiTS(serverDocument(), { alphabetize: true, defaultNonNullable: false });
  return HEADER + astToString(ast);
}

const mode = process.argv[2];
const fresh = await generate();
if (mode === "write") {
  writeFileSync(target, fresh);
  console.log(`wrote ${target}`);
} else if (mode === "check") {
  const committed = readFileSync(target, "utf8");
  if (committed !== fresh) {
    console.error(
      "client/src/openapi.ts does not match the server's OpenAPI document.\n" +
        "Regenerate it: cd client && npm run types  (with the project's virtualenv active)",
    );
    process.exit(1);
  }
  console.log("client/src/openapi.ts matches the server's OpenAPI document");
} else {
  console.error("usage: node scripts/openapi-types.mjs write|check");
  process.exit(2);
}
