// A JWT made with jose (npm), for tests/integration/test_signing_endpoint.py:
//   node jwt.mjs ALG ISSUER SUB < key   (HS256: the secret; RS256/ES256: a PKCS#8 PEM)
import { SignJWT, importPKCS8 } from "jose";

const [alg, issuer, sub] = process.argv.slice(2);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString();
const key = alg === "HS256" ? new TextEncoder().encode(text) : await importPKCS8(text, alg);
const token = await new SignJWT({})
  .setProtectedHeader({ alg })
  .setIssuer(issuer)
  .setAudience("sealbox")
  .setSubject(sub)
  .setIssuedAt()
  .setExpirationTime("5m")
  .sign(key);
process.stdout.write(token + "\n");
