// A Better Auth server for the tests: email and password sign-up, the `bearer` plugin, the
// memory adapter (no database to set up), on 127.0.0.1 at the port given as the argument.
// Prints "listening <port>" once it answers.
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { bearer } from "better-auth/plugins";

const port = Number(process.argv[2]);
const baseURL = `http://127.0.0.1:${port}`;
const db = { user: [], session: [], account: [], verification: [] };

const auth = betterAuth({
  baseURL,
  secret: "better-auth-test-secret-0123456789abcdef0123456789",
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  plugins: [bearer()],
  trustedOrigins: [baseURL],
  telemetry: { enabled: false },
});

const server = createServer(toNodeHandler(auth));
server.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
