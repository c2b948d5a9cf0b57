// check.mjs: the verify package's cross-check against an independent JWT
// implementation, jose (pinned in package.json). It reads one JSON request
// on stdin and writes one JSON answer on stdout:
//
//   {"verify":{"jws","jwk","audience","issuer","now"}}
//     -> {"ok":true,"header":{...},"payload":{...}} | {"ok":false,"code","message"}
//     jose's jwtVerify allowing only ES256, checking typ, aud, iss and exp
//     at "now" (Unix seconds), as docs/server-side.md tells integrators to.
//   {"sign":{"jwk","kid","claims","alg"}}
//     -> {"jws":"..."}: jose's SignJWT with {"alg","typ","kid"}.
import { SignJWT, importJWK, jwtVerify } from "jose";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);

if (req.verify) {
  const v = req.verify;
  try {
    const key = await importJWK(v.jwk, "ES256");
    const { payload, protectedHeader } = await jwtVerify(v.jws, key, {
      algorithms: ["ES256"],
      typ: "scanin-assertion+jwt",
      audience: v.audience,
      issuer: v.issuer,
      currentDate: new Date(v.now * 1000),
      // As docs/server-side.md: jose checks exp only when present, so the
      // claims are required; iat is checked by hand (maxTokenAge would
      // refuse an iat even 1 s ahead, where the protocol allows 60 s).
      requiredClaims: ["exp", "iat", "jti", "sub", "app", "sid", "pkh"],
    });
    if (payload.iat > v.now + 60) throw Object.assign(new Error("iat more than 60 s ahead"), { code: "not_yet_valid" });
    if (!(payload.exp - payload.iat <= 120)) throw Object.assign(new Error("exp - iat over 120 s"), { code: "too_long" });
    console.log(JSON.stringify({ ok: true, header: protectedHeader, payload }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code || "ERR", message: String(e.message) }));
  }
} else if (req.sign) {
  const s = req.sign;
  const key = await importJWK(s.jwk, s.alg || "ES256");
  const jws = await new SignJWT(s.claims)
    .setProtectedHeader({ alg: s.alg || "ES256", typ: "scanin-assertion+jwt", kid: s.kid })
    .sign(key);
  console.log(JSON.stringify({ jws }));
} else {
  console.error("check.mjs: want {verify} or {sign}");
  process.exit(2);
}
