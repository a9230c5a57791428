// An OpenID provider (npm oidc-provider, a certified implementation) for tests/accounts/test_oidc.py:
//   node provider.mjs PORT REDIRECT_URI CLIENT_SECRET
// serves http://127.0.0.1:PORT with one confidential client (`todo-api`, that redirect URI) and
// prints "ready" once it listens. Its sign-in is a GET the test sends with the person's claims:
//   /interaction/<uid>/login?sub=...&email=...&email_verified=true|false&name=...
// and consent is given at once (a first-party client), so a browser that follows the redirects
// ends at REDIRECT_URI with a code. Claims stay in the userinfo answer, not the ID token
// (the provider's default, as OpenID Connect Core 5.4 has it).
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";

const [port, redirectUri, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const people = new Map();

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const key = { ...privateKey.export({ format: "jwk" }), kid: "test-key", use: "sig", alg: "RS256" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "todo-api",
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
    },
  ],
  jwks: { keys: [key] },
  cookies: { keys: ["test-cookie-key"] },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const person = people.get(id);
    if (!person) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...person }) };
  },
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

const handle = provider.callback();
const login = /^\/interaction\/[^/]+\/login$/;

http
  .createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === "GET" && login.test(url.pathname)) {
      try {
        await provider.interactionDetails(req, res);
        const sub = url.searchParams.get("sub");
        people.set(sub, {
          email: url.searchParams.get("email"),
          email_verified: url.searchParams.get("email_verified") === "true",
          name: url.searchParams.get("name") || undefined,
        });
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: sub } },
          { mergeWithLastSubmission: false },
        );
      } catch (error) {
        res.statusCode = 400;
        res.end(String(error));
      }
      return;
    }
    if (url.pathname.startsWith("/interaction/")) {
      res.setHeader("content-type", "text/plain");
      res.end("sign in: GET this path + /login?sub=...&email=...&email_verified=...");
      return;
    }
    handle(req, res);
  })
  .listen(Number(port), "127.0.0.1", () => console.log("ready"));
